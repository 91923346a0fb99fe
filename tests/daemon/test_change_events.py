"""Change events through the real daemon: a deploy told to a service shows on the incident that follows it."""

from __future__ import annotations

import datetime
import json

from pager import clock
from tests import support
from tests.support import http, paging, twilio_double, wait

MIN = datetime.timedelta(minutes=1)


def change(summary: str = "Deploy checkout v1.4.2", **payload: object) -> dict:
    return {
        "routing_key": support.EVENTS_KEY,
        "payload": {"summary": summary, "source": "ci-runner-7", "custom_details": {"service": "checkout"}, **payload},
        "links": [{"href": "https://ci.example.com/builds/220", "text": "Build 220"}],
    }


async def test_a_change_then_an_incident_shows_it_and_the_sms_says_after_deploy(make_client):
    async with twilio_double.running() as double:
        fake = clock.ManualClock(paging.START)
        client = await make_client(paging.settings(double), clock=fake, run_engine=True)
        resp = await client.post("/v2/change/enqueue", json=change())
        assert resp.status == 202
        assert await resp.json() == {"status": "success", "message": "Change event processed"}
        assert await http.incidents(client) == []  # a change opens nothing and pages nobody

        listed = await client.get("/api/v1/changes", params={"service": "checkout"}, headers=support.API)
        [stored] = (await listed.json())["changes"]
        assert (stored["service"], stored["summary"], stored["at"]) == (
            "checkout",
            "Deploy checkout v1.4.2",
            "2026-11-23T12:00:00Z",
        )
        assert stored["links"] == [{"href": "https://ci.example.com/builds/220", "text": "Build 220"}]
        none = await client.get("/api/v1/changes", params={"service": "search"}, headers=support.API)
        assert (await none.json())["changes"] == []

        await fake.advance(40 * MIN)
        body = support.am_payload([("fp1", "firing", {"severity": "critical", "service": "checkout"})])
        await http.post_am(client, body)
        [sms] = await wait.eventually(lambda: double.messages)
        assert "(after deploy Deploy checkout v1.4.2)" in sms.body and len(sms.body) <= 160
        [inc] = await http.incidents(client)
        assert [c["id"] for c in inc["recent_changes"]] == [stored["id"]]
        assert (await http.detail(client, inc["id"]))["recent_changes"] == [stored]


async def test_a_change_more_than_2h_before_or_of_another_service_is_not_shown(make_client):
    fake = clock.ManualClock(paging.START)
    client = await make_client(clock=fake)
    assert (
        await client.post("/v2/change/enqueue", json=change("old deploy", timestamp="2026-11-23T09:59:00Z"))
    ).status == 202
    other = change("search deploy")
    other["payload"]["custom_details"] = {"service": "search"}
    assert (await client.post("/v2/change/enqueue", json=other)).status == 202
    await http.post_am(client, support.am_payload([("fp1", "firing", {"service": "checkout"})]))
    [inc] = await http.incidents(client)
    assert inc["recent_changes"] == []


async def test_a_bad_change_is_400_in_pagerduty_shape(make_client):
    client = await make_client()
    resp = await client.post("/v2/change/enqueue", json={"routing_key": support.EVENTS_KEY, "payload": {"summary": 5}})
    assert resp.status == 400
    assert await resp.json() == {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["'payload.summary' is invalid (must be a string)"],
    }
    unknown = await client.post("/v2/change/enqueue", data=json.dumps(change() | {"routing_key": "nope"}))
    assert unknown.status == 400
    assert (await client.get("/api/v1/changes")).status == 401
