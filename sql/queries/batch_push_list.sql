-- One batch's lists, with the person's contact details: the items it created (new, status
-- changed, rerouted in), the items it escalated, and the items it rerouted away (old street).
-- The items are found through their batch columns, each indexed (an OR of them reads every item).
-- Rows come unordered: the caller sorts them in code point order (warehouse.sort_rows), the
-- same on every database whatever its collation.
WITH batch_items AS (
    SELECT push_item_id FROM push_item WHERE batch_id = :batch_id
    UNION SELECT push_item_id FROM push_item WHERE escalated_batch_id = :batch_id
    UNION SELECT push_item_id FROM push_item WHERE closed_batch_id = :batch_id AND close_reason = 'rerouted'
)
SELECT v.*,
       CASE WHEN v.escalated_batch_id = :batch_id AND v.batch_id <> :batch_id THEN 'escalated'
            WHEN v.closed_batch_id = :batch_id AND v.close_reason = 'rerouted' THEN 'rerouted_away'
            ELSE v.reason END AS push_reason
FROM v_push_list v
WHERE v.push_item_id IN (SELECT push_item_id FROM batch_items)
  AND (v.batch_id = :batch_id
       OR v.escalated_batch_id = :batch_id
       OR (v.closed_batch_id = :batch_id AND v.close_reason = 'rerouted' AND v.batch_id <> :batch_id));
