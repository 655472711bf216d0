-- A street office's answer (feedback feed) on a push item: who, when, what; done results mark it done.
UPDATE push_item SET state = COALESCE(:new_state, state), acknowledged_at = :acknowledged_at, done_at = :done_at,
       answered_by = :answered_by, answered_at = :answered_at, answer_result = :answer_result,
       answered_batch_id = :answered_batch_id, answer_hours = :answer_hours, answered_late = :answered_late
WHERE push_item_id = :push_item_id;
