-- Re-running a batch replaces what it published before (idempotent publish).
DELETE FROM source_record WHERE batch_id = :batch_id;
DELETE FROM quarantine WHERE batch_id = :batch_id;
DELETE FROM ingest_file WHERE batch_id = :batch_id;
DELETE FROM push_item WHERE batch_id = :batch_id;
DELETE FROM run_log WHERE batch_id = :batch_id;
DELETE FROM match_review WHERE batch_id = :batch_id;
DELETE FROM person_event WHERE batch_id = :batch_id;
DELETE FROM match_model WHERE model_id = :batch_id;
