SELECT * FROM run_log ORDER BY batch_id DESC LIMIT 1;
