-- Reports of the expected units read by other batches (zero reporting).
SELECT feed, unit_id, report_day, file_name, row_count FROM unit_delivery WHERE batch_id <> :batch_id;
