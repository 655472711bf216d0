-- The end of the first published interval before this batch: zero reporting starts on its day.
SELECT MIN(data_interval_end) AS first_end FROM run_log WHERE batch_id <> :batch_id;
