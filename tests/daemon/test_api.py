"""/api/v1 as scripts and dashboards use it."""

from __future__ import annotations

import pytest

from tests import support
from tests.support import http


async def open_incidents(client, n):
    for i in range(n):
        resp = await http.post_am(
            client, support.am_payload([(f"fp{i}", "firing", {"severity": "warning"})], group_key=f"group-{i}")
        )
        assert resp.status == 200


async def test_list_is_newest_first_and_paginates_with_next_cursor(make_client):
    client = await make_client()
    await open_incidents(client, 5)
    seen, cursor = [], None
    while True:
        params = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        resp = await client.get("/api/v1/incidents", params=params, headers=support.API)
        page = await resp.json()
        seen += [i["dedup_key"] for i in page["incidents"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f"group-{i}" for i in (4, 3, 2, 1, 0)]


async def test_filters_by_status_service_and_priority(make_client):
    client = await make_client()
    await open_incidents(client, 3)
    await http.post_am(
        client,
        support.am_payload(
            [("c", "firing", {"severity": "critical", "service": "checkout"})], group_key="checkout-group"
        ),
    )
    [first] = await http.incidents(client, service="web", limit="1")
    resp = await client.post(f"/api/v1/incidents/{first['id']}/acknowledge", headers=support.API)
    assert resp.status == 200
    assert [i["dedup_key"] for i in await http.incidents(client, service="checkout")] == ["checkout-group"]
    assert [i["dedup_key"] for i in await http.incidents(client, priority="P0")] == ["checkout-group"]
    assert len(await http.incidents(client, status="acknowledged")) == 1
    assert len(await http.incidents(client, status="triggered")) == 3
    assert len(await http.incidents(client, status="open")) == 4
    assert await http.incidents(client, status="resolved") == []


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"status": "sleeping"}, "status"),
        ({"priority": "P9"}, "priority"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"cursor": "abc"}, "cursor"),
    ],
)
async def test_bad_query_parameters_are_400(make_client, query, fragment):
    client = await make_client()
    resp = await client.get("/api/v1/incidents", params=query, headers=support.API)
    assert resp.status == 400
    assert (await resp.json())["error"].startswith(fragment)


async def test_limit_is_capped(make_client):
    client = await make_client()
    await open_incidents(client, 2)
    resp = await client.get("/api/v1/incidents", params={"limit": "100000"}, headers=support.API)
    assert resp.status == 200 and len((await resp.json())["incidents"]) == 2


async def test_acknowledge_then_resolve_by_api_with_timeline(make_client):
    client = await make_client()
    await open_incidents(client, 1)
    [inc] = await http.incidents(client)
    resp = await client.post(f"/api/v1/incidents/{inc['id']}/acknowledge", json={"user": "alice"}, headers=support.API)
    body = await resp.json()
    assert resp.status == 200 and body["status"] == "acknowledged" and body["acknowledged_by"] == "alice"
    again = await client.post(f"/api/v1/incidents/{inc['id']}/acknowledge", headers=support.API)
    assert again.status == 200 and (await again.json())["acknowledged_by"] == "alice"
    resp = await client.post(f"/api/v1/incidents/{inc['id']}/resolve", headers=support.API)
    assert (await resp.json())["status"] == "resolved"
    late = await client.post(f"/api/v1/incidents/{inc['id']}/acknowledge", headers=support.API)
    assert late.status == 409
    timeline = (await http.detail(client, inc["id"]))["timeline"]
    assert [(e["kind"], e["actor"]) for e in timeline] == [
        ("triggered", "integration:prod-am"),
        ("acknowledged", "alice"),
        ("role_changed", "alice"),  # who acknowledges is commander when nobody was
        ("resolved", "api"),
    ]
    assert timeline[1]["details"] == {"via": "api", "token": "PAGER_API_TOKEN"}  # the API token that did it


async def test_open_an_incident_by_hand_and_add_a_note(make_client):
    client = await make_client()
    resp = await client.post(
        "/api/v1/incidents",
        headers=support.API,
        json={"service": "checkout", "summary": "customers report failed payments", "priority": "P1", "user": "bob"},
    )
    assert resp.status == 201, await resp.text()
    inc = await resp.json()
    assert resp.headers["Location"] == f"/api/v1/incidents/{inc['id']}"
    assert (inc["service"], inc["priority"], inc["status"]) == ("checkout", "P1", "triggered")
    assert inc["escalation"]["policy"] == "web"
    resp = await client.post(
        f"/api/v1/incidents/{inc['id']}/notes",
        headers=support.API,
        json={"text": "rolled back deploy 1234", "user": "bob"},
    )
    assert resp.status == 201
    timeline = (await http.detail(client, inc["id"]))["timeline"]
    assert [(e["kind"], e["actor"], e["message"]) for e in timeline][1:] == [("note", "bob", "rolled back deploy 1234")]
    assert timeline[0]["actor"] == "bob"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"summary": "x"}, "'service' is required"),
        ({"service": "nope", "summary": "x"}, "unknown service"),
        ({"service": "checkout"}, "'summary' is required"),
        ({"service": "checkout", "summary": "x", "priority": "P7"}, "priority"),
        ({"service": "checkout", "summary": "x", "user": "mallory"}, "unknown user"),
        ({"service": "checkout", "summary": "x", "labels": {"a": 1}}, "'labels'"),
    ],
)
async def test_bad_manual_incident_is_400(make_client, body, fragment):
    client = await make_client()
    resp = await client.post("/api/v1/incidents", headers=support.API, json=body)
    assert resp.status == 400
    assert fragment in (await resp.json())["error"]
    assert await http.incidents(client) == []


async def test_api_needs_the_token(make_client):
    client = await make_client()
    assert (await client.get("/api/v1/incidents")).status == 401
    assert (await client.get("/api/v1/incidents", headers={"Authorization": "Bearer nope"})).status == 401
    assert (await client.post("/api/v1/incidents", json={})).status == 401


async def test_unknown_incident_is_404(make_client):
    client = await make_client()
    assert (await client.get("/api/v1/incidents/999", headers=support.API)).status == 404
    assert (await client.post("/api/v1/incidents/999/acknowledge", headers=support.API)).status == 404
    assert (await client.post("/api/v1/incidents/x/resolve", headers=support.API)).status == 404
    assert (await client.post("/api/v1/incidents/999/notes", json={"text": "x"}, headers=support.API)).status == 404
    # ids no incident can have: beyond a bigint, or digits that are not ASCII
    assert (await client.post("/api/v1/incidents/99999999999999999999/acknowledge", headers=support.API)).status == 404
    assert (await client.get("/api/v1/incidents/\u00b2", headers=support.API)).status == 404


async def test_nul_characters_are_kept_as_replacement_characters_not_a_500(make_client):
    client = await make_client()
    resp = await client.post(
        "/api/v1/incidents", headers=support.API, json={"service": "checkout", "summary": "payments\u0000down"}
    )
    assert resp.status == 201, await resp.text()
    inc = await resp.json()
    assert inc["summary"] == "payments\ufffddown"
    resp = await client.post(f"/api/v1/incidents/{inc['id']}/notes", headers=support.API, json={"text": "a\u0000b"})
    assert resp.status == 201
    assert (await http.detail(client, inc["id"]))["timeline"][-1]["message"] == "a\ufffdb"
    resp = await client.get("/api/v1/incidents", params={"service": "a\u0000b"}, headers=support.API)
    assert resp.status == 400
    assert "cannot store or search for" in (await resp.json())["error"]
    resp = await client.post(
        "/api/v1/incidents", headers=support.API, data=b'{"service": "checkout", "summary": "lone surrogate \\ud800"}'
    )
    assert resp.status == 400
    assert "surrogates not allowed" in (await resp.json())["error"]


async def test_mtta_and_mttr_are_observed_once_per_incident(make_client):
    import datetime

    from pager import clock

    fake = clock.ManualClock(datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC))
    client = await make_client(clock=fake)
    await http.post_am(client, support.am_payload([("c", "firing", {"severity": "critical", "service": "checkout"})]))
    [inc] = await http.incidents(client)
    await fake.advance(datetime.timedelta(seconds=90))
    await client.post(f"/api/v1/incidents/{inc['id']}/acknowledge", headers=support.API)
    await client.post(f"/api/v1/incidents/{inc['id']}/acknowledge", headers=support.API)
    await fake.advance(datetime.timedelta(minutes=10))
    await http.post_am(client, support.am_payload([("c", "resolved", {"severity": "critical", "service": "checkout"})]))
    text = await (await client.get("/metrics")).text()
    assert 'pager_time_to_acknowledge_seconds_count{priority="P0",service="checkout"} 1.0' in text
    assert 'pager_time_to_acknowledge_seconds_sum{priority="P0",service="checkout"} 90.0' in text
    assert 'pager_time_to_resolve_seconds_count{priority="P0",service="checkout"} 1.0' in text
    assert 'pager_time_to_resolve_seconds_sum{priority="P0",service="checkout"} 690.0' in text


async def test_exact_mtta_and_mttr_from_the_database_by_window(make_client):
    import datetime

    from pager import clock

    fake = clock.ManualClock(datetime.datetime(2026, 11, 1, 12, 0, tzinfo=datetime.UTC))
    client = await make_client(clock=fake)

    async def incident(key, ack_after, resolve_after):
        await http.post_am(client, support.am_payload([(key, "firing", {"severity": "critical"})], group_key=key))
        [inc] = await http.incidents(client, limit="1")
        await fake.advance(datetime.timedelta(seconds=ack_after))
        await client.post(f"/api/v1/incidents/{inc['id']}/acknowledge", headers=support.API)
        await fake.advance(datetime.timedelta(seconds=resolve_after))
        await client.post(f"/api/v1/incidents/{inc['id']}/resolve", headers=support.API)

    await incident("old", 600, 600)  # acknowledged 10 days before the scrape
    await fake.advance(datetime.timedelta(days=10))
    await incident("recent-1", 60, 240)
    await incident("recent-2", 180, 120)
    text = await (await client.get("/metrics")).text()
    assert 'pager_mtta_seconds{priority="P0",service="web",window="1d"} 120.0' in text
    assert 'pager_mtta_seconds{priority="P0",service="web",window="30d"} 280.0' in text
    assert 'pager_mttr_seconds{priority="P0",service="web",window="1d"} 300.0' in text
    assert 'pager_mttr_seconds{priority="P0",service="web",window="7d"} 300.0' in text
    assert "pager_incidents_open{" not in text  # all resolved


async def test_escalating_an_incident_whose_service_has_no_policy_is_409(make_client):
    client = await make_client(
        support.settings("""
services:
  - {id: web}
""")
    )
    resp = await client.post("/api/v1/incidents", headers=support.API, json={"service": "web", "summary": "x"})
    inc = await resp.json()
    assert inc["escalation"]["policy"] is None
    refused = await client.post(f"/api/v1/incidents/{inc['id']}/escalate", headers=support.API)
    assert refused.status == 409
    assert "no escalation policy" in (await refused.json())["error"]
