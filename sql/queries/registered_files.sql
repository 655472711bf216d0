-- Files already loaded by another batch: a file delivered again is skipped, not loaded twice.
SELECT file_sha256, MIN(batch_id) AS batch_id
FROM ingest_file
WHERE status IN ('loaded', 'quarantined') AND batch_id <> :batch_id
GROUP BY file_sha256;
