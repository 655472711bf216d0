-- Revision 0001 (baseline): the warehouse tables as they were when the schema moved to migrations.
-- FROZEN: never edit this file; change the schema with a new revision (docs/warehouse.md,
-- "Changing the schema"). Portable between SQLite and PostgreSQL: times are ISO-8601 text (UTC),
-- flags are integers. Statements are separated by ';' at line end.

CREATE TABLE run_log (
    batch_id            TEXT PRIMARY KEY,          -- the hourly interval, e.g. 20200210T1300Z
    airflow_run_id      TEXT,
    data_interval_start TEXT,
    data_interval_end   TEXT,
    status              TEXT NOT NULL,             -- published
    files_seen          INTEGER NOT NULL,
    files_loaded        INTEGER NOT NULL,
    files_duplicate     INTEGER NOT NULL,
    files_quarantined   INTEGER NOT NULL,
    rows_read           INTEGER NOT NULL,
    rows_accepted       INTEGER NOT NULL,
    rows_quarantined    INTEGER NOT NULL,
    persons             INTEGER NOT NULL,
    push_items          INTEGER NOT NULL,          -- created by the run (new, status changed, rerouted)
    push_items_closed   INTEGER,
    push_items_escalated INTEGER,
    push_items_answered INTEGER,                   -- items the run's feedback answers applied to
    status_changes      INTEGER,                   -- person_status rows the run opened
    policy_version      TEXT,                      -- the policy the run decided under
    policy_sha256       TEXT                       -- of the policy file (tells two edits apart)
);

CREATE TABLE ingest_file (
    batch_id         TEXT NOT NULL,
    feed             TEXT NOT NULL,
    file_name        TEXT NOT NULL,
    file_sha256      TEXT NOT NULL,
    status           TEXT NOT NULL,                -- loaded | quarantined | duplicate
    reason           TEXT,
    file_format      TEXT,
    encoding         TEXT,
    rows_read        INTEGER NOT NULL,
    rows_accepted    INTEGER NOT NULL,
    rows_quarantined INTEGER NOT NULL,
    blank_rows       INTEGER NOT NULL,
    unmapped_headers TEXT,
    PRIMARY KEY (batch_id, feed, file_name)
);
CREATE INDEX ix_ingest_file_sha ON ingest_file (file_sha256);

CREATE TABLE source_record (
    source_record_id TEXT PRIMARY KEY,             -- <feed>-<sha256[:12]>-<row number>
    batch_id         TEXT NOT NULL,
    feed             TEXT NOT NULL,
    file_name        TEXT NOT NULL,
    file_sha256      TEXT NOT NULL,
    row_number       INTEGER NOT NULL,             -- data row in the file, 1-based
    unit             TEXT,
    event_time       TEXT,
    name             TEXT,
    name_pinyin      TEXT,
    id_number        TEXT,
    id_status        TEXT,
    birth_date       TEXT,
    sex              TEXT,
    region_code      TEXT,
    phone            TEXT,
    phone2           TEXT,
    phone_status     TEXT,
    address          TEXT,
    street           TEXT,
    community        TEXT,
    temperature      DOUBLE PRECISION,
    category         TEXT,
    nucleic_acid     TEXT,
    action           TEXT,
    came_from        TEXT,
    arrival_date     TEXT,
    contact_of_name  TEXT,
    contact_of_id    TEXT,
    details_json     TEXT,
    raw_json         TEXT
);
CREATE INDEX ix_source_record_batch ON source_record (batch_id);

CREATE TABLE person_link (
    source_record_id   TEXT PRIMARY KEY,
    person_id          TEXT NOT NULL,
    match_weight       DOUBLE PRECISION,           -- bits of the strongest link that joined the record
    match_probability  DOUBLE PRECISION,
    match_rule         TEXT NOT NULL,              -- linked | alone | kept (joined in an earlier run)
    explanation        TEXT,                       -- JSON: each comparison's level and bits
    changed_batch_id   TEXT NOT NULL,              -- the batch that gave the record this person
    previous_person_id TEXT                        -- its person before that batch (NULL: new record)
);
CREATE INDEX ix_person_link_person ON person_link (person_id);

CREATE TABLE person (
    person_id         TEXT PRIMARY KEY,
    name              TEXT,
    name_source       TEXT,
    id_number         TEXT,
    id_number_source  TEXT,
    birth_date        TEXT,
    sex               TEXT,
    birth_date_source TEXT,
    phone             TEXT,
    phone_source      TEXT,
    address           TEXT,
    address_source    TEXT,
    street            TEXT,
    community         TEXT,
    responsible_list  TEXT NOT NULL,               -- street office, or the district list
    status            TEXT NOT NULL,
    status_source     TEXT,
    status_reason     TEXT,
    measure           TEXT,
    status_expires_at TEXT,                        -- when the status ends on its own (policy `expires`)
    n_records         INTEGER NOT NULL,
    feeds             TEXT,
    first_seen        TEXT,
    last_seen         TEXT,
    policy_version    TEXT,                        -- the policy the status and measure were decided under
    policy_sha256     TEXT,
    as_of             TEXT,
    batch_id          TEXT NOT NULL
);
CREATE INDEX ix_person_status ON person (status);

CREATE TABLE quarantine (
    quarantine_id TEXT PRIMARY KEY,
    batch_id      TEXT NOT NULL,
    feed          TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    file_sha256   TEXT NOT NULL,
    row_number    INTEGER,                         -- NULL when the whole file is quarantined
    level         TEXT NOT NULL,                   -- row | file
    reason        TEXT NOT NULL,
    raw_json      TEXT
);
CREATE INDEX ix_quarantine_batch ON quarantine (batch_id);

CREATE TABLE push_item (
    push_item_id       TEXT PRIMARY KEY,
    batch_id           TEXT NOT NULL,              -- the run that created it (= created_batch_id)
    created_batch_id   TEXT,
    street             TEXT NOT NULL,              -- street office, or the district list
    community          TEXT,
    person_id          TEXT NOT NULL,
    status             TEXT NOT NULL,              -- the person's status when it was created
    measure            TEXT NOT NULL,
    reason             TEXT NOT NULL,              -- why it was created: new_measure | status_changed | rerouted
    detail             TEXT,                       -- for people: status label and number of source records
    source_records     TEXT NOT NULL,
    due_at             TEXT NOT NULL,              -- created_at + the measure's hours_to_act
    state              TEXT NOT NULL,              -- open | pushed | acknowledged | done | escalated | closed
    created_at         TEXT NOT NULL,
    replaces_item_id   TEXT,                       -- the item it takes over from (rerouted, status_changed)
    pushed_batch_id    TEXT,                       -- the run whose outbox carried it
    escalated_at       TEXT,                       -- past due_at unanswered: escalated once
    escalated_batch_id TEXT,
    closed_at          TEXT,
    closed_batch_id    TEXT,
    close_reason       TEXT,                       -- expired | no_longer_needed | measure_changed | status_changed | rerouted | person_merged | not_found | left_area | not_same_person
    acknowledged_at    TEXT,                       -- street feedback
    done_at            TEXT,
    answered_by        TEXT,                       -- 核查人 of the answer
    answered_at        TEXT,                       -- 反馈时间 of the answer
    answer_result      TEXT,                       -- 核查结果: 已核实 | 已隔离 | 已转运 | 查无此人 | 已离开本辖区 | 非本人
    answered_batch_id  TEXT,                       -- the run that applied the answer
    answer_hours       DOUBLE PRECISION,           -- from created_at to answered_at
    answered_late      INTEGER,                    -- 1: answered after due_at
    policy_version     TEXT                        -- the policy that decided the measure and due_at
);
CREATE INDEX ix_push_item_person ON push_item (person_id, measure);
CREATE INDEX ix_push_item_state ON push_item (state);

CREATE TABLE match_review (
    review_id         TEXT PRIMARY KEY,
    batch_id          TEXT NOT NULL,
    left_record_id    TEXT NOT NULL,
    right_record_id   TEXT NOT NULL,
    left_person_id    TEXT NOT NULL,
    right_person_id   TEXT NOT NULL,
    match_weight      DOUBLE PRECISION NOT NULL,
    match_probability DOUBLE PRECISION NOT NULL,
    explanation       TEXT NOT NULL,               -- JSON: each comparison's level and bits
    state             TEXT NOT NULL                -- open
);
CREATE INDEX ix_match_review_batch ON match_review (batch_id);

CREATE TABLE person_event (
    batch_id         TEXT NOT NULL,
    event            TEXT NOT NULL,                -- merge | split
    person_id        TEXT NOT NULL,
    other_person_ids TEXT NOT NULL,                -- ';'-separated
    evidence         TEXT,                         -- JSON: the links that joined them
    PRIMARY KEY (batch_id, event, person_id)
);

CREATE TABLE match_model (
    model_id    TEXT PRIMARY KEY,                  -- the batch that trained it
    preset      TEXT NOT NULL,
    params_json TEXT NOT NULL                      -- prior, and m, u, levels per comparison
);

CREATE TABLE match_cannot_link (
    left_record_id  TEXT NOT NULL,
    right_record_id TEXT NOT NULL,
    source          TEXT NOT NULL,                 -- who decided: review, feedback
    batch_id        TEXT,                          -- the run that stored the pair (feedback)
    push_item_id    TEXT,                          -- the item answered 非本人 (feedback)
    PRIMARY KEY (left_record_id, right_record_id)
);

CREATE TABLE push_feedback (
    answer_id     TEXT PRIMARY KEY,                -- feedback-<sha256[:12]>-<row number>
    batch_id      TEXT NOT NULL,                   -- the run that applied it
    feed          TEXT NOT NULL,
    file_name     TEXT NOT NULL,
    file_sha256   TEXT NOT NULL,
    row_number    INTEGER NOT NULL,
    unit          TEXT,                            -- the answering street office, when given
    push_item_id  TEXT NOT NULL,
    result        TEXT NOT NULL,                   -- 核查结果
    answered_at   TEXT,                            -- 反馈时间
    verifier      TEXT,                            -- 核查人
    note          TEXT,                            -- 备注
    raw_json      TEXT
);
CREATE INDEX ix_push_feedback_item ON push_feedback (push_item_id);

CREATE TABLE police_tracing (
    trace_id      TEXT PRIMARY KEY,                -- T + the push item id
    batch_id      TEXT NOT NULL,                   -- the run that put the person on the list
    push_item_id  TEXT NOT NULL,
    person_id     TEXT NOT NULL,
    street        TEXT,                            -- the street office that answered 查无此人
    answered_at   TEXT,
    reason        TEXT NOT NULL                    -- 查无此人
);

CREATE TABLE person_status (
    person_id       TEXT NOT NULL,
    batch_id        TEXT NOT NULL,                 -- the run that decided the change
    status          TEXT NOT NULL,
    measure         TEXT,                          -- '' when the status needs none
    valid_from      TEXT NOT NULL,                 -- the batch's time, or when the status ended on its own
    valid_to        TEXT,                          -- NULL while current
    change          TEXT NOT NULL,                 -- set | raised | lowered | measure | expired
    policy_version  TEXT NOT NULL,
    closed_batch_id TEXT,                          -- the run that closed the row (NULL while current)
    cause           TEXT,                          -- ';'-separated source_record_ids that caused the change
    PRIMARY KEY (person_id, batch_id)
);
CREATE INDEX ix_person_status_current ON person_status (valid_to, person_id);

CREATE TABLE unit_delivery (
    batch_id    TEXT NOT NULL,                     -- the run that read the file
    feed        TEXT NOT NULL,
    unit_id     TEXT NOT NULL,                     -- an expected reporting unit (zero reporting)
    report_day  TEXT NOT NULL,                     -- the day reported (date in the file name, else the run's local day)
    file_name   TEXT NOT NULL,
    row_count   INTEGER NOT NULL,                  -- 0: a zero report (header only)
    PRIMARY KEY (batch_id, feed, unit_id, report_day, file_name)
);

CREATE TABLE zero_report_check (
    report_day  TEXT NOT NULL,                     -- a local day whose reporting deadline had passed
    feed        TEXT NOT NULL,
    batch_id    TEXT NOT NULL,                     -- the run that checked it (the first after the deadline)
    expected    INTEGER NOT NULL,
    reported    INTEGER NOT NULL,
    silent      INTEGER NOT NULL,
    PRIMARY KEY (report_day, feed)
);

CREATE TABLE silent_unit (
    report_day  TEXT NOT NULL,
    feed        TEXT NOT NULL,
    unit_id     TEXT NOT NULL,
    unit_type   TEXT NOT NULL,                     -- checkpoint | hospital | community
    unit_name   TEXT NOT NULL,
    street      TEXT,
    batch_id    TEXT NOT NULL,                     -- the run that found it silent
    PRIMARY KEY (report_day, feed, unit_id)
);

CREATE TABLE community_risk (
    batch_id       TEXT NOT NULL,                  -- the run that rated it (every run rates every community)
    street         TEXT NOT NULL,
    community      TEXT NOT NULL,
    risk_level     TEXT NOT NULL,                  -- policy community_risk level, e.g. epidemic_area
    risk_label     TEXT NOT NULL,                  -- e.g. 疫区
    risk_rank      INTEGER NOT NULL,               -- 1 = highest level of the policy
    persons        INTEGER NOT NULL,               -- persons living there with a status other than none
    counts_json    TEXT,                           -- persons per status (JSON, statuses with at least one)
    actions        TEXT,                           -- ';'-separated community actions of the level
    policy_version TEXT,
    PRIMARY KEY (batch_id, community)
);
