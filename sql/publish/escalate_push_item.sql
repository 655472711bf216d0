-- A push item past its due time that nobody answered is escalated, once.
UPDATE push_item SET state = 'escalated', escalated_at = :escalated_at, escalated_batch_id = :escalated_batch_id
WHERE push_item_id = :push_item_id AND escalated_batch_id IS NULL;
