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


class Conflict(Unavailable):
    """A deadlock or serialization failure (class 40): PostgreSQL rolled the transaction back, and the
    same statement again, a moment later, normally succeeds."""


class InvalidInput(Exception):
    """A value the database can never store (out of range, a character it cannot hold): retrying is useless."""


_TEMPORARY = (
    OSError,
    asyncio.TimeoutError,
    asyncpg.InterfaceError,  # the connection closed under the query, a pool closing
    asyncpg.InternalClientError,  # TargetServerAttributeNotMatched: every host is a standby, mid-failover
    asyncpg.PostgresConnectionError,  # class 08
    asyncpg.exceptions.OperatorInterventionError,  # class 57: shutdown, crash, cannot connect now, cancelled
    asyncpg.exceptions.InsufficientResourcesError,  # class 53: too many connections, disk full, out of memory
    asyncpg.exceptions.TransactionRollbackError,  # class 40: serialization failure, deadlock
    asyncpg.exceptions.PostgresSystemError,  # class 58: I/O error on the server
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # a server that is (or just became) a standby
    asyncpg.exceptions.IdleInTransactionSessionTimeoutError,
    asyncpg.exceptions.TransactionTimeoutError,
)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


@contextlib.contextmanager
def translate_errors() -> typing.Iterator[None]:
    """Turn every fault of the connection or the server's state into `Unavailable`; let real bugs through.

    The one place driver errors are classified. Anything raised while connecting is an outage too
    (`_connect`), whatever it is: a wrong password, a database not created yet or a standby where a
    primary was expected is fixed outside pager, and the client's retry then gets through.
    """
    try:
        yield
    except asyncpg.exceptions.TransactionRollbackError as exc:
        raise Conflict(f"database conflict: {_describe(exc)}") from exc
    except _TEMPORARY as exc:
        raise Unavailable(f"database unavailable: {_describe(exc)}") from exc
    except asyncpg.DataError as exc:
        raise InvalidInput(str(exc).splitlines()[0]) from exc


@contextlib.asynccontextmanager
async def relaxed(conn: Connection) -> typing.AsyncIterator[None]:
    """A transaction whose COMMIT does not wait for the WAL flush (`synchronous_commit = off`), begun in one round trip.

    For what a crash may lose because it is derived again: the engine's claims, whose plans a later
    durable commit (the sender's `prepare`, before anything is sent) flushes with it. During a storm
    every durable commit waits for the flush of all WAL written before it; the P0 path now waits for
    two (its ingest and its page's `prepare`) instead of four.

    Its statements are planned for their parameters each time (`force_custom_plan`): plans cached
    while `incidents` was small kept hashing the whole table to save a few escalations or queue a few
    pages (auto_explain, pager bench's single-event phase on a new database: 2-4 ms a statement, and
    growing with the table), where the planner, seeing the table's size now, reads it by key.
    """
    await conn.execute("BEGIN; SET LOCAL synchronous_commit = off; SET LOCAL plan_cache_mode = force_custom_plan")
    try:
        yield
    except BaseException:
        if not conn.is_closed():
            with contextlib.suppress(Exception):  # a broken connection: the pool discards it, rolled back
                await conn.execute("ROLLBACK")
        raise
    await conn.execute("COMMIT")


CHANNELS = frozenset({"pager_incidents", "pager_outbox"})
"""What `announce` may notify: the channels whose busiest notifications it sends."""
PAYLOADS = frozenset({"", "urgent", "routine"})
"""What it may say: the lane woken (pager.lanes.named), or every lane."""


async def announce(db: Pool | Connection, channel: str, payload: str = "") -> None:
    """NOTIFY `channel` after the COMMIT it tells of, in a transaction of its own that does not wait for the WAL flush.

    A NOTIFY takes a database-wide lock that its transaction holds to the end of its commit, WAL flush
    included: transactions that notify commit one at a time (see migration 0094). Notified here, the
    data's commit takes no such lock, and this one holds it only briefly. A notification is no data:
    one an outage or a crash loses (logged, never raised) is found by the lanes' safety re-check.
    """
    if channel not in CHANNELS or payload not in PAYLOADS:
        raise ValueError(f"announce: unknown channel {channel!r} or payload {payload!r}")
    try:
        with translate_errors():
            await db.execute(
                f"BEGIN; SET LOCAL synchronous_commit = off; SELECT pg_notify('{channel}', '{payload}'); COMMIT;"
            )
    except Unavailable as exc:
        log.warning("could not announce after commit", channel=channel, error=str(exc))


def _encode_json(value: object) -> str:
    return msgspec.json.encode(value).decode()


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=_encode_json, decoder=msgspec.json.decode, schema="pg_catalog")


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Nothing to undo on release: pager sets no session state on pooled connections (no SET, LISTEN,
    advisory lock or cursor outside a transaction), and asyncpg still rolls back an open transaction.
    asyncpg's default reset would cost a round trip per release."""


async def _connect(*args: typing.Any, **kwargs: typing.Any) -> asyncpg.Connection:
    """asyncpg.connect for the pool: whatever stops a connection being made is `Unavailable`."""
    try:
        return await asyncpg.connect(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - see translate_errors: every connect failure is an outage
        raise Unavailable(f"cannot connect to the database: {_describe(exc)}") from exc


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
        connect=_connect,
    )
    held = []
    try:
        for _ in range(min_size):
            held.append(await pool.acquire())
    except Unavailable as exc:
        log.warning("database not reachable yet; connections will be made on demand", error=str(exc))
    finally:
        for conn in held:
            await pool.release(conn)
    return pool


async def connect(url: str) -> asyncpg.Connection:
    """One connection of its own (migrations, administration); `Unavailable` when it cannot be made."""
    conn = await _connect(url, timeout=10)
    try:
        with translate_errors():
            await _init_connection(conn)
    except BaseException:
        conn.terminate()
        raise
    return conn


class Listener:
    """LISTEN on channels over a dedicated connection that comes back after any outage.

    `on_notify` runs for every notification, and once more after each (re)connect, since
    notifications sent while disconnected are lost. `on_state(True)` runs when the connection is
    up and `on_state(False)` when it is lost, for the log's and the metrics' sake. Nothing ends the
    loop but `stop()`: an error of any kind is logged and the listener connects again.
    """

    RETRY_MIN = 0.1
    RETRY_MAX = 2.0
    KEEPALIVE = 10.0  # seconds between checks that a quiet connection is still there

    def __init__(
        self,
        url: str,
        channels: typing.Sequence[str],
        on_notify: typing.Callable[[str, str], None],
        *,
        on_state: typing.Callable[[bool], None] | None = None,
    ) -> None:
        self._url = url
        self._channels = channels
        self._on_notify = on_notify
        self._on_state = on_state or (lambda _up: None)
        self._task: asyncio.Task[None] | None = None

    def _callback(self, conn: object, pid: int, channel: str, payload: str) -> None:
        self._on_notify(channel, payload)

    async def _listen(self, conn: asyncpg.Connection) -> None:
        """Until the connection is lost: LISTEN, wake everyone once, then wait and check it now and then."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        for channel in self._channels:
            await conn.add_listener(channel, self._callback)
        for channel in self._channels:
            self._on_notify(channel, "")
        while not lost.is_set():
            try:
                await asyncio.wait_for(lost.wait(), timeout=self.KEEPALIVE)
            except TimeoutError:
                await conn.execute("SELECT 1", timeout=5)  # notices a silently dropped connection

    async def _run(self) -> None:
        delay = self.RETRY_MIN
        down_since: float | None = None  # loop time the connection was lost, None while never up
        loop = asyncio.get_running_loop()
        while True:
            try:
                conn = await asyncpg.connect(self._url, timeout=5)
            except Exception as exc:  # noqa: BLE001 - any failure to connect is an outage to wait out
                log.warning("listener cannot connect; retrying", error=_describe(exc), retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.RETRY_MAX)
                continue
            delay = self.RETRY_MIN
            try:
                if down_since is not None:
                    log.info("listener reconnected", down_s=round(loop.time() - down_since, 3))
                self._on_state(True)
                await self._listen(conn)
                raise ConnectionError("connection terminated")
            except Exception as exc:  # noqa: BLE001 - whatever broke the connection, listen again
                log.warning("listener connection lost; reconnecting", error=_describe(exc))
            finally:
                conn.terminate()
            down_since = loop.time()
            self._on_state(False)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="pager-listener")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
