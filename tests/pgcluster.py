"""A private, throwaway PostgreSQL cluster on loopback, for the multi-worker tests and benchmarks.

Uses Debian's ``postgresql`` package (``scripts/setup.sh`` installs it): ``initdb`` into a fresh
temporary folder, ``pg_ctl start`` on a free 127.0.0.1 port with its socket in that folder, one
database, one password-protected role (scram-sha-256, so the URL really carries a password). As
root, the server must run as the ``postgres`` user: every command goes through ``runuser -u
postgres --`` and the folder belongs to that user. ``stop()`` stops the server (immediate mode) and
deletes the folder; use it as a context manager.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

PASSWORD = "s3cret-Pw.0"  # tests assert it is never printed


class Unavailable(RuntimeError):
    """No PostgreSQL server binaries (or no way to run them) on this machine."""


def bindir() -> Path:
    """The folder of initdb/pg_ctl: PATH, else Debian's /usr/lib/postgresql/<newest>/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
                      key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    if not versions:
        raise Unavailable("PostgreSQL is not installed (scripts/setup.sh installs Debian's 'postgresql')")
    return Path(versions[-1]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgCluster:
    """``with PgCluster() as pg: pg.url`` -> ``postgresql://scaler:PASSWORD@127.0.0.1:PORT/scaler``, the
    README's plain form (SQLAlchemy's default driver, psycopg 3); ``url_for(..., driver="psycopg2")`` names one."""

    def __init__(self, durable: bool = False, max_connections: int = 100) -> None:
        self.durable, self.max_connections = durable, max_connections
        self.dir: Path | None = None
        self.port = 0
        self._started = False

    def _run(self, *cmd: str) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run([*prefix, *cmd], capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> PgCluster:
        bin_ = bindir()
        self.dir = Path(tempfile.mkdtemp(prefix="scaler-pg-"))
        if os.geteuid() == 0:
            import pwd

            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise Unavailable("no 'postgres' user to run the server as (install Debian's postgresql)") from None
            os.chown(self.dir, user.pw_uid, user.pw_gid)
            if not shutil.which("runuser"):
                raise Unavailable("runuser is missing (util-linux)")
        os.chmod(self.dir, 0o700)
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORD + "\n")
        if os.geteuid() == 0:
            os.chown(pwfile, user.pw_uid, user.pw_gid)
        data = self.dir / "data"
        done = self._run(str(bin_ / "initdb"), "-D", str(data), "-U", "scaler", "--auth=scram-sha-256",
                         f"--pwfile={pwfile}", "-E", "UTF8", "--no-sync", "--locale=C")
        pwfile.unlink()
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()[-2000:]}")
        options = ["-c listen_addresses=127.0.0.1", f"-c unix_socket_directories={self.dir}",
                   f"-c max_connections={self.max_connections}"]
        if not self.durable:  # a test cluster: nothing to keep after a crash
            options += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        for _attempt in range(3):
            self.port = free_port()
            done = self._run(str(bin_ / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "server.log"), "-w",
                             "-t", "60", "-o", " ".join([f"-p {self.port}", *options]), "start")
            if done.returncode == 0:
                break
        else:
            log = (self.dir / "server.log").read_text(errors="replace")[-2000:] if (self.dir / "server.log").exists() else ""
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()} {log}")
        self._started = True
        self.bin = bin_
        self.create_database("scaler")
        return self

    def url_for(self, database: str, password: str = PASSWORD, driver: str = "") -> str:
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://scaler:{password}@127.0.0.1:{self.port}/{database}"

    @property
    def url(self) -> str:
        return self.url_for("scaler")

    def create_database(self, name: str) -> str:
        import sqlalchemy

        engine = sqlalchemy.create_engine(self.url_for("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        finally:
            engine.dispose()
        return self.url_for(name)

    def stop(self) -> None:
        if self.dir is None:
            return
        if self._started:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
            self._started = False
        for _ in range(3):
            shutil.rmtree(self.dir, ignore_errors=True)
            if not self.dir.exists():
                break
            time.sleep(0.5)
        self.dir = None

    def __enter__(self) -> PgCluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc: object) -> None:
        self.stop()
