-- Pairs a person decided are not the same: never linked again.
SELECT left_record_id AS left_id, right_record_id AS right_id FROM match_cannot_link;
