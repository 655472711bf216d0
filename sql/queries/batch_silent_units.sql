-- The days one batch checked, with the units silent on each (a day without any: one row, no unit),
-- and the late units (迟报) it recorded: of the days it checked (after_check 0) and of days checked
-- before whose silent units reported since (after_check 1).
-- Rows come unordered: the caller sorts them in code point order (warehouse.sort_rows), the
-- same on every database whatever its collation.
SELECT c.report_day, c.feed, s.unit_type, s.unit_id, s.unit_name, s.street, 'silent' AS state, 0 AS after_check
FROM zero_report_check c
LEFT JOIN silent_unit s ON s.batch_id = c.batch_id AND s.report_day = c.report_day AND s.feed = c.feed
WHERE c.batch_id = :batch_id
UNION ALL
SELECT report_day, feed, unit_type, unit_id, unit_name, street, 'late' AS state, after_check
FROM late_report
WHERE batch_id = :batch_id;
