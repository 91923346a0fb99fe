"""The notices' side of the store (mail that is not a page): lease due ones, record what became of each."""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager.store import db, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Queued:
    """Leased mail: a reminder (subject and body given) or a digest (rendered from `data` when sent)."""

    id: int
    kind: str
    incident_id: int | None
    recipients: tuple[str, ...]
    subject: str | None
    body: str | None
    data: typing.Mapping[str, typing.Any]
    attempts: int
    created_at: datetime.datetime


class Notices:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def claim(self, now: datetime.datetime, limit: int, lease: datetime.timedelta) -> list[Queued]:
        with db.translate_errors():
            rows = await self.pool.fetch(Q["claim_notices"], now, limit, lease)
        return [Queued(**{**r, "recipients": tuple(r["recipients"])}) for r in rows]

    async def sent(self, mail_id: int, now: datetime.datetime) -> None:
        with db.translate_errors():
            await self.pool.execute(Q["notice_sent"], mail_id, now)

    async def retry(self, mail_id: int, error: str, not_before: datetime.datetime) -> None:
        with db.translate_errors():
            await self.pool.execute(Q["notice_retry"], mail_id, error, not_before)

    async def failed(self, mail_id: int, error: str) -> None:
        with db.translate_errors():
            await self.pool.execute(Q["notice_failed"], mail_id, error)

    async def next_due(self) -> datetime.datetime | None:
        with db.translate_errors():
            return await self.pool.fetchval(Q["next_notice_due"])
