"""Change events' side of the store: keep a change, list them, and find each incident's recent ones."""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import models
from pager.store import db, sql

Q = sql.QUERIES

PER_INCIDENT = 20
"""At most this many recent changes are shown with an incident, newest first."""
PER_POSTMORTEM = 100
"""At most this many changes go on a post-mortem's timeline (before the incident and during it)."""


class Changes:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def add(
        self,
        *,
        service: str,
        integration: str,
        summary: str,
        source: str | None,
        at: datetime.datetime,
        received_at: datetime.datetime,
        custom_details: typing.Mapping[str, typing.Any],
        links: typing.Sequence[typing.Any],
        images: typing.Sequence[typing.Any],
    ) -> models.Change:
        """Store one change; returns only after COMMIT."""
        with db.translate_errors():
            row = await self.pool.fetchrow(
                Q["add_change"],
                service,
                integration,
                summary,
                source,
                at,
                received_at,
                dict(custom_details),
                list(links),
                list(images),
            )
        return models.Change.from_row(row)

    async def list(self, service: str | None, limit: int, before_id: int | None = None) -> list[models.Change]:
        with db.translate_errors():
            rows = await self.pool.fetch(Q["list_changes"], service, limit, before_id)
        return [models.Change.from_row(r) for r in rows]


async def with_recent(
    conn: db.Connection | db.Pool, incidents: typing.Sequence[models.Incident]
) -> list[models.Incident]:
    """The incidents with `recent_changes` filled: their service's changes in the 2 h before each opened."""
    if not incidents:
        return list(incidents)
    with db.translate_errors():
        rows = await conn.fetch(
            Q["recent_changes"],
            [i.id for i in incidents],
            [i.service for i in incidents],
            [i.created_at for i in incidents],
            models.CHANGE_WINDOW,
            PER_INCIDENT,
        )
    found: dict[int, list[models.Change]] = {}
    for r in rows:
        found.setdefault(r["incident_id"], []).append(
            models.Change.from_row({k: v for k, v in r.items() if k != "incident_id"})
        )
    return [dataclasses.replace(i, recent_changes=tuple(found.get(i.id, ()))) for i in incidents]


async def around(conn: db.Connection | db.Pool, incident: models.Incident) -> list[models.Change]:
    """What changed on the incident's service from CHANGE_WINDOW before it opened until it resolved, oldest first."""
    with db.translate_errors():
        rows = await conn.fetch(
            Q["incident_changes"],
            incident.service,
            incident.created_at,
            models.CHANGE_WINDOW,
            incident.resolved_at,
            PER_POSTMORTEM,
        )
    return [models.Change.from_row(r) for r in rows]
