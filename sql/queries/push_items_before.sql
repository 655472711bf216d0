-- Push items of earlier batches as they were before this batch (so re-running the batch sees the
-- same starting point): what this batch closed, escalated or answered is read as it was before.
SELECT push_item_id, person_id, street, status, measure, due_at, created_at, source_records,
       CASE WHEN answered_batch_id = :batch_id THEN NULL ELSE answered_at END AS answered_at,
       CASE
           WHEN closed_batch_id IS NOT NULL AND closed_batch_id <> :batch_id THEN 'closed'
           WHEN done_at IS NOT NULL AND COALESCE(answered_batch_id, '') <> :batch_id THEN 'done'
           WHEN acknowledged_at IS NOT NULL AND COALESCE(answered_batch_id, '') <> :batch_id THEN 'acknowledged'
           WHEN escalated_batch_id IS NOT NULL AND escalated_batch_id <> :batch_id THEN 'escalated'
           ELSE 'pushed'
       END AS state
FROM push_item
WHERE batch_id <> :batch_id;
