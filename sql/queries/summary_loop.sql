-- The loop's figures: push items over their whole life (pushed, answered, escalated, closed).
SELECT COUNT(*) AS pushed,
       SUM(CASE WHEN answered_at IS NOT NULL THEN 1 ELSE 0 END) AS answered,
       SUM(CASE WHEN answered_at IS NOT NULL AND answered_late = 1 THEN 1 ELSE 0 END) AS answered_late,
       SUM(CASE WHEN state = 'done' THEN 1 ELSE 0 END) AS done,
       SUM(CASE WHEN escalated_at IS NOT NULL THEN 1 ELSE 0 END) AS escalated,
       SUM(CASE WHEN state = 'closed' THEN 1 ELSE 0 END) AS closed,
       SUM(CASE WHEN state IN ('open', 'pushed', 'acknowledged', 'escalated') THEN 1 ELSE 0 END) AS still_open,
       (SELECT COUNT(*) FROM police_tracing) AS traced,
       (SELECT COUNT(*) FROM match_cannot_link WHERE source = 'feedback') AS cannot_link_pairs,
       (SELECT COUNT(*) FROM person_event WHERE event = 'split') AS splits,
       (SELECT COUNT(*) FROM run_log) AS runs
FROM push_item;
