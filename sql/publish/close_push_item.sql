-- A push item no longer needed (or handed to another list) is closed, with the reason.
UPDATE push_item SET state = 'closed', closed_at = :closed_at, closed_batch_id = :closed_batch_id,
       close_reason = :close_reason
WHERE push_item_id = :push_item_id AND closed_batch_id IS NULL;
