-- Re-running a batch replaces what it published before (idempotent publish), and undoes what it
-- changed in rows of earlier batches (status rows it closed, push items it closed or escalated).
DELETE FROM source_record WHERE batch_id = :batch_id;
DELETE FROM quarantine WHERE batch_id = :batch_id;
DELETE FROM ingest_file WHERE batch_id = :batch_id;
DELETE FROM push_item WHERE batch_id = :batch_id;
DELETE FROM run_log WHERE batch_id = :batch_id;
DELETE FROM match_review WHERE batch_id = :batch_id;
UPDATE match_review SET state = 'open', closed_batch_id = NULL WHERE closed_batch_id = :batch_id;
DELETE FROM person_event WHERE batch_id = :batch_id;
DELETE FROM match_model WHERE model_id = :batch_id;
DELETE FROM person_status WHERE batch_id = :batch_id;
UPDATE person_status SET valid_to = NULL, closed_batch_id = NULL WHERE closed_batch_id = :batch_id;
DELETE FROM push_feedback WHERE batch_id = :batch_id;
DELETE FROM unit_delivery WHERE batch_id = :batch_id;
DELETE FROM zero_report_check WHERE batch_id = :batch_id;
DELETE FROM silent_unit WHERE batch_id = :batch_id;
DELETE FROM late_report WHERE batch_id = :batch_id;
DELETE FROM community_risk WHERE batch_id = :batch_id;
DELETE FROM police_tracing WHERE batch_id = :batch_id;
DELETE FROM match_cannot_link WHERE batch_id = :batch_id;
DELETE FROM match_label WHERE batch_id = :batch_id;
UPDATE answer_revocation SET applied_batch_id = NULL WHERE applied_batch_id = :batch_id;
-- review decisions: a returned list's are the batch's own; the command line's wait for the next run again
DELETE FROM match_decision WHERE batch_id = :batch_id;
UPDATE match_decision SET applied_batch_id = NULL, outcome = NULL WHERE applied_batch_id = :batch_id;
-- answers this batch applied are taken back first (the statements below then see no answer)
UPDATE push_item SET acknowledged_at = NULL, done_at = NULL, answered_by = NULL, answered_at = NULL,
       answer_result = NULL, answered_batch_id = NULL, answer_hours = NULL, answered_late = NULL,
       state = CASE WHEN closed_batch_id IS NOT NULL THEN 'closed'
                    WHEN escalated_batch_id IS NOT NULL THEN 'escalated'
                    WHEN pushed_batch_id IS NOT NULL OR created_batch_id IS NULL THEN 'pushed'
                    ELSE 'open' END
WHERE answered_batch_id = :batch_id;
-- push items this batch closed or escalated get back the state they had (SQL reads the old values
-- on the right-hand side, so each CASE spells out the state without what is being undone)
UPDATE push_item SET closed_at = NULL, closed_batch_id = NULL, close_reason = NULL,
       state = CASE WHEN done_at IS NOT NULL THEN 'done'
                    WHEN acknowledged_at IS NOT NULL THEN 'acknowledged'
                    WHEN escalated_batch_id IS NOT NULL THEN 'escalated'
                    WHEN pushed_batch_id IS NOT NULL OR created_batch_id IS NULL THEN 'pushed'
                    ELSE 'open' END
WHERE closed_batch_id = :batch_id;
UPDATE push_item SET escalated_at = NULL, escalated_batch_id = NULL,
       state = CASE WHEN closed_batch_id IS NOT NULL THEN 'closed'
                    WHEN done_at IS NOT NULL THEN 'done'
                    WHEN acknowledged_at IS NOT NULL THEN 'acknowledged'
                    WHEN pushed_batch_id IS NOT NULL OR created_batch_id IS NULL THEN 'pushed'
                    ELSE 'open' END
WHERE escalated_batch_id = :batch_id;
-- the matching state the batch added (counts and links are restored from batch_undo; its block
-- keys were taken back before, from these match_record rows: screenfuse.match_state.forget_batch)
DELETE FROM match_record WHERE batch_id = :batch_id;
-- the samples and lab results the batch brought (outcomes are restored from batch_undo)
DELETE FROM screening_sample WHERE batch_id = :batch_id;
DELETE FROM screening_result WHERE batch_id = :batch_id;
-- the missed isolation checks the batch found (the points list is restored from batch_undo)
DELETE FROM isolation_missed_check WHERE batch_id = :batch_id;
