-- Pairs a person decided are not the same: never linked again. Pairs a batch added from feedback
-- apply from the next batch on (re-running the batch sees the same starting point).
SELECT left_record_id AS left_id, right_record_id AS right_id FROM match_cannot_link
WHERE batch_id IS NULL OR batch_id <> :batch_id;
