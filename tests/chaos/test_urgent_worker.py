"""`pager run`'s urgent worker: the P0/P1 lane in a process of its own.

Through a real `pager run`: a P0 goes out by SMS from the worker and a P3 by email from the main
process, and /metrics (served by the main process) counts both pages. When the worker is killed,
the main process works its lane itself, so no page is lost. When the main process is killed, the
worker stops instead of lingering.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import tempfile

import aiohttp
import psutil

from pager import metrics, urgent
from tests import support
from tests.support import daemons, smtp_double, twilio_double, wait

CONFIG = """
server: {{{{listen: "127.0.0.1:{{port}}", public_url: "http://127.0.0.1:{{port}}"}}}}
data_dir: "{{data_dir}}"
users:
  - {{{{id: alice, phone: "+15551230001", email: "alice@example.com"}}}}
escalation_policies:
  - id: alice
    steps:
      - {{{{targets: ["user:alice"], ack_timeout: 1h}}}}
services:
  - {{{{id: web, escalation_policy: alice}}}}
integrations:
  - {{{{id: events, type: events_v2, token_env: PAGER_EVENTS_KEY, service: web}}}}
priorities:
  P0: {{{{channels: [sms]}}}}
  P3: {{{{channels: [email]}}}}
notifiers:
  sms: {{{{from: "+15005550006", api_base: "{twilio}"}}}}
  email: {{{{from: "pager@example.com", host: "127.0.0.1", port: {smtp}, starttls: false}}}}
  console: {{{{enabled: false}}}}
"""


WAIT = 20.0


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _worker(daemon: daemons.Daemon) -> int:
    """The urgent worker's pid, from the main process's log ('urgent worker started', pid=...)."""
    lines = (daemon.dir / "out.log").read_text(errors="replace").splitlines()
    started = [json.loads(x) for x in lines if x.startswith("{") and '"urgent worker started"' in x]
    assert len(started) == 1, f"{len(started)} urgent workers started"
    return int(started[0]["pid"])


async def _trigger(session: aiohttp.ClientSession, daemon: daemons.Daemon, key: str, severity: str) -> None:
    body = support.event("trigger", key, summary=f"{key} broke", severity=severity)
    async with session.post(f"{daemon.url}/v2/enqueue", json=body) as resp:
        assert resp.status == 202, await resp.text()


def _sms_naming(twilio: twilio_double.TwilioDouble, key: str) -> list[str]:
    return [m.body for m in twilio.messages if f"{key} broke" in m.body]


def _mail_naming(mailbox: smtp_double.Mailbox, key: str) -> list[str]:
    return [str(m["Subject"]) for _, _, m in mailbox.received if f"{key} broke" in str(m)]


async def _metric(session: aiohttp.ClientSession, daemon: daemons.Daemon, line: str) -> float:
    async with session.get(f"{daemon.url}/metrics") as resp:
        text = await resp.text()
    for row in text.splitlines():
        if row.startswith(line + " "):
            return float(row.split()[-1])
    return 0.0


def _env(database_url: str, twilio: twilio_double.TwilioDouble) -> dict[str, str]:
    return {
        "PAGER_DATABASE_URL": database_url,
        "PAGER_EVENTS_KEY": support.EVENTS_KEY,
        "TWILIO_ACCOUNT_SID": twilio.account_sid,
        "TWILIO_AUTH_TOKEN": twilio.auth_token,
    }


async def test_a_p0_is_paged_by_the_urgent_worker_a_p3_by_the_main_process_and_both_are_counted(database_url):
    async with twilio_double.running() as twilio:
        with smtp_double.smtp_server() as (mailbox, smtp), tempfile.TemporaryDirectory(prefix="pager-workers-") as tmp:
            config = CONFIG.format(twilio=twilio.url, smtp=smtp)
            async with daemons.running(pathlib.Path(tmp), 1, config, _env(database_url, twilio)) as [daemon]:
                assert daemon.proc is not None
                assert _worker(daemon) in {c.pid for c in psutil.Process(daemon.proc.pid).children()}
                async with aiohttp.ClientSession() as session:
                    await _trigger(session, daemon, "db-down", "critical")
                    await _trigger(session, daemon, "typo", "info")
                    await wait.eventually(lambda: _sms_naming(twilio, "db-down"), WAIT)
                    await wait.eventually(lambda: _mail_naming(mailbox, "typo"), WAIT)
                    sms = 'pager_notifications_total{channel="sms",outcome="sent"}'
                    email = 'pager_notifications_total{channel="email",outcome="sent"}'
                    assert await wait.eventually(lambda: _metric(session, daemon, sms), WAIT) == 1
                    assert await wait.eventually(lambda: _metric(session, daemon, email), WAIT) == 1
                assert _sms_naming(twilio, "typo") == [] and _mail_naming(mailbox, "db-down") == []


async def test_a_killed_worker_loses_no_page_and_a_killed_main_process_takes_its_worker_along(database_url):
    async with twilio_double.running() as twilio:
        with smtp_double.smtp_server() as (mailbox, smtp), tempfile.TemporaryDirectory(prefix="pager-workers-") as tmp:
            config = CONFIG.format(twilio=twilio.url, smtp=smtp)
            async with daemons.running(pathlib.Path(tmp), 1, config, _env(database_url, twilio)) as [daemon]:
                os.kill(_worker(daemon), signal.SIGKILL)
                await wait.eventually(lambda: "urgent worker ended unexpectedly" in daemon.log(100_000), WAIT)
                async with aiohttp.ClientSession() as session:
                    await _trigger(session, daemon, "after-kill", "critical")
                    await _trigger(session, daemon, "after-kill-low", "info")
                    await wait.eventually(lambda: _sms_naming(twilio, "after-kill"), WAIT)
                    await wait.eventually(lambda: _mail_naming(mailbox, "after-kill-low"), WAIT)
                assert len(_sms_naming(twilio, "after-kill")) == 1

            async with daemons.running(pathlib.Path(tmp) / "again", 1, config, _env(database_url, twilio)) as [again]:
                pid = _worker(again)
                again.kill9()
                await wait.eventually(lambda: _gone(pid), WAIT)


def test_waking_the_worker_never_fails_the_ingest_that_asks_even_when_its_pipe_is_full_or_gone():
    """The main process wakes the worker from inside an ingest's answer: a full pipe (a worker busy
    reading) or a broken one (a worker gone, its lane taken over) must never raise there."""
    worker = urgent.UrgentWorker(support.settings(), "postgresql://unused", metrics.Metrics())
    worker.wake()  # not started: nothing to wake
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    worker._wake_fd = write_end
    for _ in range(100_000):  # far more than a pipe holds
        worker.wake()
    assert len(os.read(read_end, 1 << 20)) > 0
    os.close(read_end)
    worker.wake()  # EPIPE: the worker is gone
    os.close(write_end)
