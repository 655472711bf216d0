-- The batch's outbox is written: its new items are pushed.
UPDATE push_item SET state = 'pushed', pushed_batch_id = :batch_id
WHERE batch_id = :batch_id AND state = 'open';
