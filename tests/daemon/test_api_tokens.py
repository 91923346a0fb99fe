"""Scoped API tokens: read-only tokens read and never write; every write is on the timeline with its token's name.

A token is named by the environment variable it is read from (`api_tokens_env`, `api_read_tokens_env`).
"""

from __future__ import annotations

import pytest

from tests import support
from tests.support import http

READ_TOKEN = "read-only-token-for-dashboards"
READ = {"Authorization": f"Bearer {READ_TOKEN}"}


def _settings():
    return support.settings(
        "api_read_tokens_env: [PAGER_DASHBOARD_TOKEN]",
        {**support.ENV, "PAGER_DASHBOARD_TOKEN": READ_TOKEN},
    )


async def test_a_read_only_token_reads(make_client):
    client = await make_client(_settings())
    incident = await http.open_incident(client)
    listed = await client.get("/api/v1/incidents", headers=READ)
    assert listed.status == 200 and [i["id"] for i in (await listed.json())["incidents"]] == [incident]
    assert (await client.get(f"/api/v1/incidents/{incident}", headers=READ)).status == 200
    assert (await client.get("/api/v1/oncall", headers=READ)).status == 200
    ics = await client.get("/api/v1/rotations/primary.ics", params={"token": READ_TOKEN})
    assert ics.status == 200 and ics.content_type == "text/calendar"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/incidents", {"service": "web", "summary": "by a dashboard", "priority": "P1"}),
        ("/api/v1/incidents/{id}/acknowledge", {}),
        ("/api/v1/incidents/{id}/resolve", {}),
        ("/api/v1/incidents/{id}/notes", {"text": "hello"}),
        ("/api/v1/incidents/{id}/escalate", {}),
    ],
)
async def test_a_read_only_token_never_writes(make_client, path, body):
    client = await make_client(_settings())
    incident = await http.open_incident(client)
    before = await http.detail(client, incident)
    resp = await client.post(path.format(id=incident), json=body, headers=READ)
    assert resp.status == 403
    assert "PAGER_DASHBOARD_TOKEN is read-only" in (await resp.json())["error"]
    assert await http.detail(client, incident) == before
    assert len(await http.incidents(client)) == 1


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE"])
async def test_other_writing_methods_are_refused_to_a_read_only_token(make_client, method):
    client = await make_client(_settings())
    incident = await http.open_incident(client)
    resp = await client.request(method, f"/api/v1/incidents/{incident}", headers=READ)
    assert resp.status == 403


async def test_an_unknown_token_is_still_401(make_client):
    client = await make_client(_settings())
    resp = await client.post("/api/v1/incidents", json={}, headers={"Authorization": "Bearer nope"})
    assert resp.status == 401


async def test_every_write_is_on_the_timeline_with_the_tokens_name(make_client):
    settings = support.settings(
        "api_tokens_env: [PAGER_API_TOKEN, PAGER_DEPLOY_TOKEN]", {**support.ENV, "PAGER_DEPLOY_TOKEN": "deploy-bot"}
    )
    client = await make_client(settings)
    deploy = {"Authorization": "Bearer deploy-bot"}
    incident = await http.open_incident(client, user="alice")
    note = await client.post(f"/api/v1/incidents/{incident}/notes", json={"text": "rolling back"}, headers=deploy)
    assert note.status == 201
    escalated = await client.post(f"/api/v1/incidents/{incident}/escalate", headers=deploy)
    assert escalated.status == 200
    ack = await client.post(f"/api/v1/incidents/{incident}/acknowledge", json={"user": "bob"}, headers=support.API)
    assert ack.status == 200
    resolved = await client.post(f"/api/v1/incidents/{incident}/resolve", headers=deploy)
    assert resolved.status == 200

    timeline = (await http.detail(client, incident))["timeline"]
    written = [(e["kind"], e["actor"], (e["details"] or {}).get("token")) for e in timeline]
    assert ("triggered", "alice", "PAGER_API_TOKEN") in written
    assert ("note", "api", "PAGER_DEPLOY_TOKEN") in written
    assert any(kind == "manual_escalation" and token == "PAGER_DEPLOY_TOKEN" for kind, _, token in written)
    assert ("acknowledged", "bob", "PAGER_API_TOKEN") in written
    assert ("resolved", "api", "PAGER_DEPLOY_TOKEN") in written
