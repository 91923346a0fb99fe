"""The engine's side of the store: claim due timers, record what the walker decided, in one transaction."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import typing

from pager import models
from pager.store import db, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Due:
    id: int
    service: str
    priority: models.Priority
    policy: str | None
    state: models.EscalationState
    status: str = "triggered"


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What to write for one incident: its new state, its pages (with addresses), its timeline lines."""

    incident_id: int
    state: models.EscalationState
    pages: tuple[tuple[models.Page, str], ...] = ()
    log: tuple[tuple[str, str], ...] = ()  # (kind, message)


def _due(row: db.Record) -> Due:
    return Due(
        id=row["id"],
        service=row["service"],
        priority=models.Priority(row["priority"]),
        policy=row["escalation_policy"],
        state=models.EscalationState(row["escalation_step"], row["escalation_round"], row["next_escalation_at"]),
        status=row.get("status", "triggered"),
    )


class Batch:
    """Claimed incidents, locked until the transaction ends; `record` writes all outcomes in three statements."""

    def __init__(self, conn: db.Connection, due: list[Due]) -> None:
        self._conn = conn
        self.due = due
        self.queued = 0

    async def record(self, outcomes: typing.Sequence[Outcome], now: datetime.datetime) -> None:
        if not outcomes:
            return
        with db.translate_errors():
            await self._conn.execute(
                Q["save_escalations"],
                [o.incident_id for o in outcomes],
                [o.state.step for o in outcomes],
                [o.state.round for o in outcomes],
                [o.state.next_at for o in outcomes],
            )
            pages = [p for o in outcomes for p in o.pages]
            if pages:
                rows = await self._conn.fetch(
                    Q["queue_pages"],
                    [p.incident_id for p, _ in pages],
                    [p.round for p, _ in pages],
                    [p.step for p, _ in pages],
                    [p.user for p, _ in pages],
                    [p.channel for p, _ in pages],
                    [address for _, address in pages],
                    now,
                )
                self.queued += len(rows)
                if rows:
                    await self._conn.execute(Q["notify_outbox"])
            lines = [(o.incident_id, kind, message) for o in outcomes for kind, message in o.log]
            if lines:
                await self._conn.execute(
                    Q["append_log"],
                    now,
                    "pager",
                    [i for i, _, _ in lines],
                    [k for _, k, _ in lines],
                    [m for _, _, m in lines],
                )


class Escalations:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    @contextlib.asynccontextmanager
    async def claim_due(self, now: datetime.datetime, limit: int) -> typing.AsyncIterator[Batch]:
        """Due incidents locked FOR UPDATE SKIP LOCKED; whatever the block records commits with the claim."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                rows = await conn.fetch(Q["claim_due"], now, limit)
                yield Batch(conn, [_due(r) for r in rows])

    @contextlib.asynccontextmanager
    async def lock(self, incident_id: int) -> typing.AsyncIterator[Batch]:
        """One incident, locked whatever its timer, for a manual escalation."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(Q["lock_incident"], incident_id)
                yield Batch(conn, [] if row is None else [_due(row)])

    async def next_due(self) -> datetime.datetime | None:
        with db.translate_errors():
            return await self.pool.fetchval(Q["next_due"])
