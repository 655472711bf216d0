-- The analytics layer: what BI tools read. No name, ID number, phone, address or birth date:
-- ID numbers and phones as keyed pseudonyms (HMAC-SHA-256, computed by the run with a key kept
-- outside the warehouse: screenfuse.pseudonyms), birth dates as age bands, places as street and
-- community. `{layer}` is `analytics.` on PostgreSQL (a schema: the analytics role reads only it)
-- and `analytics_` on SQLite (no schemas). Derived objects like sql/views.sql: `screenfuse db
-- upgrade` recreates them; runs never touch them. The views over v_* run with their owner's
-- rights on PostgreSQL, so the analytics role needs no right on the tables under them.
-- Statements are separated by ';' at line end.

CREATE VIEW {layer}person AS
SELECT person_id, id_pseudonym, phone_pseudonym, sex, age_band, street, community, responsible_list, status,
       measure, status_expires_at, n_records, feeds, first_seen, last_seen, next_change_at, policy_version,
       as_of, batch_id
FROM person;

CREATE VIEW {layer}person_status AS
SELECT person_id, batch_id, status, measure, valid_from, valid_to, change, cause, policy_version, closed_batch_id
FROM person_status;

CREATE VIEW {layer}push_item AS
SELECT push_item_id, batch_id, created_batch_id, street, community, person_id, status, measure, reason, due_at, state,
       created_at, replaces_item_id, pushed_batch_id, escalated_at, escalated_batch_id, closed_at, closed_batch_id,
       close_reason, acknowledged_at, done_at, answered_at, answer_result, answered_batch_id, answer_hours,
       answered_late, policy_version
FROM push_item;

CREATE VIEW {layer}screening_outcome AS
SELECT person_id, batch_id, as_of, pool_id, screening_result, screening_result_time, screening_scope, pool_result,
       pool_result_time, individual_positive, pool_positive, awaiting_result, hours_waited, result_overdue,
       result_conflict
FROM screening_outcome;

CREATE VIEW {layer}run_log AS
SELECT batch_id, data_interval_start, data_interval_end, status, files_seen, files_loaded, files_duplicate,
       files_quarantined, rows_read, rows_accepted, rows_quarantined, persons, push_items, push_items_closed,
       push_items_escalated, push_items_answered, status_changes, policy_version, links_changed,
       match_model, match_model_reason, match_prior, match_population, match_blocking
FROM run_log;

CREATE VIEW {layer}person_by_status AS SELECT * FROM v_person_by_status;
CREATE VIEW {layer}person_status_over_time AS SELECT * FROM v_person_status_over_time;
CREATE VIEW {layer}feed_reconciliation AS SELECT * FROM v_feed_reconciliation;
CREATE VIEW {layer}push_backlog AS SELECT * FROM v_push_backlog;
CREATE VIEW {layer}feedback_results AS SELECT * FROM v_feedback_results;
CREATE VIEW {layer}silent_units AS SELECT * FROM v_silent_units;
CREATE VIEW {layer}late_reports AS
SELECT report_day, feed, unit_type, unit_id, unit_name, street, arrived_at, after_check, recorded_in_batch
FROM v_late_reports;
CREATE VIEW {layer}zero_report_days AS SELECT * FROM v_zero_report_days;
CREATE VIEW {layer}resent_deliveries AS
SELECT feed, unit_id, report_day, files, first_batch, last_batch, rows_added FROM v_resent_deliveries;
CREATE VIEW {layer}community_risk AS SELECT * FROM v_community_risk;
CREATE VIEW {layer}community_risk_over_time AS SELECT * FROM v_community_risk_over_time;
CREATE VIEW {layer}screening_awaiting AS SELECT person_id, sampling_point, pool_id, sampled_at, batch_id FROM v_screening_awaiting;
CREATE VIEW {layer}report_day AS SELECT * FROM v_report_day;
CREATE VIEW {layer}daily_case_figures AS SELECT * FROM v_daily_case_figures;
CREATE VIEW {layer}case_traceback AS SELECT * FROM v_case_traceback;
CREATE VIEW {layer}admission_backlog AS SELECT * FROM v_admission_backlog;
CREATE VIEW {layer}arrivals_unplaced AS SELECT * FROM v_arrivals_unplaced;
CREATE VIEW {layer}city_list_categories AS SELECT * FROM v_city_list_categories;
CREATE VIEW {layer}isolation_occupancy AS SELECT * FROM v_isolation_occupancy;
CREATE VIEW {layer}isolation_missed_checks AS
SELECT street, point, check_day, deadline_at, person_id, batch_id, came_late FROM v_isolation_missed_checks;
CREATE VIEW {layer}after_terminal_review AS SELECT * FROM v_after_terminal_review;
