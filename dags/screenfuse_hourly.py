"""screenfuse_hourly: the hourly fusion run. Wiring only; the work is in include/screenfuse."""
from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
from airflow.sdk import Asset, CronDataIntervalTimetable, dag, get_current_context, task, task_group

DOC = """
### screenfuse hourly fusion run

Every hour, for the data interval that just ended:

1. **ingest**: each feed's new files in `landing/<feed>/`, read and checked row by row with Great
   Expectations; bad rows and bad files go to quarantine with a reason (one mapped task per feed).
2. **match**: find each person across the feeds (and apply 非本人 answers and review decisions);
   fuse one record per person with a status and a measure under the policy (`SCREENFUSE_POLICY`).
3. **publish**: apply the street offices' answers, check zero reports, rate communities, publish
   the warehouse in one transaction, write `outbox/<batch>/` (one list per street office, the
   police tracing list, the review list 复核清单) and the run report `reports/<batch>/index.html`.

#### Batches and re-runs
The batch key is the end of the data interval (`20200210T1300Z`); every task's log starts with it.
Clearing the latest run takes its batch back and runs it again on the same files (same result);
an older interval is refused at `start_batch`. Tasks pass counts and names through XCom, never
personal data.

#### Settings
Warehouse: the connection `screenfuse_warehouse`, else `SCREENFUSE_WAREHOUSE_URL`, else SQLite in
`$SCREENFUSE_HOME`. Run `screenfuse db upgrade` first: runs never create or alter tables.

#### Read more (in the repository)
`README.md` (How a run works) · `docs/hourly.md` (what a run reads and writes) ·
`docs/warehouse.md` (tables and views) · `docs/review.md` (the review desk) ·
`docs/reliability.md` (faults and retries) · `docs/security.md` (personal data)
"""


# what a run updates, for the UI's Assets view and for DAGs that should run after it (data-aware scheduling)
WAREHOUSE = Asset(name="screenfuse_warehouse", uri="screenfuse://warehouse")
OUTBOX = Asset(name="screenfuse_outbox", uri="screenfuse://outbox")
TRACING_LIST = Asset(name="screenfuse_police_tracing_list", uri="screenfuse://outbox/police_tracing")
REPORT = Asset(name="screenfuse_run_report", uri="screenfuse://reports")

# the task log's lines go through logging, not print: Airflow reads a task's stdout apart from its
# log records, so a printed line can land after "Done." (in the UI's collapsed Post Execute group)
log = logging.getLogger("screenfuse.hourly")


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


def _batch():
    from screenfuse.pipeline import batch_id_for

    context = get_current_context()
    return batch_id_for(context["data_interval_end"]), context


def _as_attempt(stage):
    """Run `stage(settings, batch, context, attempt)` as the attempt start_batch began. A copy of
    the batch started later (a retry beside a zombie task) supersedes it: fail, without retries."""
    from airflow.sdk.exceptions import AirflowFailException

    from screenfuse.batch_state import AttemptSuperseded

    batch, context = _batch()
    attempt = context["ti"].xcom_pull(task_ids="start_batch", key="attempt")
    log.info("batch %s (data interval ending %s), attempt %s", batch, context["data_interval_end"], str(attempt)[:8])
    try:
        return stage(_settings(), batch, context, attempt)
    except AttemptSuperseded as exc:
        raise AirflowFailException(str(exc)) from None


@dag(
    dag_id="screenfuse_hourly",
    schedule=CronDataIntervalTimetable("0 * * * *", timezone="UTC"),
    start_date=pendulum.datetime(2020, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "owner": "screenfuse"},
    description="Hourly: ingest and validate the feeds, find each person across them, publish the warehouse "
                "and the street offices' push lists",
    doc_md=DOC,
    tags=["screenfuse", "epidemic", "record-linkage"],
)
def screenfuse_hourly():
    @task
    def start_batch() -> list[str]:
        from airflow.sdk.exceptions import AirflowFailException

        from screenfuse import pipeline
        from screenfuse.schema import WarehouseSchemaError

        batch, context = _batch()
        log.info("batch %s (data interval ending %s)", batch, context["data_interval_end"])
        try:
            started = pipeline.start_batch(_settings(), batch)
            if started["waiting"]:
                log.info("%d file(s) left for a later run: changed within the settle time, they may still be "
                         "being written", started["waiting"])
            context["ti"].xcom_push(key="attempt", value=started["attempt"])
            return started["feeds"]
        except (WarehouseSchemaError, pipeline.BatchOrderError) as exc:
            # the warehouse needs `screenfuse db upgrade`, or the batch is older than the latest
            # published one: retrying will not help
            raise AirflowFailException(str(exc)) from None

    @task_group(group_id="ingest")
    def ingest(feeds):
        @task(map_index_template="{{ feed }}")  # the UI lists the mapped tasks by feed, not 0..n
        def read_feed(feed: str) -> str:
            from screenfuse import stage_ingest

            read = _as_attempt(lambda settings, batch, _, attempt: stage_ingest.ingest_feed(settings, batch, feed, attempt))
            log.info("%s", read)
            return feed

        @task(map_index_template="{{ feed }}")
        def validate_feed(feed: str) -> dict:
            from screenfuse import stage_ingest

            return _as_attempt(lambda settings, batch, _, attempt: stage_ingest.validate_feed(settings, batch, feed, attempt))

        validate_feed.expand(feed=read_feed.expand(feed=feeds))

    @task_group(group_id="match")
    def match():
        @task
        def resolve_identities() -> dict:
            from screenfuse import stage_match

            return _as_attempt(lambda settings, batch, _, attempt: stage_match.resolve(settings, batch, attempt))

        @task
        def fuse_persons() -> dict:
            from screenfuse import stage_match

            return _as_attempt(lambda settings, batch, context, attempt: stage_match.fuse(
                settings, batch, context["data_interval_end"], attempt))

        resolve_identities() >> fuse_persons()

    @task_group(group_id="publish")
    def publish():
        @task
        def plan_push_items() -> dict:
            from screenfuse import stage_publish

            return _as_attempt(lambda settings, batch, context, attempt: stage_publish.plan_push(
                settings, batch, context["data_interval_end"], attempt))

        @task(outlets=[WAREHOUSE])
        def publish_warehouse() -> dict:
            from screenfuse import stage_publish

            return _as_attempt(lambda settings, batch, context, attempt: stage_publish.publish(
                settings, batch, context["run_id"], (context["data_interval_start"], context["data_interval_end"]), attempt))

        @task(outlets=[OUTBOX, TRACING_LIST])
        def write_push_lists() -> dict:
            from screenfuse import stage_outbox

            return _as_attempt(lambda settings, batch, _, attempt: stage_outbox.write_push_lists(settings, batch, attempt))

        @task
        def check_zero_reports() -> dict:
            from screenfuse import stage_publish

            return _as_attempt(lambda settings, batch, context, attempt: stage_publish.check_zero_reports(
                settings, batch, context["data_interval_end"], attempt))

        @task
        def rate_communities() -> dict:
            from screenfuse import stage_publish

            return _as_attempt(lambda settings, batch, _, attempt: stage_publish.rate_communities(settings, batch, attempt))

        @task(outlets=[REPORT])
        def write_report() -> str:
            from screenfuse.run_report import write_report as write

            from screenfuse.config import reports_enabled
            from screenfuse.pipeline import report_policy

            batch, context = _batch()
            log.info("batch %s (data interval ending %s)", batch, context["data_interval_end"])
            if not reports_enabled():
                log.info("run report not written: SCREENFUSE_RUN_REPORT=0")
                return ""
            settings = _settings()
            path = write(settings, batch, report_policy(settings, batch))
            log.info("run report of batch %s: file://%s", batch, path)
            return str(path)

        published = [plan_push_items(), check_zero_reports(), rate_communities()] >> publish_warehouse()
        published >> [write_push_lists(), write_report()]

    @task
    def finish_batch() -> dict:
        from screenfuse import pipeline

        return _as_attempt(lambda settings, batch, _, attempt: pipeline.finish_batch(settings, batch, attempt))

    ingest(start_batch()) >> match() >> publish() >> finish_batch()


screenfuse_hourly()
