-- One batch's lists, with the person's contact details: the items it created (new, status
-- changed, rerouted in), the items it escalated, and the items it rerouted away (old street).
-- Rows come unordered: the caller sorts them in code point order (warehouse.sort_rows), the
-- same on every database whatever its collation.
SELECT v.*,
       CASE WHEN v.escalated_batch_id = :batch_id AND v.batch_id <> :batch_id THEN 'escalated'
            WHEN v.closed_batch_id = :batch_id AND v.close_reason = 'rerouted' THEN 'rerouted_away'
            ELSE v.reason END AS push_reason
FROM v_push_list v
WHERE v.batch_id = :batch_id
   OR v.escalated_batch_id = :batch_id
   OR (v.closed_batch_id = :batch_id AND v.close_reason = 'rerouted' AND v.batch_id <> :batch_id);
