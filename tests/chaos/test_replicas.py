"""kill -9 of one of three real `pager run` replicas mid-escalation: the other two carry every step on.

Each step must still be paged exactly once (one SMS naming the incident reaches each step's
person) and at most 2 s after it fell due. There is no leader to elect: the survivors claim the
timers with FOR UPDATE SKIP LOCKED, and PostgreSQL releases whatever the dead one held.
"""

from __future__ import annotations

import asyncio
import datetime
import pathlib
import re
import tempfile
import time

import aiohttp

from tests import support
from tests.support import daemons, twilio_double

STEP = datetime.timedelta(seconds=1)
PEOPLE = {"alice": "+15551230001", "bob": "+15551230002", "carol": "+15551230003"}
INCIDENTS = 4

CONFIG = """
server: {{{{listen: "127.0.0.1:{{port}}", public_url: "http://127.0.0.1:{{port}}"}}}}
data_dir: "{{data_dir}}"
users:
  - {{{{id: alice, phone: "+15551230001"}}}}
  - {{{{id: bob, phone: "+15551230002"}}}}
  - {{{{id: carol, phone: "+15551230003"}}}}
escalation_policies:
  - id: walk
    steps:
      - {{{{targets: ["user:alice"], ack_timeout: 1s}}}}
      - {{{{targets: ["user:bob"], ack_timeout: 1s}}}}
      - {{{{targets: ["user:carol"], ack_timeout: 1h}}}}
services:
  - {{{{id: web, escalation_policy: walk}}}}
integrations:
  - {{{{id: events, type: events_v2, token_env: PAGER_EVENTS_KEY, service: web}}}}
priorities:
  P0: {{{{channels: [sms]}}}}
notifiers:
  sms: {{{{from: "+15005550006", api_base: "{twilio}"}}}}
  console: {{{{enabled: false}}}}
"""


async def _until(predicate, what: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (value := await predicate()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        await asyncio.sleep(0.02)
    return value


async def test_kill_9_of_one_replica_mid_escalation_pages_every_step_once_and_on_time(database_url, pool):
    async with twilio_double.running() as twilio:
        env = {
            "PAGER_DATABASE_URL": database_url,
            "PAGER_EVENTS_KEY": support.EVENTS_KEY,
            "TWILIO_ACCOUNT_SID": twilio.account_sid,
            "TWILIO_AUTH_TOKEN": twilio.auth_token,
        }
        config = CONFIG.format(twilio=twilio.url)
        with tempfile.TemporaryDirectory(prefix="pager-replicas-") as tmp:
            async with daemons.running(pathlib.Path(tmp), 3, config, env) as (victim, *survivors):
                async with aiohttp.ClientSession() as session:
                    for k in range(INCIDENTS):
                        body = support.event("trigger", f"walk-{k}", summary=f"walk {k}")
                        async with session.post(f"{victim.url}/v2/enqueue", json=body) as resp:
                            assert resp.status == 202, await resp.text()

                async def step_sent(step: int) -> bool:
                    n = await pool.fetchval(
                        "SELECT count(*) FROM notifications WHERE step = $1 AND status IN ('sent', 'delivered')", step
                    )
                    return n == INCIDENTS

                await _until(lambda: step_sent(0), "step 1 paged on every incident")
                victim.kill9()  # step 2 falls due within the second; the victim may have been about to fire it
                killed = datetime.datetime.now(datetime.UTC)
                await _until(lambda: step_sent(2), "step 3 paged on every incident")
                await asyncio.sleep(0.5)  # room for a duplicate to show up
                assert all(d.proc is not None and d.proc.poll() is None for d in survivors)

    rows = await pool.fetch(
        "SELECT incident_id, round, step, user_id, status, created_at, sent_at FROM notifications ORDER BY id"
    )
    by_incident: dict[int, list] = {}
    for r in rows:
        by_incident.setdefault(r["incident_id"], []).append(r)
    assert len(by_incident) == INCIDENTS
    late = []
    for incident_id, pages in by_incident.items():
        assert [(p["round"], p["step"], p["user_id"]) for p in pages] == [
            (0, 0, "alice"),
            (0, 1, "bob"),
            (0, 2, "carol"),
        ]
        for prev, page in zip(pages, pages[1:]):
            due = prev["created_at"] + STEP  # the engine anchors the next step at the instant it paged this one
            late.append((page["sent_at"] - due).total_seconds())
        for user, phone in PEOPLE.items():
            named = [m for m in twilio.messages if m.to == phone and incident_id in _numbers(m.body)]
            assert len(named) == 1, f"{user} got {len(named)} SMS naming incident {incident_id}"
    after_kill = [r for r in rows if r["step"] > 0 and r["created_at"] > killed]
    print(f"\nreplicas: kill -9 at {killed:%H:%M:%S.%f}; steps 2-3 paged at most {max(late):.3f}s after due")
    assert after_kill, "no step fell due after the kill: the test did not test a takeover"
    assert max(late) <= 2.0


def _numbers(body: str) -> set[int]:
    return {int(n) for n in re.findall(r"#(\d+)", body)}
