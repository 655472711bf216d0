-- The last published links, so person ids stay stable.
SELECT source_record_id, person_id FROM person_link;
