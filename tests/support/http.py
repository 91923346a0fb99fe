"""Calls a test makes to a running pager app, as a client would make them."""

from __future__ import annotations

import json
import typing

from tests import support


async def incidents(client: typing.Any, **query: typing.Any) -> list[dict[str, typing.Any]]:
    resp = await client.get("/api/v1/incidents", params=query, headers=support.API)
    assert resp.status == 200
    return (await resp.json())["incidents"]


async def detail(client: typing.Any, incident_id: int) -> dict[str, typing.Any]:
    resp = await client.get(f"/api/v1/incidents/{incident_id}", headers=support.API)
    assert resp.status == 200
    return await resp.json()


async def post_am(client: typing.Any, body: bytes, headers: typing.Mapping[str, str] = support.AM) -> typing.Any:
    return await client.post("/v1/webhooks/alertmanager", data=body, headers=headers)


async def enqueue(client: typing.Any, body: typing.Any) -> typing.Any:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post("/v2/enqueue", data=data, headers={"Content-Type": "application/json"})


async def open_incident(client: typing.Any, summary: str = "disk full on db-1", **extra: typing.Any) -> int:
    body = {"service": "web", "summary": summary, "priority": "P1", **extra}
    resp = await client.post("/api/v1/incidents", json=body, headers=support.API)
    assert resp.status == 201, await resp.text()
    return (await resp.json())["id"]


async def paged(pool: typing.Any, incident_id: int, user: str = "alice", address: str = "+15551230001") -> None:
    """What the outbox leaves behind when it pages `user`: the precondition of acting on the incident."""
    await pool.execute(
        "INSERT INTO notifications (incident_id, round, step, user_id, channel, address, created_at, not_before,"
        " priority) SELECT $1, 0, 0, $2, 'sms', $3, now(), now(), priority FROM incidents WHERE id = $1",
        incident_id,
        user,
        address,
    )
