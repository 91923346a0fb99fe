"""Maintenance windows' side of the store: create, list and end windows, and load what the engine's
claim needs (the active windows, and for a window's start or end the incidents it concerns)."""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import models, plan
from pager.engine import maintenance as rules
from pager.store import db, escalations, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class ClaimContext:
    """What a claimed batch knows of maintenance: active windows; per claimed window timer, its incidents."""

    active: tuple[models.MaintenanceWindow, ...] = ()
    windows: dict[int, models.MaintenanceWindow] = dataclasses.field(default_factory=dict)
    candidates: dict[int, tuple[models.Incident, ...]] = dataclasses.field(default_factory=dict)
    partial: frozenset[int] = frozenset()


async def for_claim(
    conn: db.Connection, timers: typing.Sequence[models.Timer], incidents: int, now: datetime.datetime
) -> ClaimContext:
    """Loaded in the claim's transaction: active windows when anything is claimed; the incidents of
    each window whose start or end timer came due (locked, SKIP LOCKED: `partial` names the windows
    some of whose incidents another transaction held)."""
    ids = sorted({int(t.subject) for t in timers if t.kind in (rules.START, rules.END)})
    if not incidents and not timers:
        return ClaimContext()
    active = [models.MaintenanceWindow.from_row(r) for r in await conn.fetch(Q["current_maintenance"], now)]
    active = [w for w in active if w.active(now)]
    if not ids:
        return ClaimContext(active=tuple(active))
    windows = {r["id"]: models.MaintenanceWindow.from_row(r) for r in await conn.fetch(Q["maintenance_windows"], ids)}
    candidates: dict[int, tuple[models.Incident, ...]] = {}
    partial = set()
    for t in timers:
        if t.kind not in (rules.START, rules.END) or int(t.subject) not in windows:
            continue
        w = windows[int(t.subject)]
        if t.kind == rules.START:
            args: tuple[typing.Any, ...] = (list(w.services), bool(w.matchers))
            rows = await conn.fetch(Q["maintenance_candidates"], *args)
            total = await conn.fetchval(Q["maintenance_candidates_count"], *args)
        else:
            rows = await conn.fetch(Q["maintenance_held"], w.id)
            total = await conn.fetchval(Q["maintenance_held_count"], w.id)
        candidates[w.id] = tuple(models.Incident.from_row(r) for r in rows)
        if total > len(rows):
            partial.add(w.id)
    return ClaimContext(tuple(active), windows, candidates, frozenset(partial))


class Maintenance:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def create(
        self,
        *,
        services: typing.Sequence[str],
        matchers: typing.Sequence[str],
        starts_at: datetime.datetime,
        ends_at: datetime.datetime,
        reason: str,
        by: str,
        now: datetime.datetime,
    ) -> models.MaintenanceWindow:
        """Store a window with its start and end timers, in one transaction; returns after COMMIT."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(
                    Q["add_maintenance"], list(services), list(matchers), starts_at, ends_at, reason, by, now
                )
                window = models.MaintenanceWindow.from_row(row)
                await escalations.write(conn, plan.Plan(set_timers=rules.timers(window)), now)
                await conn.execute(Q["notify_incidents"])
        return window

    async def current(self, now: datetime.datetime) -> list[models.MaintenanceWindow]:
        with db.translate_errors():
            rows = await self.pool.fetch(Q["current_maintenance"], now)
        return [models.MaintenanceWindow.from_row(r) for r in rows]

    async def get(self, window_id: int) -> models.MaintenanceWindow | None:
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["get_maintenance"], window_id)
        return None if row is None else models.MaintenanceWindow.from_row(row)

    async def end(self, window_id: int, by: str, now: datetime.datetime) -> models.MaintenanceWindow | None:
        """End it now: its end timer comes due at once. None when it had already ended (or never existed)."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(Q["end_maintenance"], window_id, now, by)
                if row is None:
                    return None
                window = models.MaintenanceWindow.from_row(row)
                _, ending = rules.timers(window)
                await escalations.write(
                    conn, plan.Plan(set_timers=(ending,), clear_timers=((rules.START, str(window.id)),)), now
                )
                await conn.execute(Q["notify_incidents"])
        return window
