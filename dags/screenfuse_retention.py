"""screenfuse_retention: personal data kept only as long as the policy says. Wiring only; the
work is in include/screenfuse/retention.py."""
from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import CronTriggerTimetable, dag, task

DOC = """
### screenfuse retention

Daily (03:00 UTC) and on demand: remove the personal data the policy no longer keeps
(`retention.days_after_last_measure`, 30 days by default). A person with no measure and no change
for that long loses its name, ID number, phone, address, birth date and pseudonyms, its records
their personal columns and its matching state; statuses, push items and counts stay. Raw rows of
quarantined rows and answers, staged work, the landing files older batches took, and older
batches' quarantine copies and push lists go too. What was removed is counted in the table
`retention_run` (counts, never data). Runs under the publish lock: an hourly run waits for it.
See docs/security.md.
"""


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
    dag_id="screenfuse_retention",
    schedule=CronTriggerTimetable("0 3 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10), "owner": "screenfuse"},
    doc_md=DOC,
    description="Remove personal data the policy no longer keeps (counts in retention_run)",
    tags=["screenfuse", "privacy"],
)
def screenfuse_retention():
    @task
    def remove_expired_personal_data() -> dict:
        from screenfuse import schema
        from screenfuse.pipeline import engine
        from screenfuse.retention import run_retention

        settings = _settings()
        schema.require_current(engine(settings))
        return run_retention(settings) or {"kept": "the policy has no retention section"}

    remove_expired_personal_data()


screenfuse_retention()
