"""The stakeholder mail outbox: lease queued mail, then record what sending it did, in one transaction."""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import plan
from pager.store import db, escalations, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Queued:
    """One leased stakeholder email, composed when it was queued."""

    id: int
    incident_id: int
    stakeholder: str
    event: str
    recipients: tuple[str, ...]
    subject: str
    body: str
    attempts: int

    @classmethod
    def from_row(cls, row: typing.Mapping[str, typing.Any]) -> Queued:
        return cls(**{**row, "recipients": tuple(row["recipients"])})


@dataclasses.dataclass(frozen=True, slots=True)
class Outcomes:
    sent: tuple[tuple[int, str | None], ...] = ()  # (mail, message id)
    retry: tuple[tuple[int, str, datetime.datetime], ...] = ()  # (mail, error, not before)
    failed: tuple[tuple[int, str], ...] = ()  # (mail, error)
    log: tuple[plan.Line, ...] = ()


class Queue:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def claim(self, now: datetime.datetime, limit: int, lease: datetime.timedelta) -> list[Queued]:
        """Lease up to `limit` due emails; the lease commits now, before anything is sent."""
        with db.translate_errors():
            rows = await self.pool.fetch(Q["claim_stakeholder_mail"], now, limit, lease)
        return [Queued.from_row(r) for r in rows]

    async def record(self, o: Outcomes, now: datetime.datetime) -> None:
        if not (o.sent or o.retry or o.failed):
            return
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                if o.sent:
                    await conn.execute(Q["stakeholder_mail_sent"], [i for i, _ in o.sent], now, [m for _, m in o.sent])
                if o.retry:
                    await conn.execute(
                        Q["stakeholder_mail_retry"],
                        [i for i, _, _ in o.retry],
                        [e for _, e, _ in o.retry],
                        [t for _, _, t in o.retry],
                    )
                if o.failed:
                    await conn.execute(Q["stakeholder_mail_failed"], [i for i, _ in o.failed], [e for _, e in o.failed])
                if o.log:
                    await escalations.append_log(conn, o.log, now)

    async def next_due(self) -> datetime.datetime | None:
        with db.translate_errors():
            return await self.pool.fetchval(Q["next_stakeholder_mail_due"])
