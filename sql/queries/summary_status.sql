SELECT status, COUNT(*) AS persons FROM person GROUP BY status;
