-- Links as they were before this batch (so re-running the batch sees the same starting point):
-- rows this batch changed are read with the person they had before it; its new records are left out.
-- Weights and explanations are those of the batch that last linked the record.
SELECT source_record_id,
       CASE WHEN changed_batch_id = :batch_id THEN previous_person_id ELSE person_id END AS person_id,
       CASE WHEN changed_batch_id = :batch_id THEN NULL ELSE changed_batch_id END AS changed_batch_id,
       CASE WHEN changed_batch_id = :batch_id THEN NULL ELSE previous_person_id END AS previous_person_id,
       match_weight AS kept_weight, match_probability AS kept_probability,
       match_rule AS kept_rule, explanation AS kept_explanation
FROM person_link
WHERE NOT (changed_batch_id = :batch_id AND previous_person_id IS NULL);
