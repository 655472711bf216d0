-- Current status rows as they were before this batch (so re-running the batch sees the same
-- starting point): rows this batch opened are left out, rows it closed are read as still open.
SELECT person_id, status, measure, valid_from, policy_version, batch_id
FROM person_status
WHERE batch_id <> :batch_id AND (valid_to IS NULL OR closed_batch_id = :batch_id);
