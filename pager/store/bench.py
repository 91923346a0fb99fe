"""The store's side of `pager bench`: read-only figures the benchmark takes straight from the database."""

from __future__ import annotations

import dataclasses
import datetime

from pager.store import db, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Backlog:
    due_timers: int
    due_pages: int

    @property
    def idle(self) -> bool:
        return self.due_timers == 0 and self.due_pages == 0


@dataclasses.dataclass(frozen=True, slots=True)
class TimerProgress:
    opened: int
    armed: int
    fired: int


class BenchStore:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def backlog(self, now: datetime.datetime) -> Backlog:
        """Timers due and pages due at `now` that the daemon has not handled yet."""
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["bench_backlog"], now)
        return Backlog(row["due_timers"], row["due_pages"])

    async def open_incidents(self) -> int:
        with db.translate_errors():
            return int(await self.pool.fetchval(Q["bench_open_incidents"]))

    async def timer_progress(self, key_prefix: str) -> TimerProgress:
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["bench_timer_progress"], key_prefix)
        return TimerProgress(row["opened"], row["armed"], row["fired"])

    async def timer_lateness(self, key_prefix: str, ack_timeout: datetime.timedelta) -> list[float]:
        """Seconds each step-2 timer of the incidents keyed `key_prefix…` fired after it was due, sorted."""
        with db.translate_errors():
            rows = await self.pool.fetch(Q["bench_timer_lateness"], key_prefix, ack_timeout)
        return [r["lateness"] for r in rows]

    async def page_stages(self, incident_ids: list[int]) -> list[tuple[float, float]]:
        """For each incident paged: (seconds from ingest to the engine queuing its first page, seconds from
        then to the sender recording it sent)."""
        with db.translate_errors():
            rows = await self.pool.fetch(Q["bench_page_stages"], incident_ids)
        return [(r["queued"], r["sent"]) for r in rows]

    async def vacuum(self) -> None:
        """VACUUM (ANALYZE) the whole database."""
        with db.translate_errors():
            await self.pool.execute(Q["bench_vacuum"])
