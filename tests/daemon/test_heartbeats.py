"""Heartbeats through the real daemon with a fake clock: silence opens an incident, the next beat resolves it."""

from __future__ import annotations

import asyncio
import datetime

from pager import clock
from tests import support
from tests.support import http, paging, twilio_double, wait

SEC = datetime.timedelta(seconds=1)
BEATS = """
heartbeats:
  - {id: nightly-backup, service: checkout, interval: 30s, grace: 5s, priority: P1, token_env: PAGER_HB_TOKEN}
  - {id: monitoring, service: web, interval: 2m, priority: P0, alert: ['alertname="Watchdog"']}
"""
ENV = {"PAGER_HB_TOKEN": "hb-token"}


async def state(client, heartbeat_id: str) -> dict:
    resp = await client.get("/api/v1/heartbeats", headers=support.API)
    assert resp.status == 200
    [found] = [h for h in (await resp.json())["heartbeats"] if h["id"] == heartbeat_id]
    return found


async def test_a_heartbeat_missed_opens_an_incident_that_the_next_beat_resolves(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double, BEATS, ENV), clock=fake, run_engine=True)
        assert (await state(client, "nightly-backup"))["state"] == "waiting"
        resp = await client.post("/v1/heartbeats/nightly-backup", headers={"Authorization": "Bearer hb-token"})
        assert resp.status == 200, await resp.text()
        beat = await resp.json()
        assert (beat["state"], beat["last_beat_at"], beat["deadline"]) == (
            "up",
            "2026-11-23T12:00:00Z",
            "2026-11-23T12:00:35Z",  # interval + grace, to the second
        )
        await fake.advance(34 * SEC)
        assert (await client.get("/v1/heartbeats/nightly-backup?token=hb-token")).status == 200  # GET beats too
        await fake.advance(34 * SEC)
        await asyncio.sleep(0.05)
        assert await http.incidents(client) == []

        await fake.advance(1 * SEC)  # 35 s since the last beat at 12:00:34
        [sms] = await wait.eventually(lambda: double.messages)
        [inc] = await http.incidents(client)
        assert (inc["service"], inc["priority"], inc["status"]) == ("checkout", "P1", "triggered")
        assert inc["summary"] == "heartbeat nightly-backup missed (last beat 2026-11-23 12:00:34 UTC)"
        assert "heartbeat nightly-backup missed" in sms.body
        missed = await state(client, "nightly-backup")
        assert (missed["state"], missed["incident"]) == ("missed", inc["id"])

        await fake.advance(10 * SEC)
        assert (
            await client.post("/v1/heartbeats/nightly-backup", headers={"Authorization": "Bearer hb-token"})
        ).status == 200
        [inc] = await http.incidents(client)
        assert (inc["status"], inc["resolved_by"]) == ("resolved", "heartbeat:nightly-backup")
        assert (await state(client, "nightly-backup"))["state"] == "up"


async def test_a_wrong_token_is_401_and_an_unknown_heartbeat_404(make_client):
    client = await make_client(support.settings(BEATS, {**support.ENV, **ENV}))
    assert (await client.post("/v1/heartbeats/nightly-backup", headers={"Authorization": "Bearer nope"})).status == 401
    assert (await client.get("/v1/heartbeats/nightly-backup")).status == 401
    assert (await client.post("/v1/heartbeats/monitoring?token=hb-token")).status == 401  # fed by its alert only
    assert (await client.post("/v1/heartbeats/nope?token=hb-token")).status == 404


async def test_an_always_firing_watchdog_alert_beats_and_pages_nobody_and_its_silence_does(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        only_watchdog = "heartbeats:\n  - {id: monitoring, service: web, interval: 2m, alert: ['alertname=\"Watchdog\"'], priority: P0}"
        client = await make_client(paging.settings(double, only_watchdog), clock=fake, run_engine=True)
        watchdog = support.am_payload([("wd", "firing", {"alertname": "Watchdog"})], group_key="watchdog")
        for _ in range(3):
            assert (await http.post_am(client, watchdog)).status == 200
            await fake.advance(60 * SEC)
        await asyncio.sleep(0.05)
        assert await http.incidents(client) == [] and double.messages == []
        assert (await state(client, "monitoring"))["state"] == "up"

        await fake.advance(60 * SEC)  # 2 min since the last Watchdog: monitoring itself is down
        [sms] = await wait.eventually(lambda: double.messages)
        [inc] = await http.incidents(client)
        assert (inc["service"], inc["priority"]) == ("web", "P0")
        assert inc["summary"].startswith("heartbeat monitoring missed (last beat 2026-11-23 12:02:00 UTC)")


async def test_a_heartbeat_that_never_beats_is_missed_from_when_it_was_configured(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double, BEATS, ENV), clock=fake, run_engine=True)
        await fake.advance(35 * SEC)
        await wait.eventually(lambda: double.messages)
        [inc] = await http.incidents(client)
        assert inc["summary"] == (
            "heartbeat nightly-backup missed (last beat never; watched since 2026-11-23 12:00:00 UTC)"
        )
        assert (await state(client, "monitoring"))["state"] == "waiting"  # its 2 minutes have not passed
