"""Post-mortems' side of the store: an incident's whole record for the draft, and the edited text."""

from __future__ import annotations

import dataclasses
import datetime

from pager import actions, models, postmortem
from pager.store import changes, db, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Saved:
    """A post-mortem people have edited and saved."""

    body: str
    created_at: datetime.datetime
    updated_at: datetime.datetime
    updated_by: str


async def read_record(conn: db.Connection, incident_id: int) -> postmortem.Record | None:
    """The incident, its alerts, timeline, pages, action items and its service's changes, with `conn` (in the
    caller's snapshot): the changes of the 2 h before it opened (its `recent_changes`) and those made while it
    was open (a rollback, a fix deployed)."""
    row = await conn.fetchrow(Q["get_incident"], incident_id)
    if row is None:
        return None
    alerts = await conn.fetch(Q["incident_alerts"], incident_id)
    log = await conn.fetch(Q["incident_log"], incident_id)
    pages = await conn.fetch(Q["incident_pages"], incident_id)
    items = await conn.fetch(Q["incident_actions"], incident_id)
    [incident] = await changes.with_recent(conn, [models.Incident.from_row(row)])
    changed = await changes.around(conn, incident)
    detail = models.IncidentDetail(
        incident,
        tuple(models.AlertState.from_row(a) for a in alerts),
        tuple(models.TimelineEntry.from_row(e) for e in log),
    )
    return postmortem.Record(
        detail,
        tuple(models.PageRecord.from_row(p) for p in pages),
        tuple(actions.ActionItem.from_row(a) for a in items),
        tuple(postmortem.Change(c.at, c.service, c.summary, c.source or "") for c in changed),
    )


class Postmortems:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def record(self, incident_id: int) -> tuple[postmortem.Record, Saved | None] | None:
        """What the draft is written from and the saved text if any, in one snapshot; None: no such incident."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
                record = await read_record(conn, incident_id)
                saved = await conn.fetchrow(Q["get_postmortem"], incident_id) if record else None
        if record is None:
            return None
        return record, None if saved is None else Saved(**saved)

    async def saved(self, incident_id: int) -> Saved | None:
        """The saved text, if people have saved one (the web UI's incident page says so)."""
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["get_postmortem"], incident_id)
        return None if row is None else Saved(**row)

    async def save(self, incident_id: int, body: str, actor: str, now: datetime.datetime) -> Saved | None:
        """Save the edited text (which ends the due date's reminders); None when there is no such incident."""
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["save_postmortem"], incident_id, body, now, actor)
        return None if row is None else Saved(body, row["created_at"], row["updated_at"], row["updated_by"])

    async def overdue(self) -> int:
        with db.translate_errors():
            return int(await self.pool.fetchval(Q["postmortems_overdue"]))
