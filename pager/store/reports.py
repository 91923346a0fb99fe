"""The report's side of the store: every aggregate of the incident report, read in one snapshot."""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import models
from pager.store import db, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Query:
    """What to aggregate: incidents opened in [start, until), the previous period from `previous`."""

    start: datetime.datetime
    until: datetime.datetime
    previous: datetime.datetime
    service: str | None
    service_zones: typing.Mapping[str, str]
    user_zones: typing.Mapping[str, str]
    bucket: datetime.timedelta
    noisiest: int = 10
    after_change: datetime.timedelta = models.CHANGE_WINDOW


@dataclasses.dataclass(frozen=True, slots=True)
class Rows:
    response: tuple[typing.Mapping[str, typing.Any], ...]
    hour_of_week: tuple[typing.Mapping[str, typing.Any], ...]
    trend: tuple[typing.Mapping[str, typing.Any], ...]
    noisy: tuple[typing.Mapping[str, typing.Any], ...]
    pages: tuple[typing.Mapping[str, typing.Any], ...]
    holding: tuple[typing.Mapping[str, typing.Any], ...]
    drills: typing.Mapping[str, typing.Any]
    after_change: tuple[typing.Mapping[str, typing.Any], ...] = ()
    changes: tuple[typing.Mapping[str, typing.Any], ...] = ()
    changes_recorded: bool = False


class Reports:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def load(self, q: Query) -> Rows:
        zones_s = (list(q.service_zones), list(q.service_zones.values()))
        zones_u = (list(q.user_zones), list(q.user_zones.values()))
        window = (q.start, q.until, q.service)
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
                await conn.execute(Q["report_memory"])
                response = await conn.fetch(Q["report_response"], q.start, q.until, q.previous, q.service)
                hours = await conn.fetch(Q["report_hour_of_week"], *window, *zones_s)
                trend = await conn.fetch(Q["report_trend"], *window, q.bucket)
                noisy = await conn.fetch(Q["report_noisy"], *window, q.noisiest)
                pages = await conn.fetch(Q["report_pages"], *window, *zones_u)
                holding = await conn.fetch(Q["report_holding"], *window)
                drills = await conn.fetchrow(Q["report_drills"], *window)
                after = await conn.fetch(Q["report_after_change"], *window, q.previous, q.after_change)
                changed = await conn.fetch(Q["report_changes"], *window, q.after_change)
                recorded = await conn.fetchval(Q["report_changes_recorded"], q.until, q.service)
        return Rows(
            tuple(dict(r) for r in response),
            tuple(dict(r) for r in hours),
            tuple(dict(r) for r in trend),
            tuple(dict(r) for r in noisy),
            tuple(dict(r) for r in pages),
            tuple(dict(r) for r in holding),
            dict(drills),
            tuple(dict(r) for r in after),
            tuple(dict(r) for r in changed),
            bool(recorded),
        )
