SELECT street, COUNT(*) AS items FROM push_item WHERE state = 'open' GROUP BY street ORDER BY street;
