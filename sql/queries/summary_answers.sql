-- Rows come unordered: the caller sorts them in code point order (warehouse.sort_rows), the
-- same on every database whatever its collation.
SELECT result, COUNT(*) AS answers FROM push_feedback GROUP BY result;
