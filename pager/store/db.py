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


class InvalidInput(Exception):
    """A value the database can never store (out of range, a character it cannot hold): retrying is useless."""


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
    except asyncpg.DataError as exc:
        raise InvalidInput(str(exc).splitlines()[0]) from exc


def _encode_json(value: object) -> str:
    return msgspec.json.encode(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=_encode_json, decoder=msgspec.json.decode, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to undo on release: pager sets no session state on pooled connections (no SET, LISTEN,
    advisory lock or cursor outside a transaction), and asyncpg still rolls back an open transaction.
    asyncpg's default reset would cost a round trip per release."""


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    """A pool whose connections are made on demand, so it exists even while the database is down.

    Idle connections are kept, not closed after minutes: a pager is idle most nights, and the first
    page after one should not pay for new connections, their prepared statements and a freshly
    compiled pager_ingest. `min_size` of them are opened now if the database is up.
    """
    pool = await asyncpg.create_pool(
        url,
        min_size=0,
        max_size=max_size,
        init=_init_connection,
        command_timeout=30,
        timeout=5,
        max_inactive_connection_lifetime=0,
        reset=_keep_session,
    )
    held = []
    try:
        for _ in range(min_size):
            held.append(await pool.acquire())
    except (*_TEMPORARY, asyncpg.PostgresError) as exc:
        log.warning("database not reachable yet; connections will be made on demand", error=str(exc))
    finally:
        for conn in held:
            await pool.release(conn)
    return pool


async def connect(url: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(url, timeout=10)
    await _init_connection(conn)
    return conn


class Listener:
    """LISTEN on channels over a dedicated connection that comes back after an outage.

    `on_notify` runs for every notification, and once more after each reconnect,
    since notifications sent while disconnected are lost.
    """

    def __init__(self, url: str, channels: typing.Sequence[str], on_notify: typing.Callable[[str], None]) -> None:
        self._url = url
        self._channels = channels
        self._on_notify = on_notify
        self._task: asyncio.Task[None] | None = None

    def _callback(self, conn: object, pid: int, channel: str, payload: str) -> None:
        self._on_notify(channel)

    async def _run(self) -> None:
        delay = 0.2
        while True:
            lost = asyncio.Event()
            try:
                conn = await asyncpg.connect(self._url, timeout=5)
            except (*_TEMPORARY, asyncpg.PostgresError) as exc:
                log.warning("listener cannot connect; retrying", error=str(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5)
                continue
            delay = 0.2
            try:
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                for channel in self._channels:
                    await conn.add_listener(channel, self._callback)
                for channel in self._channels:
                    self._on_notify(channel)
                while not lost.is_set():
                    try:
                        await asyncio.wait_for(lost.wait(), timeout=10)
                    except TimeoutError:
                        await conn.execute("SELECT 1")  # notices a silently dropped connection
            except _TEMPORARY as exc:
                log.warning("listener connection lost; reconnecting", error=str(exc))
            finally:
                conn.terminate()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pager-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
