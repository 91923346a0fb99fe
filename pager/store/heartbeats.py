"""Heartbeats' side of the store: register the configured ones, record a beat (resolving what its
silence opened), read their state. Each write is one transaction; a beat is answered after COMMIT."""

from __future__ import annotations

import datetime
import typing

from pager import config, models
from pager.engine import heartbeats as beat_plan
from pager.store import db, escalations, sql

Q = sql.QUERIES


class Heartbeats:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def register(self, heartbeats: typing.Sequence[config.Heartbeat], now: datetime.datetime) -> None:
        """A heartbeat configured for the first time must beat within interval + grace from now."""
        if not heartbeats:
            return
        timers = [beat_plan.deadline(hb, now, None) for hb in heartbeats]
        with db.translate_errors():
            await self.pool.execute(
                Q["register_heartbeats"],
                [hb.id for hb in heartbeats],
                now,
                [t.due_at for t in timers],
                [int(t.priority) for t in timers],
                [dict(t.data) for t in timers],
            )

    async def beat(self, hb: config.Heartbeat, now: datetime.datetime) -> typing.Any:
        """Record a beat and move the deadline; resolve the incident its silence opened.

        Returns the resolved incident's transition row (service, priority, created_at), if one was resolved.
        """
        resolved = None
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(Q["lock_heartbeat"], hb.id, now)
                row = await conn.fetchrow(Q["heartbeat_for_update"], hb.id)
                if row["incident_id"] is not None:
                    await conn.execute(Q["lock_incident"], row["incident_id"])
                    message = f"Resolved: heartbeat {hb.id} beat again"
                    resolved = await conn.fetchrow(
                        Q["transition"],
                        row["incident_id"],
                        now,
                        f"heartbeat:{hb.id}",
                        message,
                        {"via": "heartbeat"},
                        "resolved",
                        None,  # no acknowledger taking command (issue 12's $7, $8)
                        None,
                    )
                    if resolved is not None:
                        resolved = {**resolved, "id": row["incident_id"]}
                await conn.execute(Q["record_beat"], hb.id, now)
                await escalations.write(conn, beat_plan.on_beat(hb, now), now)
        return resolved

    async def list(self, ids: typing.Sequence[str]) -> dict[str, models.Heartbeat]:
        with db.translate_errors():
            rows = await self.pool.fetch(Q["list_heartbeats"], list(ids))
        return {r["id"]: models.Heartbeat.from_row(r) for r in rows}
