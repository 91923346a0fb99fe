"""Action items' side of the store: each item written with its reminder timer, and done with it gone."""

from __future__ import annotations

import datetime

from pager import actions
from pager.store import db, sql

Q = sql.QUERIES
LIST_LIMIT = 1000


class Actions:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def add(
        self,
        incident_id: int,
        title: str,
        owner: str,
        due: datetime.date,
        remind_at: datetime.datetime,
        actor: str,
        now: datetime.datetime,
    ) -> actions.ActionItem | None:
        """The new item (its reminder armed at `remind_at`); None when there is no such incident."""
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["add_action"], incident_id, title, owner, due, remind_at, now, actor)
        return None if row is None else actions.ActionItem.from_row(row)

    async def list(
        self, status: str | None = None, incident_id: int | None = None, owner: str | None = None
    ) -> list[actions.ActionItem]:
        with db.translate_errors():
            rows = await self.pool.fetch(Q["list_actions"], status, incident_id, owner, LIST_LIMIT)
        return [actions.ActionItem.from_row(r) for r in rows]

    async def done(self, action_id: int, actor: str, now: datetime.datetime) -> actions.ActionItem | None:
        """Mark it done (a second call changes nothing); None when there is no such item."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(Q["action_done"], action_id, now, actor)
                if row is None:
                    row = await conn.fetchrow(Q["get_action"], action_id)
        return None if row is None else actions.ActionItem.from_row(row)
