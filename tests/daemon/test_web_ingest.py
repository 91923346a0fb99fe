"""Alerts in through the real HTTP app, into a real PostgreSQL."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests import support
from tests.support import http


async def test_captured_alertmanager_firing_opens_one_p0_incident(make_client):
    client = await make_client()
    captured = support.sample("alertmanager-0.25-webhook-firing.json")
    resp = await http.post_am(
        client, json.dumps(captured["body"]).encode(), {"Authorization": captured["headers"]["Authorization"]}
    )
    assert resp.status == 200, await resp.text()
    [inc] = await http.incidents(client)
    assert inc["service"] == "checkout"  # routed by the service="checkout" matcher
    assert inc["priority"] == "P0"
    assert inc["status"] == "triggered"
    assert inc["dedup_key"] == captured["body"]["groupKey"]
    assert inc["summary"] == "5xx rate above 5% on checkout"
    assert inc["annotations"]["runbook_url"] == "https://runbooks.example.com/checkout-5xx"
    assert inc["priority_rule"] == "classification[0]"
    full = await http.detail(client, inc["id"])
    assert [a["fingerprint"] for a in full["alerts"]] == ["b1c11497b32ce15e"]
    assert [e["kind"] for e in full["timeline"]] == ["triggered"]


async def test_captured_firing_then_resolved_resolves_the_incident(make_client):
    client = await make_client()
    for name in ("alertmanager-0.25-webhook-firing.json", "alertmanager-0.25-webhook-resolved.json"):
        captured = support.sample(name)
        resp = await http.post_am(
            client, json.dumps(captured["body"]).encode(), {"Authorization": captured["headers"]["Authorization"]}
        )
        assert resp.status == 200
    [inc] = await http.incidents(client)
    assert inc["status"] == "resolved"
    assert inc["resolved_at"] is not None
    kinds = [e["kind"] for e in (await http.detail(client, inc["id"]))["timeline"]]
    assert kinds == ["triggered", "alert_resolved", "resolved"]


async def test_same_notification_from_two_peers_changes_only_last_seen(make_client):
    client = await make_client()
    body = support.am_payload([("fp1", "firing", {"severity": "warning"})])
    assert (await http.post_am(client, body)).status == 200
    first = await http.detail(client, (await http.incidents(client))[0]["id"])
    await asyncio.sleep(0.01)
    assert (await http.post_am(client, body)).status == 200
    [inc] = await http.incidents(client)
    again = await http.detail(client, inc["id"])
    assert again["timeline"] == first["timeline"]
    assert again["alert_count"] == 1
    assert again["last_seen_at"] > first["last_seen_at"]
    assert again["alerts"][0]["last_seen_at"] > first["alerts"][0]["last_seen_at"]
    metrics = await (await client.get("/metrics")).text()
    assert 'pager_alerts_deduplicated_total{service="web"} 1.0' in metrics


async def test_fifty_concurrent_identical_posts_open_one_incident(make_client):
    client = await make_client()
    body = support.am_payload([("fp1", "firing", {"severity": "critical"})])
    responses = await asyncio.gather(*(http.post_am(client, body) for _ in range(50)))
    assert [r.status for r in responses] == [200] * 50
    assert len(await http.incidents(client)) == 1
    created = [(await r.json())["incidents"][0]["created"] for r in responses]
    assert created.count(True) == 1


async def test_group_gaining_and_losing_alerts(make_client):
    client = await make_client()
    await http.post_am(client, support.am_payload([("a", "firing", {"severity": "warning"})]))
    [inc] = await http.incidents(client)
    assert inc["priority"] == "P2"
    await http.post_am(
        client,
        support.am_payload([("a", "firing", {"severity": "warning"}), ("b", "firing", {"severity": "critical"})]),
    )
    [inc] = await http.incidents(client)
    assert inc["priority"] == "P0" and inc["alert_count"] == 2
    await http.post_am(
        client,
        support.am_payload([("a", "resolved", {"severity": "warning"}), ("b", "firing", {"severity": "critical"})]),
    )
    [inc] = await http.incidents(client)
    assert inc["status"] == "triggered"
    assert inc["priority"] == "P0"  # never silently falls
    await http.post_am(client, support.am_payload([("b", "resolved", {"severity": "critical"})]))
    [inc] = await http.incidents(client)
    assert inc["status"] == "resolved"
    timeline = (await http.detail(client, inc["id"]))["timeline"]
    assert [e["kind"] for e in timeline] == [
        "triggered",
        "alert_added",
        "priority_raised",
        "alert_resolved",
        "alert_resolved",
        "resolved",
    ]
    assert timeline[2]["message"] == "Priority raised from P2 to P0"


async def test_firing_again_after_resolve_opens_a_new_incident(make_client):
    client = await make_client()
    await http.post_am(client, support.am_payload([("a", "firing", {})]))
    await http.post_am(client, support.am_payload([("a", "resolved", {})]))
    await http.post_am(client, support.am_payload([("a", "firing", {})]))
    statuses = [i["status"] for i in await http.incidents(client)]
    assert statuses == ["triggered", "resolved"]


async def test_resolved_notification_for_unknown_group_is_accepted_and_opens_nothing(make_client):
    client = await make_client()
    resp = await http.post_am(client, support.am_payload([("a", "resolved", {})]))
    assert resp.status == 200
    assert (await resp.json())["incidents"][0]["status"] == "ignored"
    assert await http.incidents(client) == []


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing bearer token"),
        ({"Authorization": "Bearer wrong"}, "matches no alertmanager integration"),
        ({"Authorization": f"Bearer {support.EVENTS_KEY}"}, "matches no alertmanager integration"),
        ({"Authorization": f"Basic {support.AM_TOKEN}"}, "missing bearer token"),
    ],
)
async def test_webhook_without_the_right_token_is_refused(make_client, headers, message):
    client = await make_client()
    resp = await http.post_am(client, support.am_payload([("a", "firing", {})]), headers)
    assert resp.status == 401
    assert message in (await resp.json())["error"]
    assert await http.incidents(client) == []


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"not json", "JSON"),
        (b"[]", "object"),
        (b'{"version": "4", "groupKey": "g"}', "alerts"),
        (b'{"version": "4", "groupKey": "g", "alerts": [{"status": "firing", "labels": {"a": 1}}]}', "labels"),
        (b'{"version": "3", "groupKey": "g", "alerts": []}', "version"),
    ],
)
async def test_bad_webhook_body_is_a_400_naming_the_problem(make_client, body, fragment):
    client = await make_client()
    resp = await http.post_am(client, body)
    assert resp.status == 400
    answer = await resp.json()
    assert fragment.lower() in json.dumps(answer).lower()
    assert await http.incidents(client) == []


async def test_oversized_body_is_413_and_stores_nothing(make_client):
    client = await make_client()
    resp = await http.post_am(client, b"{" + b" " * (1024 * 1024 + 10) + b"}")
    assert resp.status == 413
    assert "limit" in (await resp.json())["error"]
    assert await http.incidents(client) == []


async def test_health_and_readiness(make_client):
    client = await make_client()
    assert (await client.get("/healthz")).status == 200
    resp = await client.get("/readyz")
    assert resp.status == 200 and (await resp.json())["status"] == "ready"
