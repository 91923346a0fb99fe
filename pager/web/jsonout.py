"""How incidents and timestamps look on the wire (RFC 3339, UTC)."""

from __future__ import annotations

import datetime
import typing

import msgspec
from aiohttp import web

from pager import models


def timestamp(value: datetime.datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def _default(value: object) -> object:
    if isinstance(value, datetime.datetime):
        return timestamp(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


_encoder = msgspec.json.Encoder(enc_hook=_default)


def response(data: object, status: int = 200, headers: typing.Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=_encoder.encode(data), status=status, content_type="application/json", headers=headers)


def error(status: int, message: str, errors: list[str] | None = None, **extra: object) -> web.Response:
    body: dict[str, object] = {"error": message, **extra}
    if errors:
        body["errors"] = errors
    headers = {"Retry-After": "5"} if status >= 500 else None
    return response(body, status, headers)


def incident(row: typing.Mapping[str, typing.Any]) -> dict[str, typing.Any]:
    out = {
        "id": row["id"],
        "number": row["id"],
        "service": row["service"],
        "priority": models.Priority(row["priority"]).name,
        "status": row["status"],
        "dedup_key": row["dedup_key"],
        "summary": row["summary"],
        "created_at": timestamp(row["created_at"]),
        "acknowledged_at": timestamp(row["acknowledged_at"]),
        "resolved_at": timestamp(row["resolved_at"]),
        "acknowledged_by": row["acknowledged_by"],
        "resolved_by": row["resolved_by"],
        "last_seen_at": timestamp(row["last_seen_at"]),
        "integration": row["integration"],
        "alert_count": row["alert_count"],
        "priority_rule": row["priority_rule"],
        "labels": row["labels"],
        "annotations": row["annotations"],
        "escalation": {
            "policy": row["escalation_policy"],
            "step": row["escalation_step"],
            "round": row["escalation_round"],
            "next_at": timestamp(row["next_escalation_at"]),
        },
    }
    if "alerts" in row:
        out["alerts"] = [{**a, "priority": models.Priority(a["priority"]).name} for a in row["alerts"]]
    if "timeline" in row:
        out["timeline"] = list(row["timeline"])
    return out
