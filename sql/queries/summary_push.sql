SELECT street, COUNT(*) AS items,
       SUM(CASE WHEN state = 'escalated' THEN 1 ELSE 0 END) AS escalated
FROM push_item WHERE state IN ('open', 'pushed', 'acknowledged', 'escalated') GROUP BY street ORDER BY street;
