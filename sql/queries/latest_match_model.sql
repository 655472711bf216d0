-- The model trained by the latest earlier batch (a batch re-run retrains its own).
SELECT model_id, params_json FROM match_model WHERE model_id <> :batch_id ORDER BY model_id DESC LIMIT 1;
