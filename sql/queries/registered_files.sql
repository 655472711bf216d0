-- Files already registered by another batch: a file delivered again is skipped, not loaded twice
-- (a zero report, header only, is the same file only under the same name).
SELECT file_sha256, file_name, status, MIN(batch_id) AS batch_id
FROM ingest_file
WHERE status IN ('loaded', 'quarantined', 'zero_report') AND batch_id <> :batch_id
GROUP BY file_sha256, file_name, status;
