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
    client = await make_client(_settings())
    incident = await http.open_incident(client, user="alice")
    ack = await client.post(f"/api/v1/incidents/{incident}/acknowledge", json={"user": "bob"}, headers=support.API)
    assert ack.status == 200
    note = await client.post(f"/api/v1/incidents/{incident}/notes", json={"text": "looking"}, headers=support.API)
    assert note.status == 201
    refused = await client.post(f"/api/v1/incidents/{incident}/escalate", headers=support.API)
    assert refused.status == 409  # not a write that happened: not audited

    audits = [e for e in (await http.detail(client, incident))["timeline"] if e["kind"] == "api_write"]
    assert [(e["actor"], e["message"]) for e in audits] == [
        ("PAGER_API_TOKEN", "POST /api/v1/incidents with API token PAGER_API_TOKEN for alice"),
        ("PAGER_API_TOKEN", f"POST /api/v1/incidents/{incident}/acknowledge with API token PAGER_API_TOKEN for bob"),
        ("PAGER_API_TOKEN", f"POST /api/v1/incidents/{incident}/notes with API token PAGER_API_TOKEN"),
    ]
    assert audits[1]["details"] == {
        "token": "PAGER_API_TOKEN",
        "method": "POST",
        "path": f"/api/v1/incidents/{incident}/acknowledge",
        "status": 200,
    }
