"""The store's side of `pager bench --only takeover`: when each escalation timer was due, fired and paged."""

from __future__ import annotations

import dataclasses
import datetime

from pager.store import db, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Timer:
    due: float  # epoch seconds
    fired: float | None
    sent: float | None


async def timers(pool: db.Pool, key_prefix: str, ack_timeout: datetime.timedelta) -> list[Timer]:
    """Step-2 timers of the incidents keyed `key_prefix…` whose step 1 was paged, in order of due time."""
    with db.translate_errors():
        rows = await pool.fetch(Q["bench_timer_instants"], key_prefix, ack_timeout)
    return [Timer(r["due"], r["fired"], r["sent"]) for r in rows]
