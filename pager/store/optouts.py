"""SMS opt-outs: numbers that replied STOP, and the timeline of the open incidents they were paged for."""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import plan
from pager.store import db, escalations, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class OptOut:
    phone: str
    keyword: str
    at: datetime.datetime


Lines = typing.Callable[[list[tuple[int, str]]], list[plan.Line]]
"""(incident, user) pairs paged at the number → the timeline lines that record the change."""


class OptOuts:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def change(self, phone: str, stop: bool, keyword: str, now: datetime.datetime, lines: Lines) -> bool:
        """Opt `phone` out (`stop`) or back in; False when it already was. The lines commit with the change."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                if stop:
                    changed = await conn.fetchval(Q["opt_out"], phone, keyword, now)
                else:
                    changed = await conn.fetchval(Q["opt_in"], phone)
                if changed is None:
                    return False
                paged = [
                    (r["incident_id"], r["user_id"]) for r in await conn.fetch(Q["open_incidents_paged_at"], phone)
                ]
                written = lines(paged)
                if written:
                    await escalations.append_log(conn, written, now)
        return True

    async def list(self) -> list[OptOut]:
        with db.translate_errors():
            return [OptOut(**dict(r)) for r in await self.pool.fetch(Q["list_opt_outs"])]
