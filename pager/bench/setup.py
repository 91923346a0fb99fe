"""The pager that `pager bench` measures when no --url is given: its configuration, its database, its process.

The bench starts an embedded PostgreSQL under a temporary directory (so it can
read exact figures from the database and tell the daemon's memory from the
database's), a Twilio sink of its own, and `python -m pager run` as a
subprocess with a generated configuration:

- one service and escalation policy per measurement, each routed by a label
  (`bench="ingest"`, `bench="events"`, `page="<k>"`, `bench="late"`,
  `rss="<k>"`), so the phases do not page the same people;
- every alert `severity="critical"` → P0 → SMS through the bench's Twilio sink,
  anything else → P3 → email through the bench's SMTP sink (the storm's
  incidents); no console channel;
- the storm phase's P0 probes go to people and services of their own
  (`probe="<k>"`), and its P3 incidents to others (`storm="<k>"`), who have a
  phone too, so that pages refused by email fall back to SMS;
- the lateness policy has two steps: step 1 pages, step 2 is due
  `late_ack_timeout` after step 1 was paged.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import typing

import aiohttp
import yaml

from pager.bench import twilio_sink, voice
from pager.store import embedded

AM_TOKEN_ENV = "PAGER_BENCH_AM_TOKEN"
EVENTS_KEY_ENV = "PAGER_BENCH_EVENTS_KEY"
TWILIO_SID_ENV = "PAGER_BENCH_TWILIO_SID"
TWILIO_TOKEN_ENV = "PAGER_BENCH_TWILIO_TOKEN"

AM_TOKEN = "bench-alertmanager-token"
EVENTS_KEY = "benchbenchbenchbenchbenchbench01"

PAGE_USERS = 20
"""Pages of the alert → page measurement go round-robin to this many people, one service each, so
that pages rarely share a contact and get bundled (a bundle names incidents only by number)."""
PROBE_USERS = 20
"""The storm phase's P0 probes go round-robin to this many people, one service each, none shared with the storm."""
STORM_USERS = 20
"""The storm's P3 incidents go round-robin to this many people (email, and SMS to fall back to), one service each."""
RSS_SERVICES = 100
"""Alerts of one webhook routed to this many services open this many incidents at once."""
DATABASE = "pager_bench"


def config(
    *,
    listen: str,
    sink_url: str,
    data_dir: pathlib.Path,
    late_ack_timeout: datetime.timedelta,
    smtp: tuple[str, int] | None = None,
    pool_max: int | None = None,
) -> dict[str, typing.Any]:
    """The daemon configuration the bench runs (and prints with --print-config)."""
    seconds = int(late_ack_timeout.total_seconds())

    def user(ident: str, n: int, email: bool = False) -> dict[str, str]:
        out = {"id": ident, "name": ident, "phone": f"+1555010{n:04d}"}
        if email:
            out["email"] = f"{ident}@bench.invalid"
        return out

    def policy(ident: str, *targets: tuple[str, str]) -> dict[str, typing.Any]:
        return {"id": ident, "steps": [{"targets": [t], "ack_timeout": timeout} for t, timeout in targets]}

    users = [
        user("ingest-oncall", 1),
        user("events-oncall", 2),
        user("late-first", 3),
        user("late-second", 4),
        user("rss-oncall", 5),
    ]
    users += [user(f"page-{k}", 100 + k) for k in range(PAGE_USERS)]
    users += [user(f"probe-{k}", 200 + k) for k in range(PROBE_USERS)]
    users += [user(f"storm-{k}", 300 + k, email=True) for k in range(STORM_USERS)]
    policies = [
        policy("bench-ingest", ("user:ingest-oncall", "1h")),
        policy("bench-events", ("user:events-oncall", "1h")),
        policy("bench-late", ("user:late-first", f"{seconds}s"), ("user:late-second", "1h")),
        policy("bench-rss", ("user:rss-oncall", "1h")),
        *(policy(f"bench-page-{k}", (f"user:page-{k}", "1h")) for k in range(PAGE_USERS)),
        *(policy(f"bench-probe-{k}", (f"user:probe-{k}", "1h")) for k in range(PROBE_USERS)),
        *(policy(f"bench-storm-{k}", (f"user:storm-{k}", "1h")) for k in range(STORM_USERS)),
    ]
    # First match wins: the busiest measurements' services come first.
    services = [
        {"id": "bench-ingest", "escalation_policy": "bench-ingest", "matchers": ['bench="ingest"']},
        {"id": "bench-events", "escalation_policy": "bench-events", "matchers": ['bench="events"']},
        *(
            {"id": f"bench-storm-{k}", "escalation_policy": f"bench-storm-{k}", "matchers": [f'storm="{k}"']}
            for k in range(STORM_USERS)
        ),
        *(
            {"id": f"bench-page-{k}", "escalation_policy": f"bench-page-{k}", "matchers": [f'page="{k}"']}
            for k in range(PAGE_USERS)
        ),
        *(
            {"id": f"bench-probe-{k}", "escalation_policy": f"bench-probe-{k}", "matchers": [f'probe="{k}"']}
            for k in range(PROBE_USERS)
        ),
        {"id": "bench-late", "escalation_policy": "bench-late", "matchers": ['bench="late"']},
        *(
            {"id": f"bench-rss-{k}", "escalation_policy": "bench-rss", "matchers": [f'rss="{k}"']}
            for k in range(RSS_SERVICES)
        ),
        {"id": "bench-other", "escalation_policy": "bench-ingest"},
    ]
    database: dict[str, typing.Any] = {"url_env": "PAGER_DATABASE_URL"}
    if pool_max is not None:
        database["pool_max"] = pool_max
    return voice.extend_config(
        {
            "server": {"listen": listen, "public_url": f"http://{listen}"},
            "database": database,
            "data_dir": str(data_dir),
            "users": users,
            "escalation_policies": policies,
            "classification": [{"matchers": ['severity="critical"'], "priority": "P0"}, {"priority": "P3"}],
            "priorities": {
                **{p: {"channels": ["sms"]} for p in ("P0", "P1", "P2")},
                "P3": {"channels": ["email"]},
            },
            "services": services,
            "integrations": [
                {"id": "bench-am", "type": "alertmanager", "token_env": AM_TOKEN_ENV, "service": "bench-other"},
                {"id": "bench-events", "type": "events_v2", "token_env": EVENTS_KEY_ENV, "service": "bench-other"},
            ],
            "notifiers": {
                "sms": {
                    "account_sid_env": TWILIO_SID_ENV,
                    "auth_token_env": TWILIO_TOKEN_ENV,
                    "from": "+15005550006",
                    "api_base": sink_url,
                },
                **({"email": {"host": smtp[0], "port": smtp[1], "from": "pager-bench@bench.invalid"}} if smtp else {}),
                "console": {"enabled": False},
            },
        }
    )


def environment(database_url: str | None = None) -> dict[str, str]:
    env = {
        AM_TOKEN_ENV: AM_TOKEN,
        EVENTS_KEY_ENV: EVENTS_KEY,
        TWILIO_SID_ENV: twilio_sink.ACCOUNT_SID,
        TWILIO_TOKEN_ENV: twilio_sink.AUTH_TOKEN,
    }
    if database_url:
        env["PAGER_DATABASE_URL"] = database_url
    return env


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclasses.dataclass
class Own:
    """A pager started by the bench: where it listens, its process, its database."""

    url: str
    pid: int
    database_url: str
    postgres_pid: int | None
    log_path: pathlib.Path
    workdir: pathlib.Path


def _postmaster_pid(pgdata: pathlib.Path) -> int | None:
    try:
        return int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None


async def _wait_ready(url: str, proc: subprocess.Popen[bytes], log_path: pathlib.Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"pager exited with status {proc.returncode} while starting:\n{_tail(log_path)}")
            try:
                async with session.get(f"{url}/readyz") as r:
                    if r.status == 200:
                        return
            except (TimeoutError, aiohttp.ClientError):
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"pager did not become ready within {timeout:g}s:\n{_tail(log_path)}")
            await asyncio.sleep(0.1)


def _tail(path: pathlib.Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.asynccontextmanager
async def own_pager(
    sink: twilio_sink.TwilioSink,
    *,
    late_ack_timeout: datetime.timedelta,
    smtp: tuple[str, int] | None = None,
    keep: bool = False,
    pool_max: int | None = None,
    ready_timeout: float = 90.0,
) -> typing.AsyncIterator[Own]:
    """An embedded PostgreSQL and `python -m pager run` under a temporary directory, for the block."""

    workdir = pathlib.Path(tempfile.mkdtemp(prefix="pager-bench-"))
    os.chmod(workdir, 0o755)  # PostgreSQL runs as another user when the bench runs as root
    server: embedded.Embedded | None = None
    proc: subprocess.Popen[bytes] | None = None
    log_file = None
    try:
        server = await asyncio.to_thread(embedded.Embedded, workdir / "db", delete_on_stop=not keep)
        await embedded.ensure_database(server.url, DATABASE)
        database_url = server.url_for(DATABASE)
        listen = f"127.0.0.1:{free_port()}"
        path = workdir / "pager.yaml"
        path.write_text(
            yaml.safe_dump(
                config(
                    listen=listen,
                    sink_url=sink.url,
                    data_dir=workdir / "data",
                    late_ack_timeout=late_ack_timeout,
                    smtp=smtp,
                    pool_max=pool_max,
                ),
                sort_keys=False,
            )
        )
        log_path = workdir / "pager.log"
        log_file = open(log_path, "wb")
        env = {**os.environ, **environment(database_url)}
        env.pop("PAGER_CONFIG", None)
        proc = subprocess.Popen(
            [sys.executable, "-m", "pager", "--log-json", "run", "--config", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=workdir,
        )
        url = f"http://{listen}"
        await _wait_ready(url, proc, log_path, ready_timeout)
        yield Own(url, proc.pid, database_url, _postmaster_pid(workdir / "db" / "postgres"), log_path, workdir)
    finally:
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.to_thread(proc.wait, 20)
            except subprocess.TimeoutExpired:
                proc.kill()
                await asyncio.to_thread(proc.wait)
        if log_file is not None:
            log_file.close()
        if server is not None:
            await asyncio.to_thread(server.stop)
        if keep:
            print(f"pager bench: kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
