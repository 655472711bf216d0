-- The police tracing list (公安协查清单) of one batch: people a street office answered 查无此人.
-- Rows come unordered: the caller sorts them in code point order (warehouse.sort_rows), the
-- same on every database whatever its collation.
SELECT t.trace_id, t.push_item_id, t.street, t.person_id, p.name, p.id_number, p.phone, p.address,
       pi.status, pi.measure, t.answered_at, t.reason
FROM police_tracing t
LEFT JOIN person p ON p.person_id = t.person_id
LEFT JOIN push_item pi ON pi.push_item_id = t.push_item_id
WHERE t.batch_id = :batch_id;
