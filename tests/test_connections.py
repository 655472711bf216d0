"""Reaching a PostgreSQL warehouse the ways a deployment does: an Airflow connection of type
Postgres (its URI says `postgres://`, which SQLAlchemy does not know), and the async engine
Airflow 3.3 derives for its own metadata on PostgreSQL (`postgresql+asyncpg`)."""
import asyncio
import importlib.util
import json
from pathlib import Path

import pytest
import sqlalchemy as sa

from pg_server import PASSWORD, SUPERUSER
from screenfuse import schema
from screenfuse.config import ConfigError, load_settings, safe_url, settings_from_connection, sqlalchemy_url
from screenfuse.warehouse import engine_for

DAG_FILE = Path(__file__).resolve().parents[1] / "dags" / "screenfuse_hourly.py"


@pytest.mark.parametrize("given, expected", [
    ("postgres://u:p@db:5432/w", "postgresql+psycopg://u:p@db:5432/w"),
    ("postgresql://u:p@db/w?sslmode=require&__extra__=%7B%7D", "postgresql+psycopg://u:p@db/w?sslmode=require"),
    ("postgresql+psycopg://u:p%40ss@db/w", "postgresql+psycopg://u:p%40ss@db/w"),
    ("sqlite:////abs/warehouse.db", "sqlite:////abs/warehouse.db"),
    ("sqlite:///relative.db", "sqlite:///relative.db"),
])
def test_warehouse_urls_become_what_sqlalchemy_with_psycopg_takes(given, expected):
    assert sqlalchemy_url(given) == expected


def test_a_postgres_type_airflow_connection_reaches_the_warehouse(pg_server, monkeypatch, airflow_db):
    """The DAG's settings from AIRFLOW_CONN_SCREENFUSE_WAREHOUSE (conn_type postgres, as the UI
    makes it): the warehouse is migrated and queried through it."""
    name = pg_server.create_database("conn")
    urls = [pg_server.url(name)]
    try:
        monkeypatch.setenv("AIRFLOW_CONN_SCREENFUSE_WAREHOUSE", json.dumps({
            "conn_type": "postgres", "host": "127.0.0.1", "port": pg_server.port, "login": SUPERUSER,
            "password": PASSWORD, "schema": name, "extra": {"sslmode": "disable"}}))
        spec = importlib.util.spec_from_file_location("screenfuse_hourly_dag", DAG_FILE)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        settings = module._settings()
        urls.append(settings.warehouse_url)
        assert settings.warehouse_url.startswith("postgresql+psycopg://")
        assert f"/{name}" in settings.warehouse_url
        schema.upgrade(engine_for(settings.warehouse_url))
        with engine_for(settings.warehouse_url).connect() as conn:
            assert conn.execute(sa.text("SELECT current_database()")).scalar() == name
            assert conn.execute(sa.text("SELECT COUNT(*) FROM person")).scalar() == 0
    finally:
        for url in urls:
            engine_for(url).dispose()
        pg_server.drop_database(name)


def test_airflow_metadata_on_postgresql_has_its_async_driver(pg_server):
    """Airflow 3.3 opens `postgresql+asyncpg://` beside the sync URL of its metadata database:
    asyncpg is installed (requirements.txt) and reaches a real server."""
    from sqlalchemy.ext.asyncio import create_async_engine

    async def ask() -> int:
        engine = create_async_engine(pg_server.url().replace("+psycopg", "+asyncpg"))
        try:
            async with engine.connect() as conn:
                return (await conn.execute(sa.text("SELECT 1"))).scalar()
        finally:
            await engine.dispose()

    assert asyncio.run(ask()) == 1


def _dag_settings():
    spec = importlib.util.spec_from_file_location("screenfuse_hourly_dag", DAG_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._settings()


def test_without_the_connection_the_task_uses_the_environment(monkeypatch, airflow_db, tmp_path):
    monkeypatch.delenv("AIRFLOW_CONN_SCREENFUSE_WAREHOUSE", raising=False)
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", f"sqlite:///{tmp_path}/from-env.db")
    assert _dag_settings().warehouse_url == f"sqlite:///{tmp_path}/from-env.db"


def test_a_connection_that_cannot_be_read_stops_the_task_instead_of_writing_elsewhere(monkeypatch, airflow_db, tmp_path):
    """A defined connection Airflow cannot read (here: broken JSON; in production a secrets
    backend that is down) never falls back to SCREENFUSE_WAREHOUSE_URL or the local SQLite file,
    and the error does not quote the connection (its password)."""
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", f"sqlite:///{tmp_path}/elsewhere.db")
    monkeypatch.setenv("AIRFLOW_CONN_SCREENFUSE_WAREHOUSE",
                       '{"conn_type": "postgres", "host": "db", "password": "s3cret-pw", "login": ')
    with pytest.raises(ConfigError) as raised:
        _dag_settings()
    message = str(raised.value)
    assert "AIRFLOW_CONN_SCREENFUSE_WAREHOUSE" in message and "could not read" in message
    assert "s3cret" not in message and raised.value.__cause__ is None
    assert not (tmp_path / "elsewhere.db").exists()


def test_printed_urls_never_show_the_password():
    assert "s3cret" not in safe_url("postgresql+psycopg://u:s3cret@db:5432/w")
    assert safe_url("postgresql+psycopg://u:s3cret@db:5432/w").startswith("postgresql+psycopg://u:***@db")
    assert "s3cret" not in safe_url("not a url s3cret://x")


def test_a_connection_that_raises_is_named_without_its_secret():
    def unreadable():
        raise RuntimeError("backend said: password=s3cret-pw")

    with pytest.raises(ConfigError) as raised:
        settings_from_connection(unreadable, not_defined=(LookupError,))
    assert "screenfuse_warehouse" in str(raised.value) and "RuntimeError" in str(raised.value)
    assert "s3cret" not in str(raised.value)


def test_with_a_secrets_backend_only_an_explicit_url_is_a_fallback(monkeypatch, tmp_path):
    def not_found():
        raise LookupError("screenfuse_warehouse isn't defined")

    monkeypatch.delenv("AIRFLOW_CONN_SCREENFUSE_WAREHOUSE", raising=False)
    monkeypatch.delenv("SCREENFUSE_WAREHOUSE_URL", raising=False)
    backend = "airflow.providers.hashicorp.secrets.vault.VaultBackend"
    with pytest.raises(ConfigError, match="VaultBackend.*SCREENFUSE_WAREHOUSE_URL"):
        settings_from_connection(not_found, not_defined=(LookupError,), secrets_backend=backend)
    assert settings_from_connection(not_found, not_defined=(LookupError,)).warehouse_url.endswith("warehouse.db")
    monkeypatch.setenv("SCREENFUSE_WAREHOUSE_URL", f"sqlite:///{tmp_path}/chosen.db")
    chosen = settings_from_connection(not_found, not_defined=(LookupError,), secrets_backend=backend)
    assert chosen.warehouse_url == f"sqlite:///{tmp_path}/chosen.db"
