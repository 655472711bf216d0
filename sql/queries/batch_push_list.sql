-- One batch's push items with the person's contact details, for the outbox files.
SELECT * FROM v_push_list WHERE batch_id = :batch_id ORDER BY street, community, due_at, person_id;
