"""Drills beside issue 14's quiet and checks, through the real daemon with a fake clock.

A drill tests the chain on purpose, so a maintenance window never holds one (it would be counted as
nobody answering); a scheduled drill that falls in a window waits for its end instead. A drill's
acknowledgement is its answer and never expires into a second walk. A heartbeat's incident during a
drill is a real incident: paged without [DRILL], never bundled with the drill's pages, resolved by the
next beat while the drill goes on; only the real one counts in MTTA.
"""

from __future__ import annotations

import asyncio
import datetime

from pager import clock
from pager.web import keys
from tests import support
from tests.support import http, paging, twilio_double, wait

MIN = datetime.timedelta(minutes=1)
SEC = datetime.timedelta(seconds=1)
ALICE, CAROL = "+15551230001", "+15551230003"


async def drill(client, service: str = "web") -> dict:
    resp = await client.post("/api/v1/drills", json={"service": service, "by": "bob"}, headers=support.API)
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def start_window(client, **body) -> dict:
    resp = await client.post(
        "/api/v1/maintenance", json={"reason": "db upgrade", "by": "alice", **body}, headers=support.API
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


def metric(client, name: str, labels: dict[str, str]) -> float:
    return client.app[keys.METRICS].registry.get_sample_value(name, labels) or 0.0


async def test_a_window_holds_the_real_incident_but_never_a_drill(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double), clock=fake, run_engine=True)
        running = await drill(client)
        await wait.eventually(lambda: len(double.messages) == 1)

        await fake.advance(MIN)
        window = await start_window(client, services=["web"], duration="30m")
        fresh = await drill(client)
        await wait.eventually(lambda: len(double.messages) == 2)  # a drill opened inside the window is paged
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
        real = await wait.eventually(lambda: _real(client))

        async def held() -> bool:
            return (await http.detail(client, real["id"]))["maintenance"] == window["id"]

        await wait.eventually(held)
        await fake.advance(4 * MIN)  # 12:05: the running drill's step 2 (carol) is due, window or not
        await wait.eventually(lambda: CAROL in [m.to for m in double.messages])
        await asyncio.sleep(0.1)

        assert [m.to for m in double.messages] == [ALICE, ALICE, CAROL]  # the held real incident paged nobody
        assert all(m.body.startswith("[DRILL] ") for m in double.messages)
        for d in (running, fresh):
            detail = await http.detail(client, d["id"])
            assert detail["maintenance"] is None and "maintenance" not in [e["kind"] for e in detail["timeline"]]

        await fake.advance(10 * MIN)  # 12:15: the running drill's whole walk is over, nobody acknowledged
        report = await wait.eventually(lambda: _ended(client, running["id"]))
        assert report["outcome"] == "unacknowledged"
        assert [p["step"] for p in report["pages"]] == [1, 2]  # it really walked both steps
        assert metric(client, "pager_drills_total", {"service": "web", "outcome": "unacknowledged"}) == 1


async def test_a_scheduled_drill_that_falls_in_a_window_runs_when_it_ends_and_keeps_its_schedule(make_client, pool):
    schedule = 'drills: [{service: web, priority: P1, every: 1d, first: "2026-11-23T12:10"}]'
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double, schedule), clock=fake, run_engine=True)
        await start_window(client, services=["web"], duration="30m")

        await fake.set(paging.START + 10 * MIN)  # the drill's time, inside the window: it waits
        await wait.eventually(lambda: _timer(pool, paging.START + 30 * MIN))
        assert await pool.fetchval("SELECT count(*) FROM incidents WHERE drill") == 0

        await fake.set(paging.START + 30 * MIN)  # the window ends: the drill runs now
        [sms] = await wait.eventually(lambda: double.messages)
        assert sms.to == ALICE and sms.body.startswith("[DRILL] [P1] web:")
        [opened] = await http.incidents(client)
        assert (opened["drill"], opened["created_at"], opened["maintenance"]) == (True, "2026-11-23T12:30:00Z", None)
        # the schedule goes on from when the drill was planned (12:10), not from when it ran
        await wait.eventually(lambda: _timer(pool, datetime.datetime(2026, 11, 24, 12, 10, tzinfo=datetime.UTC)))


async def test_a_drills_acknowledgement_never_expires(make_client, pool):
    expires = "priorities: {P0: {channels: [sms], ack_expires: 2m}, P1: {channels: [sms], ack_expires: 2m}}"
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double, expires), clock=fake, run_engine=True)
        d = await drill(client)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
        await wait.eventually(lambda: len(double.messages) == 2)
        real = await _real(client)
        await fake.advance(MIN)
        for incident in (d, real):
            resp = await client.post(
                f"/api/v1/incidents/{incident['id']}/acknowledge", json={"user": "alice"}, headers=support.API
            )
            assert resp.status == 200
        armed = await pool.fetch("SELECT subject FROM timers WHERE kind = 'ack_expiry'")
        assert [r["subject"] for r in armed] == [str(real["id"])]  # the real one's only

        await fake.advance(2 * MIN)  # both acks are 2 min old: the real one lapses, the drill's stands
        await wait.eventually(lambda: len(double.messages) == 3)
        assert not double.messages[2].body.startswith("[DRILL]")
        await fake.set(paging.START + 15 * MIN)  # the drill's walk is over
        report = await wait.eventually(lambda: _ended(client, d["id"]))
        assert (report["outcome"], report["seconds_to_acknowledge"], report["acknowledged_by"]) == (
            "acknowledged",
            60,
            "alice",
        )
        kinds = await paging.kinds(client, d["id"])
        assert "ack_expired" not in kinds and kinds.count("escalated") == 1
        assert len([m for m in double.messages if m.body.startswith("[DRILL]")]) == 1


async def test_a_heartbeat_missed_during_a_drill_is_a_real_incident_beside_it(make_client):
    beats = "heartbeats: [{id: backup, service: web, interval: 30s, grace: 5s, priority: P1, token_env: PAGER_HB}]"
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double, beats, {"PAGER_HB": "hb"}), clock=fake, run_engine=True)
        d = await drill(client)
        await wait.eventually(lambda: len(double.messages) == 1)

        await fake.advance(35 * SEC)  # no beat for interval + grace
        await wait.eventually(lambda: len(double.messages) == 2)
        missed = await _real(client)
        assert missed["summary"].startswith("heartbeat backup missed") and missed["drill"] is False
        drill_sms, beat_sms = double.messages
        assert drill_sms.body.startswith("[DRILL] ") and not beat_sms.body.startswith("[DRILL]")
        assert "more" not in beat_sms.body  # its own page, never bundled with the drill's
        for incident in (d, missed):
            resp = await client.post(
                f"/api/v1/incidents/{incident['id']}/acknowledge", json={"user": "alice"}, headers=support.API
            )
            assert resp.status == 200

        assert (await client.post("/v1/heartbeats/backup", headers={"Authorization": "Bearer hb"})).status == 200
        assert (await http.detail(client, missed["id"]))["status"] == "resolved"
        assert (await http.detail(client, d["id"]))["status"] == "acknowledged"  # the beat resolves only its own
        report = await (await client.get(f"/api/v1/drills/{d['id']}", headers=support.API)).json()
        assert [(p["user"], p["step"]) for p in report["pages"]] == [("alice", 1)]
        labels = {"service": "web", "priority": "P1"}
        assert metric(client, "pager_time_to_acknowledge_seconds_count", labels) == 1  # the real one only
        assert metric(client, "pager_time_to_resolve_seconds_count", labels) == 1


async def _real(client):
    found = [i for i in await http.incidents(client) if not i["drill"]]
    return found[0] if found else None


async def _ended(client, drill_id: int):
    body = await (await client.get(f"/api/v1/drills/{drill_id}", headers=support.API)).json()
    return body if body["ended_at"] else None


async def _timer(pool, due: datetime.datetime) -> bool:
    return await pool.fetchval("SELECT due_at FROM timers WHERE kind = 'drill_schedule'") == due
