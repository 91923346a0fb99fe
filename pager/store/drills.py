"""Drills' side of the store: open one (the engine then walks its chain), read what happened to it."""

from __future__ import annotations

import datetime
import typing

from pager import models, plan
from pager.store import db, escalations, postmortems, sql

Q = sql.QUERIES


class Drills:
    def __init__(self, pool: db.Pool, on_opened: typing.Callable[[], None] | None = None) -> None:
        self.pool = pool
        self._on_opened = on_opened

    async def start(self, drill: plan.OpenDrill, now: datetime.datetime) -> int:
        """Open a drill incident; this replica's engine is woken after COMMIT, the others by NOTIFY."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                [incident_id] = await escalations.open_drills(conn, [drill], now)
        if self._on_opened is not None:
            self._on_opened()
        return incident_id

    async def record(self, incident_id: int) -> tuple[models.IncidentDetail, tuple[models.PageRecord, ...]] | None:
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
                record = await postmortems.read_record(conn, incident_id)
        return None if record is None else (record.detail, record.pages)

    async def arm_missing(self, timers: typing.Sequence[plan.SetTimer]) -> None:
        """Arm timers the daemon keeps (drill schedules, the digest) unless they are armed already."""
        if not timers:
            return
        with db.translate_errors():
            await self.pool.execute(
                Q["arm_missing_timers"],
                [t.kind for t in timers],
                [t.subject for t in timers],
                [t.due_at for t in timers],
                [int(t.priority) for t in timers],
                [t.incident_id for t in timers],
                [dict(t.data) for t in timers],
            )
