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


def incident(inc: models.Incident, now: datetime.datetime) -> dict[str, typing.Any]:
    """An incident as the API shows it; `now` says whether an open incident has missed its targets yet."""
    return {
        "id": inc.id,
        "number": inc.number,
        "service": inc.service,
        "priority": inc.priority.name,
        "status": str(inc.status),
        "dedup_key": inc.dedup_key,
        "summary": inc.summary,
        "created_at": timestamp(inc.created_at),
        "acknowledged_at": timestamp(inc.acknowledged_at),
        "resolved_at": timestamp(inc.resolved_at),
        "acknowledged_by": inc.acknowledged_by,
        "resolved_by": inc.resolved_by,
        "last_seen_at": timestamp(inc.last_seen_at),
        "integration": inc.integration,
        "drill": inc.drill,
        "alert_count": inc.alert_count,
        "priority_rule": inc.priority_rule,
        "labels": inc.labels,
        "annotations": inc.annotations,
        "escalation": {
            "policy": inc.escalation_policy,
            "step": inc.escalation.step,
            "round": inc.escalation.round,
            "next_at": timestamp(inc.escalation.next_at),
        },
        "targets": {
            "ack_by": timestamp(inc.ack_by),
            "resolve_by": timestamp(inc.resolve_by),
            "ack_breached": inc.breached("ack", now),
            "resolve_breached": inc.breached("resolve", now),
        },
        "roles": {role: inc.roles.get(role) for role in models.ROLES},
        "next_update_due": None if inc.status is models.IncidentStatus.RESOLVED else timestamp(inc.next_update_due),
        "recovered_at": timestamp(inc.recovered_at),
        "stable_until": timestamp(inc.stable_until),
        "maintenance": inc.maintenance_id,
        "recent_changes": [change(c) for c in inc.recent_changes],
    }


def update(u: models.StatusUpdate) -> dict[str, typing.Any]:
    """A status update as the API shows it."""
    return {
        "id": u.id,
        "incident_id": u.incident_id,
        "at": timestamp(u.at),
        "by": u.by,
        "status": u.status,
        "known": u.known,
        "doing": u.doing,
        "unknown": u.unknown,
        "next_update_at": timestamp(u.next_update_at),
    }


def change(c: models.Change) -> dict[str, typing.Any]:
    """A change event as /api/v1/changes and an incident's `recent_changes` show it."""
    return {
        "id": c.id,
        "service": c.service,
        "summary": c.summary,
        "source": c.source,
        "at": timestamp(c.at),
        "received_at": timestamp(c.received_at),
        "integration": c.integration,
        "custom_details": c.custom_details,
        "links": list(c.links),
        "images": list(c.images),
    }


def detail(d: models.IncidentDetail, now: datetime.datetime) -> dict[str, typing.Any]:
    """An incident with its alerts and timeline."""
    return {
        **incident(d.incident, now),
        "alerts": [
            {
                "fingerprint": a.fingerprint,
                "status": a.status,
                "priority": a.priority.name,
                "summary": a.summary,
                "labels": a.labels,
                "annotations": a.annotations,
                "starts_at": timestamp(a.starts_at),
                "ends_at": timestamp(a.ends_at),
                "first_seen_at": timestamp(a.first_seen_at),
                "last_seen_at": timestamp(a.last_seen_at),
            }
            for a in d.alerts
        ],
        "timeline": [
            {
                "id": e.id,
                "at": timestamp(e.at),
                "kind": e.kind,
                "actor": e.actor,
                "message": e.message,
                "details": e.details,
            }
            for e in d.timeline
        ],
    }
