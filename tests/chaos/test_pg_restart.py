"""PostgreSQL restarted under a steady stream of events: 503 with Retry-After while it is down, 2xx
again within 5 s of it being back, nothing answered 2xx lost, and an escalation step that fell due
during the outage paged once it is over.
"""

from __future__ import annotations

import asyncio
import time

from pager import daemon
from pager.store import db
from tests import support
from tests.support import cluster, http, stream, twilio_double

BACK_WITHIN = 5.0  # seconds from the database accepting connections to pager answering 2xx again

CONFIG = """
server: {{public_url: "http://127.0.0.1"}}
escalation_policies:
  - id: web
    steps:
      - {{targets: ["user:alice"], ack_timeout: 1s}}
      - {{targets: ["user:bob"], ack_timeout: 1h}}
notifiers:
  sms: {{from: "+15005550006", api_base: "{twilio}"}}
  console: {{enabled: false}}
priorities:
  P0: {{channels: [sms]}}
"""


async def _until(predicate, what: str, timeout: float):
    deadline = time.monotonic() + timeout
    while not (value := await predicate()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout}s"
        await asyncio.sleep(0.02)
    return value


async def _now(value):
    return value


async def test_postgresql_restart_under_load_is_a_503_then_nothing_is_lost(aiohttp_client):
    with cluster.cluster() as c:
        pg = await asyncio.to_thread(c.primary, "pg")
        conn = await db.connect(pg.url)
        await conn.execute("CREATE DATABASE pager")
        await conn.close()
        try:
            async with twilio_double.running() as twilio:
                env = {**support.ENV, "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token}
                settings = stream.settings(CONFIG.format(twilio=twilio.url), env)
                app = daemon.create_app(settings, database_url=pg.url_for("pager"), run_engine=True)
                client = await aiohttp_client(app)
                base = str(client.make_url("")).rstrip("/")

                async with stream.Stream(base, prefix="restart", senders=8, pause=0.005) as events:
                    await events.until_accepted(200, timeout=20)
                    incident = await http.open_incident(client, "checkout down", service="web", priority="P0")
                    await _until(lambda: _now(len(twilio.messages) == 1), "alice paged (step 1)", 10)

                    down = time.monotonic()
                    await asyncio.to_thread(pg.stop, "fast")
                    stopped = time.monotonic()
                    ready = await client.get("/readyz")
                    assert ready.status == 503 and ready.headers["Retry-After"].isdigit()
                    await asyncio.sleep(1.5)  # bob's step falls due while the database is down
                    assert events.statuses(stopped) == {503}

                    await asyncio.to_thread(pg.start)
                    back = time.monotonic()
                    await events.until_accepted(50, timeout=BACK_WITHIN)
                    first_2xx = events.first_accepted_after(back)
                    assert first_2xx is not None

                await _until(lambda: _now(len(twilio.messages) == 2), "bob paged (step 2) after the outage", 10)
                assert [m.to for m in twilio.messages] == ["+15551230001", "+15551230002"]
                assert f"#{incident}" in twilio.messages[1].body

            check = await db.connect(pg.url_for("pager"))
            try:
                stored = {r["dedup_key"] for r in await check.fetch("SELECT dedup_key FROM incidents")}
            finally:
                await check.close()
        except BaseException:
            print(c.logs())
            raise

    lost = sorted(set(events.accepted) - stored)
    print(
        f"\nrestart: {len(events.accepted)} accepted, {len(lost)} lost; database down {back - down:.2f}s; "
        f"first 2xx {first_2xx - back:.3f}s after it was back"
    )
    assert lost == []
    assert events.server_errors_without_retry_after() == []
    assert events.statuses() <= {202, 503}
