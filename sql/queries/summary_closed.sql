SELECT close_reason, COUNT(*) AS items FROM push_item WHERE state = 'closed' GROUP BY close_reason ORDER BY close_reason;
