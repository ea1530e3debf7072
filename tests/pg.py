"""A real PostgreSQL server for the tests, started from Debian's binaries in a temporary folder.

`PostgresServer` runs initdb and postgres as the `postgres` system user when the tests run as root
(initdb refuses root), listening on 127.0.0.1 on a free port and on a unix socket inside the folder,
with trust authentication. Each test gets a fresh database whose default collation is ICU `en-US`
(linguistic, not byte order) where the server has ICU, so a query that forgets `COLLATE "C"` shows.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa

START_SECONDS = 30
# The README's URL forms: `postgresql://` is psycopg 3 (SQLAlchemy 2.1's default, what the `postgres`
# extra installs), also spelled `postgresql+psycopg://`; `postgresql+psycopg2://` stays supported.
URL_SCHEMES = ("postgresql", "postgresql+psycopg", "postgresql+psycopg2")


def postgres_bin() -> Path | None:
    """The newest Debian postgresql bin folder (/usr/lib/postgresql/N/bin), if installed."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    return Path(found[-1]).parent if found else None


def has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """initdb + postgres in a temporary folder owned by a non-root user; `stop()` removes it all."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="transit-snapshot-pg-"))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as_user: list[str] = []
        if os.geteuid() == 0:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
            self._as_user = ["runuser", "-u", "postgres", "--"]
        self._databases = 0

    def _run(self, args: Sequence[str]) -> None:
        done = subprocess.run(
            [*self._as_user, *args], capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> None:
        self._run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data),
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        )
        options = (
            f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off"
        )
        self._run(
            [
                str(self.bin_dir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.root / "log"),
                "-o",
                options,
                "-w",
                "-t",
                str(START_SECONDS),
                "start",
            ]
        )

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "stop"])
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres", scheme: str = "postgresql") -> str:
        return f"{scheme}://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self, scheme: str = "postgresql") -> str:
        """A fresh empty database; its URL, with `scheme` (one of URL_SCHEMES)."""
        self._databases += 1
        name = f"gtfs_{self._databases}"
        admin = sa.create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                try:
                    conn.exec_driver_sql(
                        f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu "
                        "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
                    )
                except sa.exc.DBAPIError:  # a server built without ICU: its default collation then
                    conn.exec_driver_sql(f"CREATE DATABASE {name} TEMPLATE template0")
        finally:
            admin.dispose()
        return self.url(name, scheme)


def wait_for(url: str, seconds: float = START_SECONDS) -> None:
    """Until a connection to `url` succeeds (a server given by the environment may still be starting)."""
    deadline = time.monotonic() + seconds
    engine = sa.create_engine(url)
    try:
        while True:
            try:
                with engine.connect():
                    return
            except sa.exc.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
    finally:
        engine.dispose()
