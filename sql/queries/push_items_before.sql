-- Push items of earlier batches as they were before this batch (so re-running the batch sees the
-- same starting point): what this batch closed or escalated is read as it was before.
SELECT push_item_id, person_id, street, status, measure, due_at, answered_at,
       CASE
           WHEN closed_batch_id IS NOT NULL AND closed_batch_id <> :batch_id THEN 'closed'
           WHEN done_at IS NOT NULL THEN 'done'
           WHEN acknowledged_at IS NOT NULL THEN 'acknowledged'
           WHEN escalated_batch_id IS NOT NULL AND escalated_batch_id <> :batch_id THEN 'escalated'
           ELSE 'pushed'
       END AS state
FROM push_item
WHERE batch_id <> :batch_id;
