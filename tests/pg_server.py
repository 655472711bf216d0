"""A private PostgreSQL server for the tests: initdb in a temporary folder, pg_ctl on loopback on a
free port (unix socket in the same folder), one database per test, everything removed at the end.

The binaries are found in SCREENFUSE_PG_BIN, on PATH or in Debian's
/usr/lib/postgresql/<version>/bin (`make test` installs the `postgresql` package when none has them). PostgreSQL refuses to run as root: as
root, the server runs as the `postgres` system user (created if missing) and owns the folder.
"""
from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import warnings
from pathlib import Path

SUPERUSER = "screenfuse_admin"
PASSWORD = "screenfuse-test-only"  # a throwaway cluster on loopback, removed after the tests
SYSTEM_USER = "postgres"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL server could be started; the message says why and what to do."""


def find_bin_dir() -> Path:
    """The folder holding initdb and pg_ctl: SCREENFUSE_PG_BIN if set, else PATH, else the newest
    Debian version folder."""
    chosen = os.environ.get("SCREENFUSE_PG_BIN")
    if chosen:
        if not (Path(chosen) / "initdb").exists():
            raise PostgresUnavailable(f"SCREENFUSE_PG_BIN={chosen} has no initdb")
        return Path(chosen)
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"),
                      key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0)
    if versions:
        return versions[-1].parent
    raise PostgresUnavailable("initdb/pg_ctl not found on PATH nor in /usr/lib/postgresql/*/bin: run `make test` "
                              "(it installs the postgresql package) or `apt-get install postgresql`; "
                              "SCREENFUSE_TEST_PG=0 skips the PostgreSQL tests")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_system_user() -> pwd.struct_passwd:
    try:
        return pwd.getpwnam(SYSTEM_USER)
    except KeyError:
        # two test processes can both try: the one that loses finds the user the other made
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", SYSTEM_USER],
                       check=False, capture_output=True)
        return pwd.getpwnam(SYSTEM_USER)


class PostgresServer:
    def __init__(self) -> None:
        self.bin = find_bin_dir()
        # as root the server's user must reach the folder: /tmp, whatever TMPDIR says
        self.folder = Path(tempfile.mkdtemp(prefix="screenfuse-pg-", dir="/tmp" if os.geteuid() == 0 else None))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = 0
        self._names = itertools.count(1)
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = _ensure_system_user()
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", SYSTEM_USER, "--"]

    def _run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*self._as_user, *args], capture_output=True, text=True, cwd=self.folder)

    def start(self) -> "PostgresServer":
        pwfile = self.folder / "pwfile"
        pwfile.write_text(PASSWORD + "\n")
        if self._as_user:
            user = pwd.getpwnam(SYSTEM_USER)
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        done = self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", SUPERUSER, "--pwfile", str(pwfile),
                         "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C", "--no-sync")
        pwfile.unlink()
        if done.returncode != 0:
            raise PostgresUnavailable(f"initdb failed: {(done.stderr or done.stdout).strip()[-800:]}")
        for _ in range(5):  # a free port can be taken between the probe and the start
            self.port = _free_port()
            options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories={self.folder} "
                       "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
            done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options,
                             "-w", "-t", "60", "start")
            if done.returncode == 0:
                self._options = options
                return self
        log = self.log.read_text(errors="replace")[-800:] if self.log.exists() else ""
        raise PostgresUnavailable(f"pg_ctl start failed: {(done.stderr or done.stdout).strip()[-400:]} {log}")

    def halt(self) -> None:
        """Stop at once, as a crash would: connections cut, open transactions lost, data kept."""
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "60", "stop")
        if done.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl stop failed: {(done.stderr or done.stdout).strip()[-400:]}")

    def resume(self) -> None:
        """Start again after `halt`, on the same port."""
        done = self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", self._options,
                         "-w", "-t", "60", "start")
        if done.returncode != 0:
            raise PostgresUnavailable(f"pg_ctl start failed: {(done.stderr or done.stdout).strip()[-400:]}")

    def stop(self) -> None:
        if self.data.exists():
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)

    def url(self, database: str = "postgres", user: str = SUPERUSER, password: str = PASSWORD) -> str:
        return f"postgresql+psycopg://{user}:{password}@127.0.0.1:{self.port}/{database}"

    def admin(self, *statements: str) -> None:
        """Run statements as the superuser on the maintenance database, outside a transaction."""
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user=SUPERUSER, password=PASSWORD, dbname="postgres",
                             autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)

    def create_database(self, prefix: str = "test") -> str:
        """A new empty database; its name. It sorts text as a Chinese deployment would (ICU
        collation zh, pinyin order), unlike SQLite (code point order): output whose order people
        see must not depend on the database's collation."""
        import psycopg

        name = f"{prefix}_{os.getpid()}_{next(self._names)}"
        try:
            self.admin(f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'zh'")
        except psycopg.Error as exc:  # before PostgreSQL 15, or built without ICU: the server's default
            warnings.warn(f"test databases without ICU collation zh ({str(exc).strip()})", stacklevel=2)
            self.admin(f"CREATE DATABASE {name}")
        return name

    def drop_database(self, name: str) -> None:
        self.admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
