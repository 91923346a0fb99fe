"""A planned switchover under load, on a primary and a synchronous streaming standby of the test's own.

`database.url` lists both hosts with `target_session_attrs=read-write`. Events stream in
throughout; the primary stops, comes back as a standby of the other (so for a while every listed
host is a standby), then the other is promoted. pager must answer 503 with Retry-After meanwhile
(never a 500), find the new primary by itself, keep its LISTEN connection coming back, page a P0
that arrives afterwards, and every event it answered 2xx for must be on the promoted server.
"""

from __future__ import annotations

import asyncio
import re
import time

from pager import daemon
from pager.store import db
from tests import support
from tests.support import cluster, stream, twilio_double

CONFIG = """
server: {{public_url: "http://127.0.0.1"}}
notifiers:
  sms: {{from: "+15005550006", api_base: "{twilio}"}}
  console: {{enabled: false}}
priorities:
  P0: {{channels: [sms]}}
"""


async def _metric(client, name: str) -> float:
    text = await (await client.get("/metrics")).text()
    m = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    assert m, f"{name} not exported"
    return float(m[1])


async def _eventually(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := await predicate()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        await asyncio.sleep(0.02)
    return value


async def test_switchover_through_an_all_standby_window_loses_nothing(aiohttp_client):
    with cluster.cluster() as c:
        a = await asyncio.to_thread(c.primary, "a", synchronous_standby_names="*", synchronous_commit="on")
        b = await asyncio.to_thread(c.standby, a, "b")
        await cluster.wait_streaming(a, 1)
        conn = await db.connect(a.url)
        await conn.execute("CREATE DATABASE pager")
        await conn.close()
        url = f"postgresql://postgres@127.0.0.1:{a.port},127.0.0.1:{b.port}/pager?target_session_attrs=read-write"
        try:
            async with twilio_double.running() as twilio:
                env = {**support.ENV, "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token}
                settings = stream.settings(CONFIG.format(twilio=twilio.url), env)
                client = await aiohttp_client(daemon.create_app(settings, database_url=url, run_engine=True))
                await _eventually(lambda: _metric(client, "pager_listener_connected"), 10, "LISTEN connected")
                base = str(client.make_url("")).rstrip("/")

                async with stream.Stream(base, prefix="failover", senders=8, pause=0.005) as events:
                    await events.until_accepted(300)

                    stopped = time.monotonic()
                    await asyncio.to_thread(a.stop, "fast")
                    await asyncio.to_thread(a.follow, b)  # the old primary rejoins as a standby of b ...
                    await asyncio.to_thread(a.start)
                    all_standby = time.monotonic()  # ... while b is still a standby: no host is read-write
                    ready = await client.get("/readyz")
                    assert ready.status == 503 and ready.headers["Retry-After"].isdigit(), await ready.text()
                    assert "TargetServerAttributeNotMatched" in (await ready.json())["detail"]
                    await asyncio.sleep(1.0)
                    assert events.statuses(all_standby) == {503}
                    assert await _metric(client, "pager_listener_connected") == 0

                    await asyncio.to_thread(b.promote)
                    promoted = time.monotonic()
                    await events.until_accepted(300)
                    first_2xx = events.first_accepted_after(promoted)
                    assert first_2xx is not None
                    await cluster.wait_streaming(b, 1)  # a follows b: commits are synchronous again

                trigger = time.monotonic()
                resp = await client.post("/v2/enqueue", json=support.event("trigger", "after-failover-p0"))
                assert resp.status == 202, await resp.text()
                await _eventually(lambda: _async(len(twilio.messages) == 1), 10, "the P0 paged after the failover")
                paged_in = time.monotonic() - trigger
                await _eventually(lambda: _metric(client, "pager_listener_connected"), 10, "LISTEN back")
                assert await _metric(client, "pager_listener_reconnects_total") >= 1

            promoted_conn = await db.connect(b.url_for("pager"))
            try:
                assert not await promoted_conn.fetchval("SELECT pg_is_in_recovery()")
                stored = {r["dedup_key"] for r in await promoted_conn.fetch("SELECT dedup_key FROM incidents")}
            finally:
                await promoted_conn.close()
        except BaseException:
            print(c.logs())
            raise

    lost = sorted(set(events.accepted) - stored)
    during = [x for x in events.answers if stopped <= x.at < promoted]
    print(
        f"\nfailover: {len(events.accepted)} events accepted, {len(lost)} lost; "
        f"{len(during)} answers during the switchover, statuses {sorted({x.status for x in during})}; "
        f"first 2xx {first_2xx - promoted:.3f}s after the promotion; "
        f"P0 after it paged in {paged_in * 1000:.0f} ms"
    )
    assert lost == []
    assert events.server_errors_without_retry_after() == []
    assert events.statuses() <= {0, 202, 503}  # never a 500
    assert "after-failover-p0" in stored


async def _async(value):
    return value
