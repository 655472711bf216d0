-- Source records published by other batches (resolution sees every record).
SELECT * FROM source_record WHERE batch_id <> :batch_id;
