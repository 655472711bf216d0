-- A status change (or a person merged away) closes the person's current row.
UPDATE person_status SET valid_to = :valid_to, closed_batch_id = :closed_batch_id
WHERE person_id = :person_id AND valid_to IS NULL;
