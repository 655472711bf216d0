-- Days (per feed) whose zero reports other batches already checked.
SELECT DISTINCT report_day, feed FROM zero_report_check WHERE batch_id <> :batch_id;
