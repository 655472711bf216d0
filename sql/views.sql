-- BI views. Recreated on every schema check (DROP + CREATE keeps them in step with the tables).

DROP VIEW IF EXISTS v_person_by_status;
CREATE VIEW v_person_by_status AS
SELECT responsible_list AS street, status, COUNT(*) AS persons
FROM person
GROUP BY responsible_list, status;

DROP VIEW IF EXISTS v_push_list;
CREATE VIEW v_push_list AS
SELECT pi.street, pi.community, pi.push_item_id, pi.batch_id, pi.person_id, p.name, p.id_number,
       p.phone, p.address, pi.status, pi.measure, pi.reason, pi.detail, pi.source_records, pi.due_at, pi.state,
       pi.pushed_batch_id, pi.escalated_at, pi.escalated_batch_id, pi.closed_at, pi.closed_batch_id,
       pi.close_reason, pi.answered_by, pi.answered_at
FROM push_item pi
LEFT JOIN person p ON p.person_id = pi.person_id;

DROP VIEW IF EXISTS v_feed_reconciliation;
CREATE VIEW v_feed_reconciliation AS
SELECT batch_id, feed,
       COUNT(*) AS files,
       SUM(rows_read) AS rows_read,
       SUM(rows_accepted) AS rows_accepted,
       SUM(rows_quarantined) AS rows_quarantined,
       CASE WHEN SUM(rows_read) = SUM(rows_accepted) + SUM(rows_quarantined) THEN 1 ELSE 0 END AS balanced
FROM ingest_file
GROUP BY batch_id, feed;
