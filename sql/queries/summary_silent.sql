-- Rows come unordered: the caller sorts them in code point order (warehouse.sort_rows), the
-- same on every database whatever its collation.
SELECT report_day, feed, expected, reported, late, silent FROM zero_report_check;
