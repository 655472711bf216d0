-- Rows come unordered: the caller sorts them in code point order (warehouse.sort_rows), the
-- same on every database whatever its collation.
SELECT street, COUNT(*) AS items,
       SUM(CASE WHEN state = 'escalated' THEN 1 ELSE 0 END) AS escalated
FROM push_item WHERE state IN ('open', 'pushed', 'acknowledged', 'escalated') GROUP BY street;
