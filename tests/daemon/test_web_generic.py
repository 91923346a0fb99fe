"""Generic JSON webhooks through the real app: the integration's JSONPath mapping reads any tool's body."""

from __future__ import annotations

import pytest

from tests import support
from tests.support import http

TOKEN = "generic-token"
GENERIC = """
integrations:
  - id: uptime
    type: generic
    token_env: PAGER_GENERIC_TOKEN
    service: web
    fields: {summary: "$.title", dedup_key: "$.id", severity: "$.level", status: "$.state", resolved_when: ok}
  - id: bare
    type: generic
    token_env: PAGER_GENERIC_BARE
    service: search
    fields: {summary: "$.check.name"}
"""
HEADERS = {"Authorization": f"Bearer {TOKEN}"}


def settings():
    return support.settings(GENERIC, {**support.ENV, "PAGER_GENERIC_TOKEN": TOKEN, "PAGER_GENERIC_BARE": "bare"})


async def post(client, body, headers=HEADERS):
    return await client.post("/v1/webhooks/generic", json=body, headers=headers)


async def test_a_mapped_body_opens_an_incident_that_a_later_ok_resolves(make_client):
    client = await make_client(settings())
    event = {"id": "chk-42", "title": "checkout probe failing", "level": "Critical", "state": "alerting"}
    resp = await post(client, event)
    assert resp.status == 200, await resp.text()
    [inc] = await http.incidents(client)
    assert (inc["summary"], inc["dedup_key"], inc["priority"], inc["status"]) == (
        "checkout probe failing",
        "chk-42",
        "P0",  # severity "Critical" read as the severity label, so classification[0] matched
        "triggered",
    )
    assert (await post(client, {**event, "state": "OK"})).status == 200
    [inc] = await http.incidents(client)
    assert inc["status"] == "resolved"


async def test_without_a_dedup_key_mapping_each_request_is_its_own_incident(make_client):
    client = await make_client(settings())
    for _ in range(2):
        assert (await post(client, {"check": {"name": "dns"}}, {"Authorization": "Bearer bare"})).status == 200
    assert [i["service"] for i in await http.incidents(client)] == ["search", "search"]


@pytest.mark.parametrize(
    "body, errors",
    [
        ({"title": "x", "level": "info", "state": "ok"}, ["fields.dedup_key ($.id): not found in the body"]),
        (
            {"id": 1, "title": {"a": 1}, "level": None, "state": "ok"},
            [
                "fields.summary ($.title): must be a string or a number, got an object",
                "fields.severity ($.level): is null",
            ],
        ),
        (
            [1, 2],
            [
                f"fields.{f} ($.{p}): not found in the body"
                for f, p in [("summary", "title"), ("dedup_key", "id"), ("severity", "level"), ("status", "state")]
            ],
        ),
    ],
)
async def test_a_missing_mapped_field_is_400_naming_it(make_client, body, errors):
    client = await make_client(settings())
    resp = await post(client, body)
    assert resp.status == 400
    assert (await resp.json())["errors"] == errors
    assert await http.incidents(client) == []


async def test_not_json_is_400_and_a_wrong_token_401(make_client):
    client = await make_client(settings())
    resp = await client.post("/v1/webhooks/generic", data=b"{nope", headers=HEADERS)
    assert resp.status == 400 and "not valid JSON" in (await resp.json())["errors"][0]
    assert (await post(client, {"title": "x"}, {"Authorization": "Bearer nope"})).status == 401
    assert (await post(client, {"title": "x"}, {})).status == 401
    assert (await post(client, {"title": "x"}, support.AM)).status == 401  # an Alertmanager token is not generic's
