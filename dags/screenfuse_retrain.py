"""screenfuse_retrain: the model learns. Wiring only; the work is in include/screenfuse/retrain.py."""
from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, Param, dag, get_current_context, task

DOC = """
### screenfuse retraining

Weekly (Monday 02:00 UTC) and on demand (trigger it, optionally with `promote`, `max_records`,
`min_labels`): learn a candidate matching model from the accumulated warehouse (whole persons
sampled up to `max_records`, the memory budget), calibrate it on the labelled pairs
(`match_label`: 非本人 answers and review decisions; police tracing results once a feed brings
them), compare it with the current model on every label and on the sampled pairs the two decide
differently, and promote it only if it is no worse on the labels (no more false links, no more
errors; at least `min_labels` labels). Where EM learns no candidate (too few records, or its
matches are not persons, as on a district's mass screening at scale) the candidate is the
current model recalibrated on the labels.
Every candidate is recorded in `match_model` with its version, metrics and who promoted it
(`screenfuse_retrain` when scheduled, `screenfuse_retrain:<user>` when a user triggered it); the next hourly run uses the promoted model and re-links only the records
it decides differently (merges and splits in `person_event`). See docs/matching.md.
XCom carries figures only, never record ids or personal data.
"""

# logging, not print: the report's lines stay in order with Airflow's own in the task log
log = logging.getLogger("screenfuse.retrain")


def _settings():
    from airflow.sdk import BaseHook
    from airflow.sdk.configuration import conf
    from airflow.sdk.exceptions import AirflowNotFoundException

    from screenfuse.config import WAREHOUSE_CONNECTION, settings_from_connection
    from screenfuse.pseudonyms import KEY_CONNECTION

    return settings_from_connection(lambda: BaseHook.get_connection(WAREHOUSE_CONNECTION).get_uri(),
                                    not_defined=(AirflowNotFoundException,),
                                    secrets_backend=conf.get("secrets", "backend", fallback=""),
                                    key_password=lambda: BaseHook.get_connection(KEY_CONNECTION).password)


@dag(
    dag_id="screenfuse_retrain",
    schedule=CronTriggerTimetable("0 2 * * 1", timezone="UTC"),
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 1, "retry_delay": timedelta(minutes=10), "owner": "screenfuse"},
    description="Weekly: learn a candidate matching model, judge it on every label, promote it if no worse",
    params={"promote": Param(True, type="boolean"), "max_records": Param(200_000, type="integer", minimum=1000),
            "min_labels": Param(20, type="integer", minimum=1)},
    doc_md=DOC,
    tags=["screenfuse", "record-linkage"],
)
def screenfuse_retrain():
    @task
    def retrain_model() -> dict:
        from screenfuse import retrain, schema
        from screenfuse.pipeline import engine

        context, settings = get_current_context(), _settings()
        params, run = context["params"], context["dag_run"]
        schema.require_current(engine(settings))
        options = retrain.RetrainOptions(max_records=int(params["max_records"]), min_labels=int(params["min_labels"]))
        by = retrain.decided_by("screenfuse_retrain", run.run_type, getattr(run, "triggering_user_name", None))
        result = retrain.retrain(settings, by, promote=bool(params["promote"]), options=options)
        for line in retrain.report_lines(result):
            log.info("%s", line)
        return {k: result.get(k) for k in ("trained", "version", "model_id", "promoted", "reason", "labels",
                                           "relink_records", "calibration_bits")}

    retrain_model()


screenfuse_retrain()
