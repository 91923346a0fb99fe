"""The connector: the one module that imports asyncpg, and the pool that outlives a database outage."""

from __future__ import annotations

import asyncio
import contextlib
import typing

import asyncpg
import msgspec
import structlog

log = structlog.get_logger(__name__)

Connection = asyncpg.Connection
Pool = asyncpg.Pool
Record = asyncpg.Record
UniqueViolation = asyncpg.UniqueViolationError


class Unavailable(Exception):
    """The database cannot be reached now; the caller should answer 503 and let the client retry."""


_TEMPORARY = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
)


@contextlib.contextmanager
def translate_errors() -> typing.Iterator[None]:
    """Turn every transient driver fault into `Unavailable`; let real bugs through."""
    try:
        yield
    except _TEMPORARY as exc:
        raise Unavailable(f"database unavailable: {type(exc).__name__}: {exc}") from exc


def _encode_json(value: object) -> str:
    return msgspec.json.encode(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=_encode_json, decoder=msgspec.json.decode, schema="pg_catalog")


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections are made on demand, so it exists even while the database is down."""
    return await asyncpg.create_pool(
        url,
        min_size=0,
        max_size=max_size,
        init=_init_connection,
        command_timeout=30,
        timeout=5,
        max_inactive_connection_lifetime=300,
    )


async def connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url, timeout=10)
    await _init_connection(conn)
    return conn
