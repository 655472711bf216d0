-- The days one batch checked, with the units silent on each (a day without any: one row, no unit).
-- Rows come unordered: the caller sorts them in code point order (warehouse.sort_rows), the
-- same on every database whatever its collation.
SELECT c.report_day, c.feed, s.unit_type, s.unit_id, s.unit_name, s.street
FROM zero_report_check c
LEFT JOIN silent_unit s ON s.batch_id = c.batch_id AND s.report_day = c.report_day AND s.feed = c.feed
WHERE c.batch_id = :batch_id;
