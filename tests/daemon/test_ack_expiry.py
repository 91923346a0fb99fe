"""Acknowledgement expiry through the real daemon: acknowledged and left unresolved past `ack_expires`,
the incident is triggered again and paged from step 1 (GoAlert users asked for it: goalert#3378)."""

from __future__ import annotations

import asyncio
import datetime

from pager import clock
from pager.web import keys
from tests import support
from tests.support import http, paging, twilio_double, wait

EXPIRES = """
priorities:
  P0: {channels: [sms], ack_expires: 2h}
  P1: {channels: [sms]}
"""
MIN = datetime.timedelta(minutes=1)


async def test_an_ack_left_unresolved_for_2h_lapses_and_step_1_is_paged_again(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double, EXPIRES), clock=fake, run_engine=True)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
        await wait.eventually(lambda: len(double.messages) == 1)
        [inc] = await http.incidents(client)
        await fake.advance(3 * MIN)
        resp = await client.post(
            f"/api/v1/incidents/{inc['id']}/acknowledge", json={"user": "alice"}, headers=support.API
        )
        assert (await resp.json())["status"] == "acknowledged"

        await fake.advance(2 * 60 * MIN - datetime.timedelta(seconds=1))
        await asyncio.sleep(0.05)
        assert len(double.messages) == 1 and (await http.incidents(client))[0]["status"] == "acknowledged"

        await fake.advance(datetime.timedelta(seconds=1))
        await wait.eventually(lambda: len(double.messages) == 2)
        assert paging.to(double.messages) == ["alice", "alice"]  # step 1 again, in a new round
        [inc] = await http.incidents(client)
        assert (inc["status"], inc["acknowledged_at"], inc["acknowledged_by"]) == ("triggered", None, None)
        detail = await http.detail(client, inc["id"])
        [expired] = [e for e in detail["timeline"] if e["kind"] == "ack_expired"]
        assert expired["message"].startswith("Acknowledgement by alice expired: unresolved 2h after it")
        assert expired["details"]["acknowledged_by"] == "alice"

        await fake.advance(5 * MIN)  # unacknowledged again: step 2 after step 1's timeout, as on a new incident
        await wait.eventually(lambda: len(double.messages) == 3)
        assert paging.to(double.messages)[2] == "carol"


async def test_an_ack_resolved_in_time_or_of_a_priority_without_expiry_never_lapses(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double, EXPIRES), clock=fake, run_engine=True)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})], group_key="p0"))
        # one at a time: two pages to alice claimed together would be bundled into one SMS
        await wait.eventually(lambda: len(double.messages) == 1)
        await http.post_am(client, support.am_payload([("fp2", "firing", {"severity": "error"})], group_key="p1"))
        await wait.eventually(lambda: len(double.messages) == 2)
        p1, p0 = await http.incidents(client)
        for inc in (p0, p1):
            await client.post(f"/api/v1/incidents/{inc['id']}/acknowledge", json={"user": "alice"}, headers=support.API)
        await fake.advance(60 * MIN)
        await client.post(f"/api/v1/incidents/{p0['id']}/resolve", json={"user": "alice"}, headers=support.API)
        await fake.advance(5 * 60 * MIN)
        await asyncio.sleep(0.1)
        assert len(double.messages) == 2
        assert [i["status"] for i in await http.incidents(client)] == ["acknowledged", "resolved"]
        assert "ack_expired" not in await paging.kinds(client, p1["id"])


async def test_an_acknowledge_event_from_an_integration_expires_too(make_client):
    fake = clock.ManualClock(paging.START)
    client = await make_client(support.settings(EXPIRES), clock=fake)
    assert (await http.enqueue(client, support.event("trigger", dedup_key="disk"))).status == 202
    await fake.advance(MIN)
    assert (await http.enqueue(client, support.event("acknowledge", dedup_key="disk"))).status == 202
    [inc] = await http.incidents(client)
    await client.app[keys.ENGINE].tick()
    await fake.advance(2 * 60 * MIN)
    await client.app[keys.ENGINE].tick()
    [inc] = await http.incidents(client)
    assert inc["status"] == "triggered"
    assert "ack_expired" in await paging.kinds(client, inc["id"])
