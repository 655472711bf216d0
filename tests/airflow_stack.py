"""Airflow's Celery deployment as local processes, for tests/test_celery_stack.py (CI has no Docker):
Redis from the system packages on a free loopback port, and the Airflow services (api-server,
scheduler, dag-processor, Celery workers) as subprocesses of one private AIRFLOW_HOME. Every
process runs in its own process group and writes one log file; `Processes.stop_all` ends them all
(SIGTERM, then SIGKILL). Logs hold counts and names, never personal data (the tasks log counts)."""
from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def worker_hostname() -> str:
    """[core] hostname_callable for the test's workers: the name the test gave the worker.

    Both workers run on one machine, so the default (the machine's FQDN) would name them alike in
    task_instance.hostname; on two machines the FQDNs differ. Each worker gets its own name here
    (SCREENFUSE_STACK_WORKER, set only in that worker's environment), as its own machine would."""
    return os.environ["SCREENFUSE_STACK_WORKER"]


class StackFailure(AssertionError):
    """A process of the stack died or did not come up; the message holds the logs' tails."""


class Processes:
    """Long-running processes, each in its own process group with its log in `folder`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.running: dict[str, subprocess.Popen] = {}

    def start(self, name: str, args: list[str], env: dict, cwd: Path | None = None) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")
        try:
            process = subprocess.Popen(args, env=env, cwd=cwd or self.folder, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, start_new_session=True)
        finally:
            log.close()
        self.running[name] = process
        return process

    def check_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.running.items() if p.poll() is not None}
        if dead:
            raise StackFailure(f"stopped early (exit codes): {dead}\n{self.tails()}")

    def tail(self, name: str, lines: int = 25) -> str:
        path = self.folder / f"{name}.log"
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def tails(self, lines: int = 25) -> str:
        names = sorted(p.stem for p in self.folder.glob("*.log"))
        return "\n".join(f"----- {name}.log (last {lines} lines) -----\n{self.tail(name, lines)}" for name in names)

    def stop_all(self, grace: float = 20.0) -> None:
        """SIGTERM every process group, wait up to `grace` seconds in all, SIGKILL what is left."""
        for process in self.running.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.running.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        for process in self.running.values():
            _signal_group(process, signal.SIGKILL)  # the group's children too (task processes, pool)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.running.clear()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)  # start_new_session: the group id is the leader's pid
    except (ProcessLookupError, PermissionError):
        pass


def start_redis(processes: Processes, folder: Path) -> int:
    """redis-server on a free loopback port, data in `folder`, nothing persisted; its port."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise StackFailure("redis-server not found: run `make test` (it installs the redis-server package) "
                           "or `apt-get install redis-server`; SCREENFUSE_TEST_PG=0 skips the stack test")
    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    processes.start("redis", [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder),
                              "--save", "", "--appendonly", "no", "--protected-mode", "yes"], dict(os.environ), folder)
    wait_for(lambda: _redis_ping(port), 30, "redis-server to answer PING", processes)
    return port


def _redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def wait_for(condition, seconds: float, what: str, processes: Processes, every: float = 1.0):
    """Poll `condition()` until it returns something true (returned), checking that every process
    still runs; a StackFailure with the logs' tails after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        processes.check_alive()
        got = condition()
        if got:
            return got
        if time.monotonic() > deadline:
            raise StackFailure(f"timed out after {seconds:.0f} s waiting for {what}\n{processes.tails()}")
        time.sleep(every)


class AirflowStack:
    """One private Airflow deployment: configuration, the one-shot CLI, the services, the REST API."""

    def __init__(self, home: Path, processes: Processes, settings: dict[str, str]):
        self.home, self.processes = home, processes
        self.api_port = free_port()
        self.admin_password = secrets.token_urlsafe(16)
        home.mkdir(parents=True, exist_ok=True)
        passwords = home / "passwords.json"
        passwords.write_text(json.dumps({"admin": self.admin_password}))
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SCREENFUSE_"))}
        self.env = base | {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__FERNET_KEY": _fernet_key(),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.api_port}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(24),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
            "GX_ANALYTICS_ENABLED": "False",
        } | settings

    def cli(self, *args: str, timeout: float = 180) -> str:
        """A one-shot `airflow ...` command; its output. A failure shows the output's tail."""
        try:
            done = subprocess.run([AIRFLOW, *args], env=self.env, cwd=self.home, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            raise StackFailure(f"airflow {' '.join(args[:3])} did not finish in {timeout:.0f} s") from exc
        if done.returncode != 0:
            raise StackFailure(f"airflow {' '.join(args[:3])} failed ({done.returncode}):\n"
                               f"{(done.stdout + done.stderr)[-3000:]}")
        return done.stdout

    def start(self, name: str, args: list[str], extra_env: dict | None = None, cwd: Path | None = None) -> None:
        self.processes.start(name, [AIRFLOW, *args], self.env | (extra_env or {}), cwd or self.home)

    def start_services(self, workers: dict[str, Path], concurrency: int = 2) -> None:
        """api-server, scheduler, dag-processor, and one Celery worker per name in `workers`, each
        with its own scratch folder (TMPDIR and working directory), task log folder and hostname.
        The workers do not serve logs (`--skip-serve-logs`: two would want one port)."""
        self.start("api-server", ["api-server", "--host", "127.0.0.1", "--port", str(self.api_port), "--workers", "1"])
        self.start("scheduler", ["scheduler"])
        self.start("dag-processor", ["dag-processor"])
        for name, scratch in workers.items():
            scratch.mkdir(parents=True, exist_ok=True)
            (scratch / "tmp").mkdir(exist_ok=True)
            self.start(name, ["celery", "worker", "--celery-hostname", f"{name}@%h", "--concurrency", str(concurrency),
                              "--skip-serve-logs", "--without-gossip", "--without-mingle"],
                       {"TMPDIR": str(scratch / "tmp"), "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(scratch / "logs"),
                        "AIRFLOW__CORE__HOSTNAME_CALLABLE": "airflow_stack.worker_hostname",
                        "SCREENFUSE_STACK_WORKER": name}, cwd=scratch)
        wait_for(lambda: self._get("/api/v2/monitor/health") is not None, 120, "the api-server's health endpoint",
                 self.processes)

    def _get(self, path: str):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.api_port}{path}", timeout=5) as response:
                return json.loads(response.read() or b"null")
        except (urllib.error.URLError, OSError, ValueError):
            return None

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """A call to the REST API as the admin (SimpleAuthManager's token)."""
        token = self._request("POST", "/auth/token", {"username": "admin", "password": self.admin_password})
        return self._request(method, path, body, token["access_token"])

    def _request(self, method: str, path: str, body: dict | None, token: str | None = None) -> dict:
        headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {token}"} if token else {})
        request = urllib.request.Request(f"http://127.0.0.1:{self.api_port}{path}", method=method, headers=headers,
                                         data=json.dumps(body).encode() if body is not None else None)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raise StackFailure(f"{method} {path}: HTTP {exc.code} {exc.read()[:500]!r}") from None


def _fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()
