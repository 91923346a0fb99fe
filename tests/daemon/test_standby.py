"""Every listed host a standby (a switchover's middle): 503 with Retry-After, and everything comes back by itself.

A database whose sessions default to read-only is what asyncpg's `target_session_attrs=read-write`
check sees on a standby, so it refuses every connection with TargetServerAttributeNotMatched, as it
does when the old primary is back as a standby before the other one is promoted.
"""

from __future__ import annotations

import asyncio
import re
import urllib.parse

from pager.store import db
from tests import support
from tests.support import http, twilio_double


def _read_write(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    query = "&".join(q for q in (parts.query, "target_session_attrs=read-write") if q)
    return urllib.parse.urlunsplit(parts._replace(query=query))


async def _set_read_only(pool, on: bool) -> None:
    name = await pool.fetchval("SELECT current_database()")
    if on:
        await pool.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    else:
        await pool.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
    # Sessions keep what they started with: end them, as a server that turns standby does.
    await pool.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()", name
    )


async def _metric(client, name: str) -> float:
    text = await (await client.get("/metrics")).text()
    m = re.search(rf"^{name} ([0-9.e+-]+)$", text, re.M)
    assert m, f"{name} not exported"
    return float(m[1])


async def _eventually(predicate, timeout: float = 15.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while not (value := await predicate()):
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)
    return value


async def test_only_standbys_answer_503_then_recover_and_the_listener_comes_back(make_client, database_url, pool):
    client = await make_client(database_url=_read_write(database_url), run_engine=True)
    assert (await http.post_am(client, support.am_payload([("a", "firing", {})], group_key="before"))).status == 200
    await _eventually(lambda: _metric(client, "pager_listener_connected"))

    await _set_read_only(pool, True)
    resp = await http.post_am(client, support.am_payload([("b", "firing", {})], group_key="during"))
    assert resp.status == 503, await resp.text()
    assert resp.headers["Retry-After"].isdigit()
    ready = await client.get("/readyz")
    assert ready.status == 503 and ready.headers["Retry-After"].isdigit()

    async def refused_by_every_host() -> bool:  # once the pooled connections the server ended are gone
        ready = await client.get("/readyz")
        assert ready.status == 503
        return "TargetServerAttributeNotMatched" in (await ready.json())["detail"]

    await _eventually(refused_by_every_host)
    events = await client.post("/v2/enqueue", json=support.event("trigger", "during-ev"))
    assert events.status == 503 and events.headers["Retry-After"].isdigit()
    assert (await client.get("/api/v1/incidents", headers=support.API)).status == 503
    assert (await client.get("/healthz")).status == 200
    await _eventually(lambda: _is_zero(client, "pager_listener_connected"))

    await _set_read_only(pool, False)
    resp = await http.post_am(client, support.am_payload([("b", "firing", {})], group_key="during"))
    assert resp.status == 200, await resp.text()  # the sender's retry lands
    assert (await client.get("/readyz")).status == 200
    await _eventually(lambda: _metric(client, "pager_listener_connected"))
    assert await _metric(client, "pager_listener_reconnects_total") == 1
    assert sorted(i["dedup_key"] for i in await http.incidents(client)) == ["before", "during"]


async def _is_zero(client, name: str) -> bool:
    return await _metric(client, name) == 0


async def test_a_p0_is_paged_at_once_while_listen_is_still_down(make_client, monkeypatch):
    """The replica that commits an incident wakes its own engine: no NOTIFY, no 30 s safety re-check needed."""
    connects = []

    async def never_up(self) -> None:  # LISTEN still reconnecting, for the whole test
        connects.append(self)
        await asyncio.Event().wait()

    monkeypatch.setattr(db.Listener, "_run", never_up)
    async with twilio_double.running() as twilio:
        env = {**support.ENV, "TWILIO_ACCOUNT_SID": twilio.account_sid, "TWILIO_AUTH_TOKEN": twilio.auth_token}
        settings = support.settings(
            f'notifiers: {{sms: {{from: "+15005550006", api_base: "{twilio.url}"}}, console: {{enabled: false}}}}\n'
            "priorities: {P0: {channels: [sms]}}",
            env,
        )
        client = await make_client(settings, run_engine=True)
        await asyncio.sleep(0.5)  # the engine's first pass is over: it now sleeps until woken or the re-check
        assert connects and await _is_zero(client, "pager_listener_connected")
        resp = await client.post("/v2/enqueue", json=support.event("trigger", "p0-without-listen"))
        assert resp.status == 202
        # bounded well under the engine's 30 s safety re-check, which is all that is left without a wake-up
        await _eventually(lambda: _now(len(twilio.messages) == 1), timeout=10)
        assert twilio.messages[0].to in ("+15551230001", "+15551230002")  # whoever the rotation has on now


async def _now(value):
    return value
