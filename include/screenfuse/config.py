"""Where things are: data folders and the warehouse URL, from the environment.

SCREENFUSE_HOME          root of the data folders (default: <project>/data)
SCREENFUSE_LANDING       landing folder with one sub-folder per feed (default: $SCREENFUSE_HOME/landing)
SCREENFUSE_WAREHOUSE_URL any SQLAlchemy URL (default: SQLite at $SCREENFUSE_HOME/warehouse.db);
                         in Airflow the connection `screenfuse_warehouse` wins when it is defined

Durations (`seconds_from_env`): SCREENFUSE_SETTLE_SECONDS (landing.py), SCREENFUSE_SQLITE_BUSY_SECONDS
(warehouse.py). Sizes (`number_from_env`): SCREENFUSE_STAGE_PROCESS_MB (stage_process.py),
SCREENFUSE_BULK_SCRATCH_ROWS (sqlite_bulk.py).
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SQL_DIR = PROJECT_ROOT / "sql"
WAREHOUSE_CONNECTION = "screenfuse_warehouse"  # the Airflow connection the DAGs read
log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A setting is wrong; the message names the variable and the fix."""


@dataclass(frozen=True)
class Settings:
    home: Path
    landing: Path
    warehouse_url: str
    # the analytics layer's HMAC key (screenfuse.pseudonyms); never printed, never stored
    pseudonym_key: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def outbox(self) -> Path:
        return self.home / "outbox"

    @property
    def quarantine(self) -> Path:
        return self.home / "quarantine"

    @property
    def reports(self) -> Path:
        """The run reports (screenfuse.run_report): one HTML page per batch."""
        return self.home / "reports"


def seconds_from_env(name: str, default: float) -> float:
    """A duration in seconds (≥ 0) from the environment variable `name`, else `default`."""
    return number_from_env(name, default, "seconds")


def number_from_env(name: str, default: float, unit: str) -> float:
    """A number of `unit` (≥ 0) from the environment variable `name`, else `default`."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1
    if not value >= 0:  # negative, or not a number at all (nan)
        raise ConfigError(f"{name}={text!r} is not a number of {unit} ≥ 0; e.g. {default:g}")
    return value


REPORTS_VARIABLE = "SCREENFUSE_RUN_REPORT"


def reports_enabled() -> bool:
    """Whether each run writes its HTML report (SCREENFUSE_RUN_REPORT: 1, the default, or 0)."""
    text = os.environ.get(REPORTS_VARIABLE, "1").strip() or "1"
    if text not in ("0", "1"):
        raise ConfigError(f"{REPORTS_VARIABLE}={text!r} is neither 1 (write each run's report) nor 0 (do not)")
    return text == "1"


def packaged_path(env_var: str, relative: str) -> Path:
    """A file or folder shipped inside the package, unless `env_var` names another."""
    from importlib import resources

    override = os.environ.get(env_var)
    return Path(override) if override else Path(str(resources.files("screenfuse") / relative))


def data_folders() -> tuple[Path, Path]:
    """The data home and the landing folder the environment names (the defaults above): what
    `screenfuse generate` writes into is what `screenfuse run` reads, whatever the working folder."""
    home = Path(os.environ.get("SCREENFUSE_HOME") or PROJECT_ROOT / "data").resolve()
    return home, Path(os.environ.get("SCREENFUSE_LANDING") or home / "landing").resolve()


def load_settings(warehouse_url: str | None = None) -> Settings:
    """Settings from the environment; `warehouse_url` (e.g. from an Airflow connection) wins."""
    home, landing = data_folders()
    url = warehouse_url or os.environ.get("SCREENFUSE_WAREHOUSE_URL") or f"sqlite:///{home / 'warehouse.db'}"
    if "://" not in url:
        raise ConfigError(
            "SCREENFUSE_WAREHOUSE_URL is not a SQLAlchemy URL; use e.g. "
            "sqlite:////abs/path/warehouse.db or postgresql+psycopg://user:pass@host/db"
        )
    from screenfuse.pseudonyms import key_from_env

    return Settings(home=home, landing=landing, warehouse_url=sqlalchemy_url(url), pseudonym_key=key_from_env())


def settings_from_connection(connection_uri, not_defined: tuple[type[BaseException], ...] = (),
                             secrets_backend: str = "", key_password=None) -> Settings:
    """Settings for a task running in Airflow: `connection_uri()` (the URI of the connection
    `screenfuse_warehouse`, any type: a Postgres one from the UI works) if it gives one, else the
    environment. A task never writes to another warehouse than the one meant without a word:
    Airflow reports a connection it could not read (bad JSON in AIRFLOW_CONN_SCREENFUSE_WAREHOUSE,
    a secrets backend that is down) as not defined, so "not defined" (`not_defined`, Airflow's
    AirflowNotFoundException) falls back only when no such variable is set and, with a secrets
    backend configured, only to a SCREENFUSE_WAREHOUSE_URL set on purpose. `key_password()`: the
    password of the connection holding the pseudonym key, if any (screenfuse.pseudonyms)."""
    variable = "AIRFLOW_CONN_" + WAREHOUSE_CONNECTION.upper()
    source = f"Airflow connection {WAREHOUSE_CONNECTION}"
    try:
        url = connection_uri()
    except not_defined:
        url, explicit = None, os.environ.get("SCREENFUSE_WAREHOUSE_URL")
        if os.environ.get(variable):
            raise ConfigError(f"{variable} is set but Airflow could not read it (its reason is in the task log above): "
                              "this task stops rather than write to another warehouse; fix the variable "
                              "(a URI, or JSON with conn_type), or unset it to use SCREENFUSE_WAREHOUSE_URL") from None
        if secrets_backend and not explicit:
            raise ConfigError(f"the Airflow connection {WAREHOUSE_CONNECTION} was not found and a secrets backend "
                              f"({secrets_backend.rsplit('.', 1)[-1]}) is configured: this task stops rather than "
                              "write to the local SQLite file; define the connection, or set SCREENFUSE_WAREHOUSE_URL") from None
        source = "SCREENFUSE_WAREHOUSE_URL" if explicit else "the default SQLite file"
    except Exception as exc:  # its message may quote the secret: only its type is shown
        raise ConfigError(
            f"the Airflow connection {WAREHOUSE_CONNECTION} is defined but could not be read ({type(exc).__name__}): "
            "this task stops rather than write to another warehouse; fix the connection (Admin > Connections, "
            f"{variable} or the secrets backend), or delete it to use SCREENFUSE_WAREHOUSE_URL"
        ) from None
    settings = load_settings(url)
    log.info("warehouse %s, from %s", safe_url(settings.warehouse_url), source)
    if key_password is not None:
        from dataclasses import replace

        from screenfuse.pseudonyms import key_for_task

        settings = replace(settings, pseudonym_key=key_for_task(key_password, not_defined))
    return settings


def safe_url(url: str) -> str:
    """A URL without its password, fit for printing."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: nothing of it is shown
        return "(a URL SQLAlchemy cannot read)"


def sqlalchemy_url(url: str) -> str:
    """A warehouse URL as SQLAlchemy 2 with psycopg 3 takes it. An Airflow connection of type
    Postgres gives `postgres://…` (a scheme SQLAlchemy does not know) and `postgresql://` means
    psycopg2 to SQLAlchemy (not installed); both become `postgresql+psycopg://`. The extras Airflow
    appends (`__extra__=…`) are dropped: they are the connection's, not the driver's."""
    scheme, rest = url.split("://", 1)
    if scheme not in ("postgres", "postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        return url
    base, _, query = rest.partition("?")
    kept = "&".join(p for p in query.split("&") if p and not p.startswith("__extra__="))
    return f"postgresql+psycopg://{base}" + (f"?{kept}" if kept else "")
