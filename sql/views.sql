-- BI views: derived objects, not migrated. Every `screenfuse db upgrade` drops all of them before
-- the revisions run and recreates them from this file after (screenfuse.schema): edit a view here
-- and run `screenfuse db upgrade`, no revision needed. To remove a view, delete it here and drop it
-- in a new revision (DROP VIEW IF EXISTS). Statements are separated by ';' at line end.

CREATE VIEW v_person_by_status AS
SELECT responsible_list AS street, status, COUNT(*) AS persons
FROM person
GROUP BY responsible_list, status;

-- Data-quality review: persons with records taken after a terminal status (死亡), which are kept
-- but not acted on (a likely identity error: the wrong person linked, or a wrong death report).
CREATE VIEW v_after_terminal_review AS
SELECT responsible_list AS street, person_id, status, status_source, after_terminal, as_of
FROM person
WHERE after_terminal IS NOT NULL AND after_terminal <> '';

CREATE VIEW v_push_list AS
SELECT pi.street, pi.community, pi.push_item_id, pi.batch_id, pi.person_id, p.name, p.id_number,
       p.phone, p.address, pi.status, pi.measure, pi.reason, pi.detail, pi.source_records, pi.due_at, pi.state,
       pi.pushed_batch_id, pi.escalated_at, pi.escalated_batch_id, pi.closed_at, pi.closed_batch_id,
       pi.close_reason, pi.answer_result, pi.answered_by, pi.answered_at, pi.answer_hours, pi.answered_late
FROM push_item pi
LEFT JOIN person p ON p.person_id = pi.person_id;

CREATE VIEW v_feed_reconciliation AS
SELECT batch_id, feed,
       COUNT(*) AS files,
       SUM(rows_read) AS rows_read,
       SUM(rows_accepted) AS rows_accepted,
       SUM(rows_quarantined) AS rows_quarantined,
       CASE WHEN SUM(rows_read) = SUM(rows_accepted) + SUM(rows_quarantined) THEN 1 ELSE 0 END AS balanced
FROM ingest_file
GROUP BY batch_id, feed;

-- People by status and street over time: at the end of each published run, the persons whose
-- status period (person_status) covered that moment, by the street now responsible for them.
CREATE VIEW v_person_status_over_time AS
SELECT r.batch_id, r.data_interval_end AS as_of, COALESCE(p.responsible_list, '') AS street, ps.status,
       COUNT(*) AS persons
FROM run_log r
JOIN person_status ps ON ps.valid_from <= r.data_interval_end
                     AND (ps.valid_to IS NULL OR ps.valid_to > r.data_interval_end)
LEFT JOIN person p ON p.person_id = ps.person_id
GROUP BY r.batch_id, r.data_interval_end, COALESCE(p.responsible_list, ''), ps.status;

-- Push backlog and answer times per street: items still open, escalated (超时), answered (done or
-- closed by an answer), answered late, closed without an answer, and hours from push to answer.
CREATE VIEW v_push_backlog AS
SELECT street,
       COUNT(*) AS items,
       SUM(CASE WHEN state IN ('open', 'pushed', 'acknowledged', 'escalated') THEN 1 ELSE 0 END) AS open_items,
       SUM(CASE WHEN state = 'escalated' THEN 1 ELSE 0 END) AS escalated_open,
       SUM(CASE WHEN escalated_at IS NOT NULL THEN 1 ELSE 0 END) AS ever_escalated,
       SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered,
       SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END) AS done,
       SUM(CASE WHEN answered_late = 1 THEN 1 ELSE 0 END) AS answered_late,
       SUM(CASE WHEN state = 'closed' AND answered_at IS NULL THEN 1 ELSE 0 END) AS closed_unanswered,
       AVG(answer_hours) AS avg_answer_hours,
       MAX(answer_hours) AS max_answer_hours
FROM push_item
GROUP BY street;

-- Answers per street and result (核查结果), from the feedback feed.
CREATE VIEW v_feedback_results AS
SELECT pi.street, f.result, COUNT(*) AS answers,
       SUM(CASE WHEN pi.answered_late = 1 THEN 1 ELSE 0 END) AS late
FROM push_feedback f
JOIN push_item pi ON pi.push_item_id = f.push_item_id
GROUP BY pi.street, f.result;

-- Silent reporting units (零报告): per day, each expected unit that sent nothing, not even a
-- header-only file, by the day's deadline.
CREATE VIEW v_silent_units AS
SELECT report_day, feed, unit_type, unit_id, unit_name, street, batch_id AS found_in_batch
FROM silent_unit;

-- Zero reporting per day and feed: units expected, reported, silent.
CREATE VIEW v_zero_report_days AS
SELECT report_day, feed, expected, reported, silent, batch_id AS checked_in_batch
FROM zero_report_check;

-- Community risk levels as of the latest run, and over time (every run rates every community).
CREATE VIEW v_community_risk AS
SELECT street, community, risk_level, risk_label, risk_rank, persons, counts_json, actions, policy_version, batch_id
FROM community_risk
WHERE batch_id = (SELECT MAX(batch_id) FROM community_risk);

CREATE VIEW v_community_risk_over_time AS
SELECT batch_id, street, risk_level, risk_label, risk_rank, COUNT(*) AS communities
FROM community_risk
GROUP BY batch_id, street, risk_level, risk_label, risk_rank;

-- People the police are asked to trace (公安协查清单): a street office answered 查无此人.
CREATE VIEW v_police_tracing AS
SELECT t.trace_id, t.batch_id, t.push_item_id, t.street, t.person_id, p.name, p.id_number, p.phone, p.address,
       t.answered_at, t.reason
FROM police_tracing t
LEFT JOIN person p ON p.person_id = t.person_id;
-- Mass screening: samples the labs have not answered yet (no result for the tube, none for its
-- pool, none written on the sampling row), oldest first is for BI to sort; hours are counted by
-- BI from sampled_at (local time) since the warehouse keeps times as text.
CREATE VIEW v_screening_awaiting AS
SELECT s.source_record_id, l.person_id, s.sampling_point, s.sample_id, s.pool_id, s.sampled_at, s.batch_id
FROM screening_sample s
LEFT JOIN person_link l ON l.source_record_id = s.source_record_id
WHERE COALESCE(s.inline_result, '') = ''
  AND NOT EXISTS (SELECT 1 FROM screening_result r WHERE s.sample_id <> '' AND r.sample_id = s.sample_id)
  AND NOT EXISTS (SELECT 1 FROM screening_result r
                  WHERE s.pool_id <> '' AND r.pool_id = s.pool_id AND COALESCE(r.sample_id, '') = '');

-- Lab results no registered sample names (yet): kept, and joined by the run that brings the sample.
CREATE VIEW v_screening_orphan_results AS
SELECT r.result_id, r.batch_id, r.lab, r.sample_id, r.pool_id, r.result, r.result_time, r.file_name, r.row_number
FROM screening_result r
WHERE NOT EXISTS (SELECT 1 FROM screening_sample s WHERE r.sample_id <> '' AND s.sample_id = r.sample_id)
  AND NOT EXISTS (SELECT 1 FROM screening_sample s
                  WHERE COALESCE(r.sample_id, '') = '' AND r.pool_id <> '' AND s.pool_id = r.pool_id);

-- Each sample's joined outcome as of the last run that looked at its person (overdue: waited
-- longer than the policy's mass_screening.result_due_hours).
CREATE VIEW v_screening_outcome AS
SELECT o.person_id, o.source_record_id, s.sampling_point, s.sampled_at, o.sample_id, o.pool_id,
       o.screening_scope, o.screening_result, o.screening_result_time, o.pool_result, o.awaiting_result,
       o.hours_waited, o.result_overdue, o.result_conflict, o.as_of
FROM screening_outcome o
LEFT JOIN screening_sample s ON s.source_record_id = o.source_record_id;

-- Each person's timeline (人员轨迹): every source record of every feed linked to them (screened at
-- a checkpoint, visited by a grid worker, traced by the police, seen or tested at a hospital), each
-- status change and each push item's life (pushed, escalated, answered, closed), in time order.
-- `clock`: source records carry the unit's local time as sent; the pipeline's own events are UTC.
-- Status rows and push items are kept under the person id they were decided for.
CREATE VIEW v_person_timeline AS
SELECT l.person_id, r.event_time AS at, 'local' AS clock, r.feed AS source,
       CASE WHEN r.feed = 'checkpoint' THEN 'screened'
            WHEN r.feed = 'community' THEN 'visited'
            WHEN r.feed = 'police' THEN 'traced'
            WHEN r.feed = 'hospital' AND r.category IN ('确诊', '疑似') THEN 'admitted'
            WHEN r.feed = 'hospital' AND r.category = '出院' THEN 'discharged'
            WHEN r.feed = 'hospital' AND r.category = '死亡' THEN 'deceased'
            WHEN r.feed = 'hospital' THEN 'hospital_visit'
            ELSE 'record' END AS event,
       COALESCE(r.category, '') AS detail, r.unit, r.source_record_id AS reference
FROM source_record r
JOIN person_link l ON l.source_record_id = r.source_record_id
UNION ALL
SELECT l.person_id, r.event_time, 'local', r.feed, 'tested', r.nucleic_acid, r.unit, r.source_record_id
FROM source_record r
JOIN person_link l ON l.source_record_id = r.source_record_id
WHERE r.nucleic_acid IN ('阳性', '阴性')
UNION ALL
SELECT ps.person_id, ps.valid_from, 'UTC', 'status', 'isolated_from', ps.measure, NULL, ps.cause
FROM person_status ps WHERE ps.measure IN ('centralized_isolation', 'home_isolation', 'isolate_suspected', 'release_test')
UNION ALL
SELECT ps.person_id, ps.valid_to, 'UTC', 'status', 'isolated_to', ps.measure, NULL, ps.cause
FROM person_status ps WHERE ps.measure IN ('centralized_isolation', 'home_isolation', 'isolate_suspected', 'release_test') AND ps.valid_to IS NOT NULL
UNION ALL
SELECT ps.person_id, ps.valid_from, 'UTC', 'status', 'status_' || ps.change,
       ps.status || ' / ' || COALESCE(ps.measure, ''), NULL, ps.cause
FROM person_status ps
UNION ALL
SELECT pi.person_id, pi.created_at, 'UTC', 'push_item', 'pushed', pi.measure, pi.street, pi.push_item_id
FROM push_item pi
UNION ALL
SELECT pi.person_id, pi.escalated_at, 'UTC', 'push_item', 'escalated', pi.measure, pi.street, pi.push_item_id
FROM push_item pi WHERE pi.escalated_at IS NOT NULL
UNION ALL
SELECT pi.person_id, pi.answered_at, 'UTC', 'feedback', 'answered', pi.answer_result, pi.street, pi.push_item_id
FROM push_item pi WHERE pi.answered_at IS NOT NULL
UNION ALL
SELECT pi.person_id, pi.closed_at, 'UTC', 'push_item', 'closed', pi.close_reason, pi.street, pi.push_item_id
FROM push_item pi WHERE pi.closed_at IS NOT NULL;

-- Data-quality review: accepted rows whose ID number was set aside (through Excel, or no
-- document's form) because the row still said who the person was (a name and a phone or an
-- address); the number as sent is in the row's raw_json.
CREATE VIEW v_id_set_aside AS
SELECT batch_id, feed, file_name, row_number, source_record_id, unit, id_set_aside AS reason
FROM source_record
WHERE id_set_aside IS NOT NULL AND id_set_aside <> '';
