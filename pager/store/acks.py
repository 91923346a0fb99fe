"""Ack tokens and who was paged: what ack links and SMS replies need from the store."""

from __future__ import annotations

import dataclasses
import datetime

from pager import ack, models
from pager.store import db, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Link:
    """What an ack token opens: one incident, for one user."""

    user_id: str
    incident: models.Incident


class Acks:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def issue(
        self, incident_id: int, user_id: str, now: datetime.datetime, conn: db.Connection | None = None
    ) -> str:
        """A new token for this incident and user; only its hash is stored."""
        token = ack.new_token()
        with db.translate_errors():
            await (conn or self.pool).execute(Q["issue_ack_token"], ack.hash_token(token), incident_id, user_id, now)
        return token

    async def lookup(self, token: str) -> Link | None:
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["lookup_ack_token"], ack.hash_token(token))
        if row is None:
            return None
        return Link(row["user_id"], models.Incident.from_row(row))

    async def was_paged(self, incident_id: int, user_id: str) -> bool:
        with db.translate_errors():
            return bool(await self.pool.fetchval(Q["was_paged"], incident_id, user_id))

    async def paged_users(self, incident_id: int) -> list[str]:
        with db.translate_errors():
            return [r["user_id"] for r in await self.pool.fetch(Q["paged_users"], incident_id)]
