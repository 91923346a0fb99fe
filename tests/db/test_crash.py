"""The escalation timer is durable: `kill -9` the real daemon mid-walk, restart it, and nothing is lost or doubled.

This runs `python -m pager run` as a subprocess on the test's own database, with
real (short) ack timeouts on the system clock, and reads the outcome from the
`notifications` outbox and the `incident_log` timeline.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import os
import signal
import socket
import subprocess
import sys
import typing

import aiohttp

from tests import support

STEP = datetime.timedelta(seconds=1)  # every step's ack_timeout
WALK = [(0, 0, "alice"), (0, 1, "bob"), (0, 2, "carol"), (1, 0, "alice"), (1, 1, "bob"), (1, 2, "carol")]

CONFIG = """
server: {{listen: "127.0.0.1:{port}", public_url: "http://127.0.0.1:{port}"}}
data_dir: "{data_dir}"
users:
  - {{id: alice, name: Alice, phone: "+15551230001", email: alice@example.com}}
  - {{id: bob, name: Bob, phone: "+15551230002", email: bob@example.com}}
  - {{id: carol, name: Carol, phone: "+15551230003", email: carol@example.com}}
escalation_policies:
  - id: crash
    repeat: 1
    steps:
      - {{targets: ["user:alice"], ack_timeout: 1s}}
      - {{targets: ["user:bob"], ack_timeout: 1s}}
      - {{targets: ["user:carol"], ack_timeout: 1s}}
services:
  - {{id: web, escalation_policy: crash}}
integrations:
  - {{id: prod-am, type: alertmanager, token_env: PAGER_AM_TOKEN, service: web}}
priorities:
  P0: {{channels: [console]}}
notifiers:
  console: {{enabled: true}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def eventually(
    predicate: typing.Callable[[], typing.Awaitable[typing.Any]],
    timeout: float,
    what: str,
    proc: subprocess.Popen[bytes] | None = None,
) -> typing.Any:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the daemon exited with {proc.returncode} while waiting for {what}")
        if loop.time() > deadline:
            raise AssertionError(f"{what}: not reached within {timeout}s")
        await asyncio.sleep(0.02)


class Daemon:
    """`python -m pager run` in a subprocess; output goes to files in tmp_path for the failure message."""

    def __init__(self, tmp_path: typing.Any, database_url: str) -> None:
        self.port = free_port()
        self.tmp = tmp_path
        self.config = tmp_path / "pager.yaml"
        self.config.write_text(CONFIG.format(port=self.port, data_dir=tmp_path / "data"))
        self.env = {**os.environ, "PAGER_DATABASE_URL": database_url, "PAGER_AM_TOKEN": support.AM_TOKEN}
        self.env.pop("PAGER_CONFIG", None)
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None
        self.runs = 0

    def start(self) -> subprocess.Popen[bytes]:
        self.runs += 1
        with open(self.tmp / f"run{self.runs}.out", "wb") as out, open(self.tmp / f"run{self.runs}.err", "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "pager", "--log-json", "run", "--config", str(self.config)],
                env=self.env,
                cwd=self.tmp,
                stdout=out,
                stderr=err,
                stdin=subprocess.DEVNULL,
            )
        return self.proc

    def kill9(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=10)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in sorted(self.tmp.glob("run*.*"))
        )

    async def ready(self, session: aiohttp.ClientSession) -> None:
        async def answered() -> bool:
            try:
                async with session.get(f"{self.url}/readyz") as resp:
                    return resp.status == 200
            except aiohttp.ClientError:
                return False

        await eventually(answered, 20, "GET /readyz answering 200", self.proc)


async def test_kill_9_mid_walk_then_restart_fires_every_overdue_step_once_in_order(tmp_path, database_url, pool):
    daemon = Daemon(tmp_path, database_url)

    async def walk() -> list[typing.Any]:
        return await pool.fetch("SELECT id, round, step, user_id, channel, created_at FROM notifications ORDER BY id")

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as session:
            daemon.start()
            await daemon.ready(session)
            body = support.am_payload([("fp1", "firing", {"severity": "critical"})])
            async with session.post(f"{daemon.url}/v1/webhooks/alertmanager", data=body, headers=support.AM) as resp:
                assert resp.status == 200, await resp.text()

            [first] = await eventually(walk, 10, "round 0 step 0 paged", daemon.proc)
            daemon.kill9()  # mid-walk: step 2 is due a second after step 1 was paged
            killed_at = datetime.datetime.now(datetime.UTC)
            assert (first["round"], first["step"], first["user_id"]) == (0, 0, "alice")
            [incident] = await pool.fetch("SELECT id, priority, next_escalation_at FROM incidents")
            assert incident["priority"] == 0
            assert incident["next_escalation_at"] == first["created_at"] + STEP  # the timer outlives the process

            await asyncio.sleep(3.5)  # steps 2, 3 and round 2's step 1 fall due while nobody runs
            assert len(await walk()) == 1, "a page was queued while the daemon was dead"

            restarted_at = datetime.datetime.now(datetime.UTC)
            daemon.start()
            rows = await eventually(lambda: _at_least(walk, len(WALK)), 15, "all six pages", daemon.proc)

            async def exhausted() -> bool:
                return bool(
                    await pool.fetchval(
                        "SELECT count(*) FROM incident_log WHERE incident_id = $1 AND kind = 'exhausted'",
                        incident["id"],
                    )
                )

            await eventually(exhausted, 10, "the walk exhausted", daemon.proc)
            rows = await walk()
    except BaseException:
        daemon.stop()
        print(daemon.logs())
        raise
    finally:
        daemon.stop()

    keys = [(r["round"], r["step"], r["user_id"]) for r in rows]
    assert keys == WALK  # each (round, step) once, none skipped, in order of notifications.id
    assert {r["channel"] for r in rows} == {"console"}

    # step k was due at the first page + k ack timeouts (the schedule is anchored, not stretched by the outage)
    opened = rows[0]["created_at"]
    overdue = [r for k, r in enumerate(rows) if k > 0 and opened + k * STEP < restarted_at]
    assert len(overdue) >= 3, f"expected at least 3 overdue steps, got {[(r['round'], r['step']) for r in overdue]}"
    for r in overdue:
        assert r["created_at"] >= restarted_at, f"step {(r['round'], r['step'])} queued before the restart"
    spread = max(r["created_at"] for r in overdue) - min(r["created_at"] for r in overdue)
    assert spread < datetime.timedelta(seconds=2), f"overdue steps trickled out over {spread}"
    # the steps that were not overdue yet still kept their place after the burst
    assert all(r["created_at"] >= overdue[-1]["created_at"] for r in rows[len(overdue) + 1 :])
    assert killed_at < restarted_at
    for k, r in enumerate(rows):  # and no step ever fired before its instant
        assert r["created_at"] >= opened + k * STEP, f"step {(r['round'], r['step'])} fired early"

    log = await pool.fetch("SELECT kind FROM incident_log WHERE incident_id = $1 ORDER BY id", incident["id"])
    engine_kinds = [r["kind"] for r in log if r["kind"] in ("escalated", "repeated", "exhausted")]
    assert engine_kinds == ["escalated"] * 3 + ["repeated"] + ["escalated"] * 3 + ["exhausted"]
    assert log[0]["kind"] == "triggered"
    final = await pool.fetchrow("SELECT status, next_escalation_at FROM incidents WHERE id = $1", incident["id"])
    assert (final["status"], final["next_escalation_at"]) == ("triggered", None)


async def _at_least(walk: typing.Callable[[], typing.Awaitable[list[typing.Any]]], n: int) -> list[typing.Any] | None:
    rows = await walk()
    return rows if len(rows) >= n else None
