-- Rows come unordered: the caller sorts them in code point order (warehouse.sort_rows), the
-- same on every database whatever its collation.
SELECT close_reason, COUNT(*) AS items FROM push_item WHERE state = 'closed' GROUP BY close_reason;
