"""The production stack's files, checked without Docker (CI has none): docker-compose.yaml has the
services of Airflow's Celery deployment beside a separate warehouse, every file it mounts exists,
every secret comes from .env (listed in .env.example), ports are bound to 127.0.0.1 by default,
long-running services have healthchecks and restart policies, and the environment names every
variable the project reads (or the project has a packaged default for it)."""
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yaml").read_text(encoding="utf-8"))
SERVICES = COMPOSE["services"]
AIRFLOW = ["airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer", "airflow-worker"]
# variables the project reads that a deployment may leave unset: each has a packaged default
PACKAGED_DEFAULTS = {"SCREENFUSE_WAREHOUSE_URL": "the Airflow connection screenfuse_warehouse wins",
                     "SCREENFUSE_POLICY": "the shipped default policy", "SCREENFUSE_GAZETTEER": "the shipped gazetteer",
                     "SCREENFUSE_UNITS": "the shipped units", "SCREENFUSE_CONTRACTS": "the shipped contracts",
                     "SCREENFUSE_SOUND_FOLDS": "the shipped Wuhan dialect table",
                     "SCREENFUSE_SQLITE_BUSY_SECONDS": "SQLite only: the stack's warehouse is PostgreSQL"}


def test_the_celery_stack_and_a_separate_warehouse_are_there():
    assert set(AIRFLOW) | {"airflow-init", "redis", "airflow-db", "warehouse", "metabase"} <= set(SERVICES)
    for name in AIRFLOW + ["airflow-init"]:
        assert SERVICES[name]["image"] == "screenfuse-airflow:latest" and SERVICES[name]["build"] == "."
        env = SERVICES[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
        assert "@airflow-db/" in env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]  # metadata: its own database
        assert "@warehouse:" in env["AIRFLOW_CONN_SCREENFUSE_WAREHOUSE"]  # the warehouse: another server
    assert SERVICES["airflow-worker"]["command"] == "celery worker"
    for name in AIRFLOW:
        assert SERVICES[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"


def test_the_image_is_built_once_from_the_official_airflow_image():
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r"^FROM apache/airflow:3\.3\.2-python3\.11$", dockerfile, re.M)
    assert "pip install --no-cache-dir -r requirements.txt -c constraints.txt" in dockerfile
    for service in SERVICES.values():  # nothing installed when a container starts
        command = service.get("command")
        text = " ".join(command) if isinstance(command, list) else str(command or "")
        assert "pip install" not in text and "apt-get" not in text


def test_every_mounted_file_exists_and_every_copied_path_is_in_the_repository():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name} mounts {source}, which is not in the repository"
    for line in (ROOT / "Dockerfile").read_text(encoding="utf-8").splitlines():
        if line.startswith("COPY "):
            for path in line.split()[1:-1]:
                if not path.startswith("--"):
                    assert (ROOT / path).exists(), f"Dockerfile copies {path}"


def test_secrets_come_from_env_and_env_example_lists_them():
    text = (ROOT / "docker-compose.yaml").read_text(encoding="utf-8")
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_]+)", text))
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    listed = set(re.findall(r"^([A-Z_]+)=", example, re.M))
    assert used <= listed, f"not in .env.example: {sorted(used - listed)}"
    assert {"AIRFLOW_FERNET_KEY", "AIRFLOW_JWT_SECRET", "AIRFLOW_API_SECRET_KEY"} <= used
    assert ".env" in (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert not (ROOT / ".env").exists() or ".env" not in _tracked()
    env = SERVICES["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__CORE__FERNET_KEY"].startswith("${AIRFLOW_FERNET_KEY:?")  # a missing secret stops compose
    for name, service in SERVICES.items():  # no secret written into the file itself
        for key, value in service.get("environment", {}).items():
            if re.search(r"PASSWORD$|SECRET|FERNET_KEY|SECRET_KEY", key):
                assert str(value).startswith("${"), f"{name}: {key} is not taken from .env"
            if key.endswith(("_CONN", "_URL", "WAREHOUSE")) and "@" in str(value):
                assert re.search(r":\$\{[A-Z_]+(:\?[^}]*)?\}@", str(value)), f"{name}: {key} holds a password"


def test_ports_are_bound_to_loopback_by_default():
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert port.startswith("${BIND_ADDRESS:-127.0.0.1}:"), f"{name} publishes {port} on every interface"


def test_long_running_services_have_healthchecks_and_restart():
    for name, service in SERVICES.items():
        if name == "airflow-init":
            assert service["restart"] == "no"
            continue
        assert "healthcheck" in service, name
        assert service["restart"] == "always", name


def test_the_environment_names_every_variable_the_project_reads():
    read = set()
    for path in list((ROOT / "include" / "screenfuse").rglob("*.py")) + list((ROOT / "dags").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        read |= set(re.findall(r"environ(?:\.get)?[\[(]\"(SCREENFUSE_[A-Z_]+)\"", source))
        read |= set(re.findall(r"packaged_path\(\"(SCREENFUSE_[A-Z_]+)\"", source))
        read |= set(re.findall(r"_ENV = \"(SCREENFUSE_[A-Z_]+)\"", source))
        read |= set(re.findall(r"seconds_from_env\(\"(SCREENFUSE_[A-Z_]+)\"", source))
    assert {"SCREENFUSE_HOME", "SCREENFUSE_LANDING", "SCREENFUSE_POLICY", "SCREENFUSE_SETTLE_SECONDS"} <= read
    env = SERVICES["airflow-worker"]["environment"]
    missing = read - set(env) - set(PACKAGED_DEFAULTS)
    assert not missing, f"read by the project, not set by the stack: {sorted(missing)}"


def _tracked() -> str:
    import subprocess

    return subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout


def test_the_stack_sets_up_the_roles_and_bi_reads_only_the_analytics_layer():
    script = "\n".join(SERVICES["airflow-init"]["command"])
    assert script.index("screenfuse db upgrade") < script.index("screenfuse db roles")
    roles = (ROOT / "deploy" / "warehouse" / "10-roles.sh").read_text(encoding="utf-8")
    bi_grants = [line for line in roles.splitlines() if "screenfuse_bi" in line and line.startswith(("GRANT", "ALTER"))]
    assert bi_grants and all("analytics" in line or "CONNECT ON DATABASE" in line for line in bi_grants)
    for name in AIRFLOW:
        assert "SCREENFUSE_PSEUDONYM_KEY" in SERVICES[name]["environment"]
