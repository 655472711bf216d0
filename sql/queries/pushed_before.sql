-- What earlier batches already pushed: an item is not pushed again as new.
SELECT DISTINCT person_id, measure FROM push_item WHERE batch_id <> :batch_id;
