"""Sign-in links and web sessions, kept in PostgreSQL so any replica honours them and they can be revoked.

A link is good once, for `LINK_TTL`; a session lasts `SESSION_TTL` after its last use. Only the
SHA-256 of either token is stored. Each session carries its own CSRF token for the forms it posts.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import hashlib
import secrets

from pager.store import db, sql

Q = sql.QUERIES

LINK_TTL = datetime.timedelta(minutes=15)
SESSION_TTL = datetime.timedelta(days=30)
TOUCH_EVERY = datetime.timedelta(hours=1)  # a session's expiry slides forward at most this often (one write)
MAX_LINKS = 5  # per user per LINK_TTL: asking again and again cannot flood a mailbox


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclasses.dataclass(frozen=True, slots=True)
class Session:
    user_id: str
    via: str  # 'link' (signed in by a one-time link) or 'proxy' (trusted_user_header)
    csrf_token: str
    expires_at: datetime.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Started:
    token: str  # goes in the cookie; never stored
    session: Session


class Refusal(enum.Enum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"


@dataclasses.dataclass(frozen=True, slots=True)
class LinkState:
    """What a link would do if redeemed now: sign `user_id` in, or be refused for `refusal`."""

    user_id: str | None
    refusal: Refusal | None


class Sessions:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def issue_link(self, user_id: str, now: datetime.datetime) -> str | None:
        """A new one-time link token for the user, or None when MAX_LINKS are already out."""
        token = new_token()
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                if await conn.fetchval(Q["recent_signin_links"], user_id, now - LINK_TTL) >= MAX_LINKS:
                    return None
                await conn.execute(Q["issue_signin_link"], _hash(token), user_id, now, now + LINK_TTL)
        return token

    async def peek_link(self, token: str, now: datetime.datetime) -> LinkState:
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["peek_signin_link"], _hash(token))
        return _state(row, now)

    async def redeem_link(self, token: str, now: datetime.datetime) -> Started | LinkState:
        """Use the link up and open a session in the same transaction, or say why it is refused."""
        digest = _hash(token)
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                user_id = await conn.fetchval(Q["redeem_signin_link"], digest, now)
                if user_id is None:
                    return _state(await conn.fetchrow(Q["peek_signin_link"], digest), now)
                return await self._start(conn, user_id, "link", now)

    async def start(self, user_id: str, via: str, now: datetime.datetime) -> Started:
        with db.translate_errors():
            async with self.pool.acquire() as conn:
                return await self._start(conn, user_id, via, now)

    async def _start(self, conn: db.Connection, user_id: str, via: str, now: datetime.datetime) -> Started:
        token, csrf = new_token(), new_token()
        await conn.execute(Q["start_session"], _hash(token), user_id, via, csrf, now, now + SESSION_TTL)
        return Started(token, Session(user_id, via, csrf, now + SESSION_TTL))

    async def get(self, token: str, now: datetime.datetime) -> Session | None:
        """The live session for a cookie; its expiry slides forward while it is used."""
        digest = _hash(token)
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["get_session"], digest, now)
            if row is None:
                return None
            expires_at = row["expires_at"]
            if now - row["last_seen_at"] >= TOUCH_EVERY:
                expires_at = now + SESSION_TTL
                await self.pool.execute(Q["touch_session"], digest, now, expires_at)
        return Session(row["user_id"], row["via"], row["csrf_token"], expires_at)

    async def end(self, token: str) -> None:
        with db.translate_errors():
            await self.pool.execute(Q["end_session"], _hash(token))

    async def end_all(self, user_id: str) -> int:
        """Sign the user out on every device; returns how many sessions ended."""
        with db.translate_errors():
            status = await self.pool.execute(Q["end_user_sessions"], user_id)
        return int(status.rpartition(" ")[2])


def _state(row: db.Record | None, now: datetime.datetime) -> LinkState:
    if row is None:
        return LinkState(None, Refusal.UNKNOWN)
    if row["used_at"] is not None:
        return LinkState(row["user_id"], Refusal.USED)
    if row["expires_at"] <= now:
        return LinkState(row["user_id"], Refusal.EXPIRED)
    return LinkState(row["user_id"], None)
