"""PagerDuty Events API v2 through the real app: what anything that pages PagerDuty gets from pager."""

from __future__ import annotations

import dataclasses

from tests import support
from tests.support import http


async def test_trigger_without_dedup_key_gets_one_generated_and_returned(make_client):
    client = await make_client()
    resp = await http.enqueue(client, support.event("trigger"))
    assert resp.status == 202
    answer = await resp.json()
    assert answer["status"] == "success" and answer["message"] == "Event processed"
    assert answer["dedup_key"]
    [inc] = await http.incidents(client)
    assert inc["dedup_key"] == answer["dedup_key"]
    assert inc["priority"] == "P0" and inc["summary"] == "disk full"


async def test_trigger_ack_resolve_and_trigger_again(make_client):
    client = await make_client()
    assert (await http.enqueue(client, support.event("trigger", "k1"))).status == 202
    assert (await http.enqueue(client, support.event("trigger", "k1"))).status == 202
    [inc] = await http.incidents(client)
    assert inc["status"] == "triggered"
    assert (await http.enqueue(client, support.event("acknowledge", "k1"))).status == 202
    [inc] = await http.incidents(client)
    assert inc["status"] == "acknowledged" and inc["acknowledged_by"] == "integration:prod-events"
    assert (await http.enqueue(client, support.event("resolve", "k1"))).status == 202
    [inc] = await http.incidents(client)
    assert inc["status"] == "resolved"
    assert (await http.enqueue(client, support.event("trigger", "k1"))).status == 202
    assert [i["status"] for i in await http.incidents(client)] == ["triggered", "resolved"]


async def test_resolve_finds_an_incident_routed_away_from_the_default_service(make_client):
    client = await make_client()
    trigger = support.event("trigger", "k2", custom_details={"service": "search"})
    assert (await http.enqueue(client, trigger)).status == 202
    [inc] = await http.incidents(client)
    assert inc["service"] == "search"
    assert (await http.enqueue(client, support.event("resolve", "k2"))).status == 202
    [inc] = await http.incidents(client)
    assert inc["status"] == "resolved"


async def test_ack_or_resolve_for_unknown_key_is_accepted_and_ignored(make_client):
    client = await make_client()
    for action in ("acknowledge", "resolve"):
        resp = await http.enqueue(client, support.event(action, "never-seen"))
        assert resp.status == 202
        assert (await resp.json())["dedup_key"] == "never-seen"
    assert await http.incidents(client) == []


async def test_captured_alertmanager_pagerduty_config_trigger_and_resolve(make_client):
    client = await make_client()
    for name, status in (
        ("alertmanager-0.25-pagerduty-events-v2-firing.json", "triggered"),
        ("alertmanager-0.25-pagerduty-events-v2-resolved.json", "resolved"),
    ):
        body = support.sample(name)["body"]
        body["routing_key"] = support.EVENTS_KEY
        resp = await http.enqueue(client, body)
        assert resp.status == 202, await resp.text()
        [inc] = await http.incidents(client)
        assert inc["status"] == status
    assert inc["service"] == "checkout"  # labels recovered from custom_details.firing
    assert inc["priority"] == "P0"


async def test_invalid_event_is_400_in_pagerduty_shape(make_client):
    client = await make_client()
    resp = await http.enqueue(
        client,
        {
            "routing_key": support.EVENTS_KEY,
            "event_action": "trigger",
            "payload": {"source": "db-1", "severity": "fatal"},
        },
    )
    assert resp.status == 400
    answer = await resp.json()
    assert answer["status"] == "invalid event"
    assert answer["message"] == "Event object is invalid"
    text = " ".join(answer["errors"])
    assert "summary" in text and "severity" in text
    assert await http.incidents(client) == []


async def test_unknown_routing_key_is_400(make_client):
    client = await make_client()
    resp = await http.enqueue(client, support.event("trigger", routing_key="f" * 32))
    assert resp.status == 400
    assert "routing_key" in " ".join((await resp.json())["errors"])


async def test_an_alertmanager_token_is_not_an_events_routing_key(make_client):
    client = await make_client()
    resp = await http.enqueue(client, support.event("trigger", routing_key=support.AM_TOKEN))
    assert resp.status == 400


async def test_non_json_is_400(make_client):
    client = await make_client()
    resp = await http.enqueue(client, b"{nope")
    assert resp.status == 400
    assert (await resp.json())["status"] == "invalid event"


async def test_an_event_the_database_refuses_is_an_invalid_event_not_a_500(make_client, monkeypatch):
    from pager import classify

    real = classify.classify_alerts

    def out_of_range(*args, **kwargs):  # stands in for any value PostgreSQL refuses for good
        return [dataclasses.replace(c, priority=70000) for c in real(*args, **kwargs)]

    monkeypatch.setattr(classify, "classify_alerts", out_of_range)
    client = await make_client()
    resp = await http.enqueue(client, support.event("trigger", "k1"))
    assert resp.status == 400
    answer = await resp.json()
    assert answer["status"] == "invalid event"
    assert "cannot be stored" in answer["errors"][0]
    assert await http.incidents(client) == []
