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
-- header-only file, by the day's deadline, and has sent nothing since (a unit whose report came
-- after the check is late: v_late_reports).
CREATE VIEW v_silent_units AS
SELECT s.report_day, s.feed, s.unit_type, s.unit_id, s.unit_name, s.street, s.batch_id AS found_in_batch
FROM silent_unit s
WHERE NOT EXISTS (SELECT 1 FROM late_report l
                  WHERE l.report_day = s.report_day AND l.feed = s.feed AND l.unit_id = s.unit_id);

-- Late reports (迟报) per day and feed: units whose reports all came after the day's deadline,
-- before the check (after_check 0: counted reported and late) or after it (1: found silent, then late).
CREATE VIEW v_late_reports AS
SELECT report_day, feed, unit_type, unit_id, unit_name, street, file_name, arrived_at, after_check,
       batch_id AS recorded_in_batch
FROM late_report;

-- Zero reporting per day and feed: units expected, reported (on time or late), late, silent.
CREATE VIEW v_zero_report_days AS
SELECT report_day, feed, expected, reported, late, silent, batch_id AS checked_in_batch,
       changed_batch_id AS last_changed_in_batch
FROM zero_report_check;

-- A unit's day delivered in more than one file (a corrected re-send, a second file of the day):
-- every file's rows were added to the earlier ones, none replaced them (docs/reliability.md).
CREATE VIEW v_resent_deliveries AS
SELECT feed, unit_id, report_day, COUNT(*) AS files, MIN(file_name) AS first_file, MAX(file_name) AS last_file,
       MIN(batch_id) AS first_batch, MAX(batch_id) AS last_batch, SUM(row_count) AS rows_added
FROM unit_delivery
GROUP BY feed, unit_id, report_day
HAVING COUNT(*) > 1;

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
                  WHERE s.pool_id <> '' AND r.pool_id = s.pool_id AND COALESCE(r.sample_id, '') = '')
  -- the pool's result written on another member's sampling row reaches this member too
  AND NOT EXISTS (SELECT 1 FROM screening_sample o
                  WHERE s.pool_id <> '' AND o.pool_id = s.pool_id AND COALESCE(o.inline_result, '') <> '');

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
-- a checkpoint, visited by a grid worker, traced by the police, seen or tested at a hospital,
-- registered on arrival at a hub, named on a city list with its category), each
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
            WHEN r.feed = 'arrivals' THEN 'arrived'
            WHEN r.feed = 'city_list' THEN 'listed'
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

-- Data-quality review: accepted rows with an optional date given that could not be read (2月30日, a
-- date without its year): the fields' names; the value as sent is in the row's raw_json. The rules
-- go on without it: a status whose days count from that date counts from the record's own time
-- (docs/policy.md, `counts_from`), an arrival's list is read on the record's day.
CREATE VIEW v_unreadable_values AS
SELECT batch_id, feed, file_name, row_number, source_record_id, unit, unreadable AS fields
FROM source_record
WHERE unreadable IS NOT NULL AND unreadable <> '';

-- ---------------------------------------------------------------------------------------------
-- The command centre's daily figures (docs/warehouse.md, "Daily figures"). Hours and local days
-- are counted with julianday()/datetime() (SQLite's own; on PostgreSQL revision 0008 makes them).
-- The local clock: the policy's `timezone` (Asia/Shanghai, UTC+8 all year: no daylight saving
-- since 1991). A view cannot read the policy, so the offset is written here once; `screenfuse
-- summary` says so when the configured policy's clock differs.
CREATE VIEW v_local_clock AS
SELECT 'Asia/Shanghai' AS timezone, 8 AS utc_offset_hours;

-- The days the centre reports on: each local day with a published run, its figures taken as of
-- the day's last run (`as_of`, UTC; `as_of_local`); `previous_as_of`: the last run of the days
-- before (what was new that day came after it).
CREATE VIEW v_report_day AS
SELECT d.day, d.as_of, datetime(d.as_of, '+' || c.utc_offset_hours || ' hours') AS as_of_local,
       (SELECT MAX(r.data_interval_end) FROM run_log r WHERE r.data_interval_end < d.first_run) AS previous_as_of
FROM (SELECT substr(datetime(r.data_interval_end, '+' || c.utc_offset_hours || ' hours'), 1, 10) AS day,
             MAX(r.data_interval_end) AS as_of, MIN(r.data_interval_end) AS first_run
      FROM run_log r CROSS JOIN v_local_clock c
      GROUP BY substr(datetime(r.data_interval_end, '+' || c.utc_offset_hours || ' hours'), 1, 10)) d
CROSS JOIN v_local_clock c;

-- Where each person was held at the end of each report day (现在在哪 on the latest day), from the
-- status period covering that moment and the evidence known by then (hospital first, then the
-- isolation points' daily monitoring, then the street offices' answers):
--   hospital feed: a 确诊/疑似/无症状 record of a designated hospital (方舱 when the unit's name says
--   so; a 发热门诊 only when its 处置 says 收治/入院) not followed by 出院/排除/死亡 → designated_hospital
--   or fangcang; a fever person's 发热 record → fever_clinic; a discharged person in the
--   centralized step whose 出院 record's 处置 hands them to 集中隔离 → isolation_point (出院病人交接);
--   answers: an item for the person's measure, created in this status period and answered 已转运
--   (transfer) / 已隔离 (isolation) / 已核实 or either (other measures) → the place of the measure
--   (transfer_designated_hospital: designated_hospital, transfer_mobile_cabin_hospital: fangcang,
--   transfer_fever_clinic: fever_clinic, centralized_isolation, isolate_suspected and release_test:
--   isolation_point, home_isolation and single_tube_retest: home, others: community).
--   isolation_monitoring feed: the person's latest daily check by then, of that day or the day before,
--   unless its 去向 says 解除隔离 or 转出 (the default policy's isolation.ends_stay) → isolation_point
--   (evidence 'monitoring'); not for a measure that sends the person to a hospital or a fever clinic.
-- A measure that holds the person (transfer or isolation) without such evidence → unknown (未落实):
-- what the centre chases. Measure names are the default policy's.
CREATE VIEW v_whereabouts_by_day AS
SELECT e.day, e.as_of, e.person_id, e.status, e.measure, e.valid_from, e.cause,
       CASE WHEN e.status = 'deceased' THEN 'deceased'
            WHEN e.hospital_place IS NOT NULL THEN e.hospital_place
            WHEN e.isolation_place IS NOT NULL THEN e.isolation_place
            WHEN e.answer_place IS NOT NULL THEN e.answer_place
            WHEN e.measure IN ('transfer_designated_hospital', 'transfer_mobile_cabin_hospital', 'transfer_fever_clinic',
                               'isolate_suspected', 'centralized_isolation', 'home_isolation', 'single_tube_retest',
                               'release_test') THEN 'unknown'
            ELSE 'community' END AS place,
       CASE WHEN e.status = 'deceased' THEN ''
            WHEN e.hospital_place IS NOT NULL THEN 'hospital'
            WHEN e.isolation_place IS NOT NULL THEN 'monitoring'
            WHEN e.answer_place IS NOT NULL THEN 'answer'
            ELSE '' END AS evidence
FROM (
  SELECT d.day, d.as_of, ps.person_id, ps.status, COALESCE(ps.measure, '') AS measure, ps.valid_from, ps.cause,
         (SELECT CASE WHEN r.category = '发热' THEN 'fever_clinic'
                      WHEN r.category = '出院' THEN 'isolation_point'
                      WHEN replace(r.unit, '方舱', '') <> r.unit THEN 'fangcang'
                      ELSE 'designated_hospital' END
          FROM person_link l JOIN source_record r ON r.source_record_id = l.source_record_id
          WHERE l.person_id = ps.person_id AND r.feed = 'hospital' AND r.event_time <= d.as_of_local
            AND ((ps.status IN ('confirmed', 'suspected', 'asymptomatic') AND r.category IN ('确诊', '疑似', '无症状')
                  AND (replace(r.unit, '发热门诊', '') = r.unit OR replace(r.action, '收治', '') <> r.action OR replace(r.action, '入院', '') <> r.action))
                 OR (ps.status = 'fever' AND r.category = '发热')
                 OR (ps.status = 'discharged' AND ps.measure = 'centralized_isolation' AND r.category = '出院'
                     AND replace(r.action, '集中隔离', '') <> r.action))
            AND NOT EXISTS (SELECT 1 FROM person_link l2 JOIN source_record r2 ON r2.source_record_id = l2.source_record_id
                            WHERE l2.person_id = ps.person_id AND r2.feed = 'hospital'
                              AND r2.category IN ('出院', '排除', '死亡') AND r2.category <> r.category
                              AND r2.event_time > r.event_time AND r2.event_time <= d.as_of_local)
          ORDER BY r.event_time DESC LIMIT 1) AS hospital_place,
         (SELECT CASE WHEN replace(r.action, '解除隔离', '') = r.action AND replace(r.action, '转出', '') = r.action
                      THEN 'isolation_point' END
          FROM person_link l JOIN source_record r ON r.source_record_id = l.source_record_id
          WHERE l.person_id = ps.person_id AND r.feed = 'isolation_monitoring' AND r.event_time <= d.as_of_local
            -- a daily check of yesterday or today (a point that stopped sending holds nobody it can show),
            -- and not for a person the measure sends to a hospital or a fever clinic: there they count as not admitted
            AND julianday(substr(d.as_of_local, 1, 10)) - julianday(substr(r.event_time, 1, 10)) <= 1
            AND COALESCE(ps.measure, '') NOT IN ('transfer_designated_hospital', 'transfer_mobile_cabin_hospital',
                                                 'transfer_fever_clinic')
          ORDER BY r.event_time DESC, r.source_record_id DESC LIMIT 1) AS isolation_place,
         (SELECT CASE WHEN pi.measure = 'transfer_designated_hospital' THEN 'designated_hospital'
                      WHEN pi.measure = 'transfer_mobile_cabin_hospital' THEN 'fangcang'
                      WHEN pi.measure = 'transfer_fever_clinic' THEN 'fever_clinic'
                      WHEN pi.measure IN ('centralized_isolation', 'isolate_suspected', 'release_test') THEN 'isolation_point'
                      WHEN pi.measure IN ('home_isolation', 'single_tube_retest') THEN 'home'
                      ELSE 'community' END
          FROM push_item pi
          WHERE pi.person_id = ps.person_id AND pi.measure = ps.measure AND pi.created_at >= ps.valid_from
            AND pi.answered_at IS NOT NULL AND pi.answered_at <= d.as_of
            AND ((pi.answer_result = '已转运'
                  AND pi.measure IN ('transfer_designated_hospital', 'transfer_mobile_cabin_hospital', 'transfer_fever_clinic'))
                 OR (pi.answer_result = '已隔离'
                     AND pi.measure IN ('isolate_suspected', 'centralized_isolation', 'home_isolation', 'single_tube_retest',
                                        'release_test'))
                 OR (pi.answer_result IN ('已核实', '已隔离', '已转运')
                     AND pi.measure NOT IN ('transfer_designated_hospital', 'transfer_mobile_cabin_hospital',
                                            'transfer_fever_clinic', 'isolate_suspected', 'centralized_isolation',
                                            'home_isolation', 'single_tube_retest', 'release_test')))
          ORDER BY pi.answered_at DESC LIMIT 1) AS answer_place
  FROM v_report_day d
  JOIN person_status ps ON ps.valid_from <= d.as_of AND (ps.valid_to IS NULL OR ps.valid_to > d.as_of)
) e;

-- Where each person is held now (现在在哪): the latest report day's rows, with the list
-- responsible for the person and a label. place: designated_hospital 定点医院, fangcang 方舱,
-- fever_clinic 发热门诊, isolation_point 隔离点, home 居家, community 社区, deceased 死亡,
-- unknown 未落实.
CREATE VIEW v_person_whereabouts AS
SELECT COALESCE(p.responsible_list, '') AS street, COALESCE(p.community, '') AS community, w.person_id,
       w.status, w.measure, w.place,
       CASE w.place WHEN 'designated_hospital' THEN '定点医院' WHEN 'fangcang' THEN '方舱'
                    WHEN 'fever_clinic' THEN '发热门诊' WHEN 'isolation_point' THEN '隔离点' WHEN 'home' THEN '居家'
                    WHEN 'community' THEN '社区' WHEN 'deceased' THEN '死亡' ELSE '未落实' END AS place_label,
       w.evidence, w.as_of
FROM v_whereabouts_by_day w
LEFT JOIN person p ON p.person_id = w.person_id
WHERE w.day = (SELECT MAX(day) FROM v_report_day);

-- 应收尽收 per report day: confirmed cases not in a designated hospital or 方舱 (未收治), suspected
-- cases and close contacts not isolated (未隔离), i.e. whose place was unknown at the day's end;
-- since_local: the earliest event time (local, as the unit sent it) of the records that started
-- the status period, hours_waiting: from then to the day's end (seed 001: suspected cases diagnosed
-- and confirmed cases investigated within 24 h; seed 004: 应收尽收、每日清零).
CREATE VIEW v_admission_backlog AS
SELECT b.day, b.as_of, b.person_id, b.status, b.measure, b.since_local,
       ROUND((julianday(b.as_of) + c.utc_offset_hours / 24.0 - julianday(b.since_local)) * 1440) / 60.0 AS hours_waiting
FROM (
  SELECT w.day, w.as_of, w.person_id, w.status, w.measure,
         COALESCE((SELECT MIN(r.event_time)
                   FROM person_link l JOIN source_record r ON r.source_record_id = l.source_record_id
                   WHERE l.person_id = w.person_id AND replace(';' || w.cause || ';', ';' || r.source_record_id || ';', '') <> ';' || w.cause || ';'),
                  datetime(w.valid_from, '+' || k.utc_offset_hours || ' hours')) AS since_local
  FROM v_whereabouts_by_day w CROSS JOIN v_local_clock k
  WHERE w.status IN ('confirmed', 'suspected', 'close_contact') AND w.place = 'unknown'
) b
CROSS JOIN v_local_clock c;

-- Seed 001 倒查: every person who became a confirmed or suspected case on a report day, and
-- whether they were already under management then (管控范围内): a status period of another
-- managed status (close contact, key-area arrival, fever, screening re-test, suspected,
-- asymptomatic) ran up to that moment, or a push item of theirs was open. Those who were not
-- (under_management = 0) are each to be traced back (逐例倒查).
CREATE VIEW v_case_traceback AS
SELECT n.day, n.person_id, COALESCE(p.responsible_list, '') AS street, n.status, n.valid_from,
       CASE WHEN n.managed_as IS NOT NULL THEN 1 ELSE 0 END AS under_management, COALESCE(n.managed_as, '') AS managed_as
FROM (
  SELECT d.day, ps.person_id, ps.status, ps.valid_from,
         COALESCE((SELECT MIN(q.status) FROM person_status q
                   WHERE q.person_id = ps.person_id AND q.valid_from < ps.valid_from
                     AND (q.valid_to IS NULL OR q.valid_to >= ps.valid_from)
                     AND q.status IN ('close_contact', 'key_area_arrival', 'fever', 'screening_retest', 'suspected',
                                      'asymptomatic')),
                  CASE WHEN EXISTS (SELECT 1 FROM push_item pi
                                    WHERE pi.person_id = ps.person_id AND pi.created_at < ps.valid_from
                                      AND (pi.closed_at IS NULL OR pi.closed_at >= ps.valid_from))
                       THEN 'push_item' END) AS managed_as
  FROM v_report_day d
  JOIN person_status ps ON ps.valid_from <= d.as_of AND (d.previous_as_of IS NULL OR ps.valid_from > d.previous_as_of)
  WHERE ps.status IN ('confirmed', 'suspected')
    AND NOT EXISTS (SELECT 1 FROM person_status q WHERE q.person_id = ps.person_id AND q.status = ps.status
                    AND q.valid_to = ps.valid_from)
) n
LEFT JOIN person p ON p.person_id = n.person_id;

-- 新增 / 存量 / 清零 per category per report day: persons who entered the status that day (new),
-- persons in it at the day's end (standing), and the 应收尽收 backlog at the day's end; new_zero
-- (新增清零) and standing_zero (存量清零) are 1 when the figure is 0 (seed 000: 新增确诊患者及疑似患者
-- 清零; seed 001: 新增确诊病例、疑似病例、住院确诊病例三个"清零"; seed 004: 减少存量、控增量).
CREATE VIEW v_daily_case_figures AS
SELECT f.day, f.as_of, f.status, f.label, f.new_persons, f.standing, f.not_held,
       CASE WHEN f.new_persons = 0 THEN 1 ELSE 0 END AS new_zero,
       CASE WHEN f.standing = 0 THEN 1 ELSE 0 END AS standing_zero
FROM (
  SELECT d.day, d.as_of, k.status, k.label,
         (SELECT COUNT(DISTINCT ps.person_id) FROM person_status ps
          WHERE ps.status = k.status AND ps.valid_from <= d.as_of
            AND (d.previous_as_of IS NULL OR ps.valid_from > d.previous_as_of)
            AND NOT EXISTS (SELECT 1 FROM person_status q WHERE q.person_id = ps.person_id AND q.status = ps.status
                            AND q.valid_to = ps.valid_from)) AS new_persons,
         (SELECT COUNT(*) FROM person_status ps
          WHERE ps.status = k.status AND ps.valid_from <= d.as_of
            AND (ps.valid_to IS NULL OR ps.valid_to > d.as_of)) AS standing,
         (SELECT COUNT(*) FROM v_admission_backlog b WHERE b.day = d.day AND b.status = k.status) AS not_held
  FROM v_report_day d
  CROSS JOIN (SELECT 'confirmed' AS status, '确诊' AS label UNION ALL SELECT 'asymptomatic', '无症状'
              UNION ALL SELECT 'suspected', '疑似' UNION ALL SELECT 'fever', '发热'
              UNION ALL SELECT 'close_contact', '密接') k
) f;

-- Contact chains (密接 chains, docs/warehouse.md): per index case — a root: a person a resolved edge
-- names as index and no resolved edge names as contact — the root itself (generation 0) and every
-- person reachable through resolved edges (1: direct contact, 2: contact of a contact, ...), at the
-- lowest generation that reaches them, with the index person they were traced from, the latest
-- 末次接触日期 and a 流调编号 of that edge and their current status and measure (a person traced from
-- two index persons of that generation has a row for each). At most 10 generations; a path never
-- visits a person twice (the lowest generation is the shortest chain; persons only in a cycle have
-- no root).
CREATE VIEW v_contact_chain AS
WITH RECURSIVE pair AS (
  SELECT index_person_id, contact_person_id, MAX(contact_date) AS contact_date,
         MIN(investigation_id) AS investigation_id
  FROM contact_edge WHERE index_person_id IS NOT NULL
  GROUP BY index_person_id, contact_person_id
), root AS (
  SELECT DISTINCT index_person_id AS person_id FROM pair
  WHERE index_person_id NOT IN (SELECT contact_person_id FROM pair)
), chain (root_person_id, person_id, generation, index_person_id, contact_date, investigation_id) AS (
  -- UNION (not UNION ALL) and no path: rows are (root, person, generation, edge), so a cluster whose
  -- members name each other stays at persons x edges x 10 rows instead of every path through it;
  -- the lowest generation below is the shortest chain, which never passes a person twice
  SELECT person_id, person_id, 0, CAST(NULL AS TEXT), CAST(NULL AS TEXT), CAST(NULL AS TEXT)
  FROM root
  UNION
  SELECT c.root_person_id, e.contact_person_id, c.generation + 1, e.index_person_id, e.contact_date,
         e.investigation_id
  FROM chain c JOIN pair e ON e.index_person_id = c.person_id
  WHERE c.generation < 10 AND e.contact_person_id <> c.root_person_id
)
SELECT DISTINCT c.root_person_id, r.status AS root_status, c.generation, c.person_id, p.name,
       c.index_person_id, c.contact_date, c.investigation_id, p.status, p.measure, p.street, p.community
FROM (SELECT chain.*, MIN(generation) OVER (PARTITION BY root_person_id, person_id) AS lowest FROM chain) c
LEFT JOIN person p ON p.person_id = c.person_id
LEFT JOIN person r ON r.person_id = c.root_person_id
WHERE c.generation = c.lowest;

-- Edges whose index case is not resolved (for the 流调 team): a name without an ID (never resolved
-- by name), an ID no other person carries yet, a record naming its own person; the index case as
-- the record gave it, the contact and where they live.
CREATE VIEW v_contact_edges_unresolved AS
SELECT e.source_record_id, e.resolution, s.contact_of_name AS index_name, s.contact_of_id AS index_id_number,
       e.contact_date, e.investigation_id, s.unit, s.event_time, e.contact_person_id, p.name AS contact_name,
       p.status AS contact_status, p.measure AS contact_measure, p.street, p.community, e.batch_id
FROM contact_edge e
JOIN source_record s ON s.source_record_id = e.source_record_id
LEFT JOIN person p ON p.person_id = e.contact_person_id
WHERE e.index_person_id IS NULL;

-- Arrivals counted until placed (入境/一人一档, feed arrivals; seed 000 l.43 "到达—隔离—检测—分类转运—纳入防控
-- 体系"): per person registered at a hub, their latest arrival (hub, arrived_local: the hub's local time as
-- sent), while the person needs a measure (person.measure not empty) and is not placed yet: no push item of
-- theirs created since the arrival was answered 已隔离 or 已转运, and v_person_whereabouts does not hold them at
-- a hospital, a 方舱, a fever clinic, an isolation point or home (or dead), nor in the community on an answer
-- (a measure that holds nobody, e.g. health monitoring, answered 已核实). street: the list the item went to
-- (the street of the destination address; 区级清单 when the address routes to no street). hours_unplaced: from
-- the arrival to the latest report day's end (local clock of v_local_clock).
CREATE VIEW v_arrivals_unplaced AS
SELECT COALESCE(p.responsible_list, '') AS street, COALESCE(p.community, '') AS community, a.person_id,
       (SELECT MIN(r.unit) FROM person_link l JOIN source_record r ON r.source_record_id = l.source_record_id
        WHERE l.person_id = a.person_id AND r.feed = 'arrivals' AND r.event_time = a.arrived_local) AS hub,
       a.arrived_local, a.arrivals, p.status, p.measure, COALESCE(w.place, '') AS place,
       ROUND((julianday(d.as_of) + c.utc_offset_hours / 24.0 - julianday(a.arrived_local)) * 1440) / 60.0 AS hours_unplaced,
       d.as_of
FROM (SELECT l.person_id, MAX(r.event_time) AS arrived_local, COUNT(*) AS arrivals
      -- the arrivals' records first, then their links (CROSS JOIN keeps that order on SQLite): read
      -- the other way, every link of the warehouse looks up its record (10 s at 1,000,000 records)
      FROM source_record r CROSS JOIN person_link l
      WHERE l.source_record_id = r.source_record_id AND r.feed = 'arrivals'
      GROUP BY l.person_id) a
JOIN person p ON p.person_id = a.person_id
CROSS JOIN v_local_clock c
CROSS JOIN (SELECT MAX(as_of) AS as_of FROM v_report_day) d
LEFT JOIN v_person_whereabouts w ON w.person_id = a.person_id
WHERE COALESCE(p.measure, '') <> ''
  AND COALESCE(w.place, '') NOT IN ('designated_hospital', 'fangcang', 'fever_clinic', 'isolation_point', 'home',
                                    'deceased')
  AND NOT (COALESCE(w.place, '') = 'community' AND COALESCE(w.evidence, '') = 'answer')
  AND NOT EXISTS (SELECT 1 FROM push_item pi
                  WHERE pi.person_id = a.person_id AND pi.answer_result IN ('已隔离', '已转运')
                    AND julianday(pi.created_at) >= julianday(a.arrived_local) - c.utc_offset_hours / 24.0);

-- The city's lists (市下推重点人员, feed city_list) by category as the city wrote it: rows, persons, the first
-- and last list day, and the persons whose status is now 市下推待核实 (city_list_review: the default policy's
-- status for a category its `city_lists` does not map; `screenfuse summary` names those categories).
CREATE VIEW v_city_list_categories AS
SELECT COALESCE(r.category, '') AS category, COUNT(*) AS records, COUNT(DISTINCT l.person_id) AS persons,
       MIN(substr(r.event_time, 1, 10)) AS first_listed, MAX(substr(r.event_time, 1, 10)) AS last_listed,
       COUNT(DISTINCT CASE WHEN p.status = 'city_list_review' THEN p.person_id END) AS persons_to_verify
FROM source_record r
LEFT JOIN person_link l ON l.source_record_id = r.source_record_id
LEFT JOIN person p ON p.person_id = l.person_id
WHERE r.feed = 'city_list'
GROUP BY COALESCE(r.category, '');
-- Isolation points (隔离点, seed 000 l.35): per point and local day, the persons held (a daily
-- check that day, or a check missed that day: isolation_missed_check), the rooms, the rooms free
-- (rooms - held: one person a room, the seeds' 单人单间), the checks missed; points of the list on
-- days nobody was held there are not listed. A point missing from the points list has no rooms.
CREATE VIEW v_isolation_occupancy AS
SELECT o.point, COALESCE(p.street, '') AS street, COALESCE(p.takes, '') AS takes, o.day, o.held, p.rooms,
       p.rooms - o.held AS free, o.missed
FROM (SELECT h.point, h.day, COUNT(DISTINCT h.person_id) AS held, SUM(h.missed) AS missed
      FROM (SELECT r.unit AS point, substr(r.event_time, 1, 10) AS day, l.person_id, 0 AS missed
            FROM source_record r JOIN person_link l ON l.source_record_id = r.source_record_id
            WHERE r.feed = 'isolation_monitoring'
            UNION ALL
            SELECT m.point, m.check_day, m.person_id, 1 FROM isolation_missed_check m) h
      GROUP BY h.point, h.day) o
LEFT JOIN isolation_point p ON p.point_name = o.point;

-- Missed daily checks (漏报), one row per person held and day, with the point's street and when the
-- check was due (UTC), and whether a check for that day came in later (late).
CREATE VIEW v_isolation_missed_checks AS
SELECT m.street, m.point, m.room, m.check_day, m.deadline_at, m.person_id, m.batch_id,
       CASE WHEN EXISTS (SELECT 1 FROM person_link l JOIN source_record r ON r.source_record_id = l.source_record_id
                         WHERE l.person_id = m.person_id AND r.feed = 'isolation_monitoring'
                           AND substr(r.event_time, 1, 10) = m.check_day) THEN 1 ELSE 0 END AS came_late
FROM isolation_missed_check m;

-- The review desk (screenfuse review; docs/review.md): each record pair the matching left for a
-- person to decide, both records side by side, the match weight and each comparison's
-- contribution (explanation: JSON, bits per comparison and the prior). Open items only (state,
-- a partial index: the publish closes an item queued again, decided, or kept apart by a
-- cannot-link); a pair since joined in one person is gone. Personal data: district only, never in
-- the analytics layer.
CREATE VIEW v_match_review AS
SELECT r.review_id, r.batch_id, r.match_weight, r.match_probability, r.explanation,
       r.left_record_id, la.person_id AS left_person_id, a.feed AS left_feed, a.unit AS left_unit,
       a.event_time AS left_event_time, a.name AS left_name, a.id_number AS left_id_number,
       a.birth_date AS left_birth_date, a.sex AS left_sex, a.phone AS left_phone, a.address AS left_address,
       r.right_record_id, lb.person_id AS right_person_id, b.feed AS right_feed, b.unit AS right_unit,
       b.event_time AS right_event_time, b.name AS right_name, b.id_number AS right_id_number,
       b.birth_date AS right_birth_date, b.sex AS right_sex, b.phone AS right_phone, b.address AS right_address
FROM match_review r
JOIN source_record a ON a.source_record_id = r.left_record_id
JOIN source_record b ON b.source_record_id = r.right_record_id
LEFT JOIN person_link la ON la.source_record_id = r.left_record_id
LEFT JOIN person_link lb ON lb.source_record_id = r.right_record_id
WHERE r.state = 'open' AND COALESCE(la.person_id, '') <> COALESCE(lb.person_id, '');
