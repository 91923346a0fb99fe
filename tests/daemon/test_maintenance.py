"""Maintenance windows through the real daemon with a fake clock: quiet at once, paging again after."""

from __future__ import annotations

import asyncio
import datetime

import pytest

from pager import cli, clock
from tests import support
from tests.support import http, paging, twilio_double, wait

MIN = datetime.timedelta(minutes=1)


async def start_window(client, **body) -> dict:
    resp = await client.post(
        "/api/v1/maintenance", json={"reason": "db upgrade", "by": "alice", **body}, headers=support.API
    )
    assert resp.status == 201, await resp.text()
    return await resp.json()


async def test_a_window_stops_a_running_escalation_and_step_1_is_paged_when_it_ends(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double), clock=fake, run_engine=True)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
        await wait.eventually(lambda: len(double.messages) == 1)  # alice, step 1
        [inc] = await http.incidents(client)

        await fake.advance(2 * MIN)
        window = await start_window(client, services=["web"], duration="30m")
        assert (window["state"], window["ends_at"]) == ("active", "2026-11-23T12:32:00Z")

        async def held():
            return (await http.detail(client, inc["id"]))["maintenance"] == window["id"]

        await wait.eventually(held)
        assert "maintenance" in await paging.kinds(client, inc["id"])

        await fake.advance(10 * MIN)  # step 2 (carol) was due at 12:05: nobody is paged while it holds
        other = support.am_payload([("fp2", "firing", {"severity": "critical"})], group_key="during")
        assert (await http.post_am(client, other)).status == 200  # recorded all the same
        await asyncio.sleep(0.1)
        assert len(double.messages) == 1
        during = (await http.incidents(client))[0]
        await wait.eventually(lambda: _held(client, during["id"], window["id"]))
        metrics = await (await client.get("/metrics")).text()
        assert 'pager_alerts_suppressed_total{reason="maintenance",service="web"} 1.0' in metrics

        await fake.advance(20 * MIN)  # 12:32: the window ends
        await wait.eventually(lambda: len(double.messages) >= 2)
        await asyncio.sleep(0.1)
        assert paging.to(double.messages[1:]) == ["alice"]  # step 1 again: both incidents, bundled in one SMS
        assert "+1 more" in double.messages[1].body
        for incident in await http.incidents(client):
            assert incident["maintenance"] is None and incident["status"] == "triggered"
            assert incident["escalation"]["step"] == 0
        ended = [e for e in (await http.detail(client, inc["id"]))["timeline"] if e["kind"] == "maintenance"]
        assert ended[-1]["message"] == f"Maintenance window #{window['id']} ended: escalating from step 1"

        await fake.advance(5 * MIN)  # and the walk goes on from there
        await wait.eventually(lambda: "+15551230003" in [m.to for m in double.messages])


async def _held(client, incident_id: int, window_id: int) -> bool:
    return (await http.detail(client, incident_id))["maintenance"] == window_id


async def test_a_scheduled_window_by_matchers_starts_and_ends_by_itself_and_can_be_ended_early(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double), clock=fake, run_engine=True)
        window = await start_window(
            client,
            matchers=['alertname="HighErrorRate"', 'severity="critical"'],
            starts_at="2026-11-23T13:00:00Z",
            ends_at="2026-11-23T14:00:00Z",
        )
        assert window["state"] == "upcoming"
        listed = (await (await client.get("/api/v1/maintenance", headers=support.API)).json())["maintenance"]
        assert [w["id"] for w in listed] == [window["id"]]

        await fake.set(paging.START + 61 * MIN)  # 13:01, inside it
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
        [inc] = await http.incidents(client)
        await wait.eventually(lambda: _held(client, inc["id"], window["id"]))
        assert double.messages == []

        resp = await client.delete(f"/api/v1/maintenance/{window['id']}", json={"by": "bob"}, headers=support.API)
        assert resp.status == 200 and (await resp.json())["state"] == "ended"
        await wait.eventually(lambda: len(double.messages) == 1)  # ended early: paged now
        again = await client.delete(f"/api/v1/maintenance/{window['id']}", headers=support.API)
        assert again.status == 409
        assert (await client.delete("/api/v1/maintenance/999", headers=support.API)).status == 404
        assert (await (await client.get("/api/v1/maintenance", headers=support.API)).json())["maintenance"] == []


async def test_an_acknowledged_incident_under_maintenance_tells_nobody_of_new_alerts(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double), clock=fake, run_engine=True)
        await http.post_am(client, support.am_payload([("fp1", "firing", {"severity": "critical"})]))
        await wait.eventually(lambda: len(double.messages) == 1)
        [inc] = await http.incidents(client)
        await client.post(f"/api/v1/incidents/{inc['id']}/acknowledge", json={"user": "bob"}, headers=support.API)
        window = await start_window(client, services=["web"], duration="1h")
        await wait.eventually(lambda: _held(client, inc["id"], window["id"]))
        both = [("fp1", "firing", {"severity": "critical"}), ("fp2", "firing", {"severity": "critical"})]
        await http.post_am(client, support.am_payload(both))
        await asyncio.sleep(0.1)
        assert len(double.messages) == 1  # bob is not told while the window holds it


@pytest.mark.parametrize(
    "body, error",
    [
        ({"duration": "1h", "reason": "r", "by": "a"}, "give 'services'"),
        ({"services": ["nope"], "duration": "1h", "reason": "r", "by": "a"}, "'services[0]': unknown service 'nope'"),
        ({"matchers": ["team=~"], "duration": "1h", "reason": "r", "by": "a"}, "'matchers[0]'"),
        ({"services": ["web"], "reason": "r", "by": "a"}, "exactly one of 'ends_at' and 'duration'"),
        (
            {"services": ["web"], "duration": "1h", "ends_at": "2026-11-23T13:00:00Z", "reason": "r", "by": "a"},
            "exactly one",
        ),
        ({"services": ["web"], "duration": "soon", "reason": "r", "by": "a"}, "'duration'"),
        ({"services": ["web"], "ends_at": "2026-11-23T11:00:00Z", "reason": "r", "by": "a"}, "in the future"),
        ({"services": ["web"], "ends_at": "tomorrow", "reason": "r", "by": "a"}, "'ends_at': expected an RFC 3339"),
        ({"services": ["web"], "duration": "1h", "by": "a"}, "'reason' is required"),
        ({"services": ["web"], "duration": "1h", "reason": "r"}, "'by' is required"),
        ({"services": ["web"], "duration": "100d", "reason": "r", "by": "a"}, "at most 90 days"),
    ],
)
async def test_a_bad_window_is_400_saying_what_is_wrong(make_client, body, error):
    client = await make_client(clock=clock.ManualClock(paging.START))
    resp = await client.post("/api/v1/maintenance", json=body, headers=support.API)
    assert resp.status == 400
    assert error in (await resp.json())["error"]
    assert (await client.post("/api/v1/maintenance", json=body)).status == 401


async def test_pager_maintenance_start_list_end_drive_the_api(make_client, capsys, monkeypatch):

    monkeypatch.setattr(cli.logs, "configure", lambda **_: None)  # logging stays on pytest's streams
    client = await make_client(clock=clock.ManualClock(paging.START))
    base = ["maintenance", "--url", str(client.make_url("")), "--token", support.API_TOKEN]

    async def run(*argv: str) -> int:
        return await asyncio.to_thread(cli.main, [*base, *argv])

    assert await run("start", "--service", "web", "--duration", "2h", "--reason", "db upgrade", "--by", "alice") == 0
    started = capsys.readouterr().out
    assert started.startswith("#1  active") and "2026-11-23T14:00:00Z  web  (db upgrade, by alice)" in started
    assert await run("list") == 0
    assert capsys.readouterr().out.startswith("#1  active")
    assert await run("end", "1", "--by", "bob") == 0
    assert capsys.readouterr().out.startswith("#1  ended")
    assert await run("end", "1") == 1
    assert "already ended" in capsys.readouterr().err
    assert await run("start", "--service", "nope", "--duration", "1h", "--reason", "r", "--by", "a") == 1
    assert "unknown service 'nope'" in capsys.readouterr().err
