-- Rows come unordered: the caller sorts them in code point order (warehouse.sort_rows), the
-- same on every database whatever its collation.
SELECT feed, COUNT(*) AS files,
       SUM(CASE WHEN status = 'duplicate' THEN 1 ELSE 0 END) AS files_duplicate,
       SUM(CASE WHEN status = 'quarantined' THEN 1 ELSE 0 END) AS files_quarantined,
       SUM(CASE WHEN status = 'held' THEN 1 ELSE 0 END) AS files_held,
       SUM(rows_read) AS rows_read, SUM(rows_accepted) AS rows_accepted, SUM(rows_quarantined) AS rows_quarantined
FROM ingest_file GROUP BY feed;
