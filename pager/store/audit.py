"""The audit trail of API writes: one timeline entry per write, naming the token that made it."""

from __future__ import annotations

import datetime
import typing

from pager.store import db, sql

Q = sql.QUERIES

KIND = "api_write"


async def api_write(
    pool: db.Pool,
    incident_id: int,
    now: datetime.datetime,
    token: str,
    message: str,
    details: typing.Mapping[str, typing.Any],
) -> bool:
    """False when the incident does not exist (nothing to write it on)."""
    with db.translate_errors():
        return await pool.fetchval(Q["audit_api_write"], incident_id, now, token, message, dict(details)) is not None
