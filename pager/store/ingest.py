"""Ingest's side of the store: a webhook's groups written in one round trip each, committed before the answer."""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import datetime
import typing

import structlog
import tenacity

from pager import lanes as lanes_mod
from pager import models
from pager.store import db, sql

Q = sql.QUERIES
log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Group:
    """Alerts bound for one incident: the same service and dedup key."""

    service: str
    dedup_key: str
    policy: str | None
    alerts: list[models.Classified]


@dataclasses.dataclass(frozen=True, slots=True)
class IngestResult:
    service: str
    dedup_key: str
    incident_id: int | None
    created: bool
    status: str  # the incident's status afterwards, or 'ignored'
    deduplicated: int
    priority: models.Priority | None = None
    notice: tuple[str, int] | None = None  # (who acknowledged, sequence) when a new alert joined an acked incident
    changed_to: str | None = None  # the status this ingest moved the incident to, if it moved it
    created_at: datetime.datetime | None = None


def group(alerts: typing.Iterable[models.Classified], policy_of: typing.Callable[[str], str | None]) -> list[Group]:
    groups: dict[tuple[str, str], list[models.Classified]] = {}
    for c in alerts:
        groups.setdefault((c.service, c.alert.dedup_key), []).append(c)
    return [Group(service, key, policy_of(service), items) for (service, key), items in groups.items()]


def _alerts(g: Group) -> list[dict[str, typing.Any]]:
    """A group's alerts as the one JSON document pager_ingest unpacks (0006_ingest_json.sql).

    "m" (only when there are any): the blast-radius rules the alert matches (0020_incident_practice.sql).
    """
    return [
        {
            "f": c.alert.fingerprint,
            "a": c.alert.action.value,
            "p": int(c.priority),
            "r": c.rule,
            "s": c.alert.summary,
            "l": c.alert.labels,
            "n": c.alert.annotations,
            "b": c.alert.starts_at,
            "e": c.alert.ends_at,
            **({"m": [{"r": r, "n": n, "p": int(p)} for r, n, p in c.blast]} if c.blast else {}),
        }
        for c in g.alerts
    ]


def _args(now: datetime.datetime, integration: str, g: Group) -> tuple[typing.Any, ...]:
    return (now, integration, g.service, g.dedup_key, g.policy, _alerts(g))


COALESCE_MAX = 64
"""At most this many groups (from any number of waiting requests) are committed together in one statement."""
COALESCE_IN_FLIGHT = 2
"""Statements for lower-priority requests running at once; requests arriving meanwhile wait and join the next."""
CONFLICT_ATTEMPTS = 4
"""Tries of a batch PostgreSQL rolled back for a deadlock or serialization failure before its callers get 503."""
URGENT = models.Priority.P1
"""A request triggering an alert at this priority or above goes ahead of the others and has a slot of its own."""


def urgent(groups: typing.Iterable[Group]) -> bool:
    """Whether a request could open or raise a P0/P1 incident: it must not wait behind a storm."""
    return any(c.priority <= URGENT and c.alert.action is models.Action.TRIGGER for g in groups for c in g.alerts)


@dataclasses.dataclass(slots=True)
class _Waiting:
    """One request's groups, committed together (all or none) and answered after that COMMIT."""

    integration: str
    groups: list[Group]
    now: datetime.datetime
    future: asyncio.Future[list[typing.Any]]


class _Coalescer:
    """Commits concurrent requests together: one statement and one fsync for many of them.

    Each request still gets its answer only after the COMMIT that holds its groups, and a request's
    groups are never split across statements. A request that arrives while a slot is free starts a
    statement at once, so light load waits for nothing.

    Priority first: a request that triggers a P0/P1 alert joins the urgent queue, which every
    statement drains before the others, and may run in a slot reserved for urgent requests (which
    never takes a lower-priority one), so it waits neither behind a storm's queued groups nor for
    its statements to finish. Lower-priority requests use at most COALESCE_IN_FLIGHT slots (and
    pool connections), which leaves the urgent slot a connection of the pool.

    A deadlock or serialization failure runs the batch again (CONFLICT_ATTEMPTS in all); an outage
    fails the whole batch (each caller answers 503); any other error retries the batch
    request by request, so one bad request cannot fail the others.
    """

    def __init__(self, pool: db.Pool, on_opened: typing.Callable[[str], None] | None = None) -> None:
        self._pool = pool
        self._on_opened = on_opened
        self._unannounced: set[str] = set()  # lanes of new incidents committed, not yet announced
        self._announcing = False
        self._urgent: collections.deque[_Waiting] = collections.deque()
        self._normal: collections.deque[_Waiting] = collections.deque()
        self._running = 0  # statements in the shared slots
        self._reserved = False  # the urgent slot is in use
        self._slots = max(1, min(COALESCE_IN_FLIGHT, pool.get_max_size() - 1))
        self._tasks: set[asyncio.Task[None]] = set()

    async def ingest(self, integration: str, groups: list[Group], now: datetime.datetime) -> list[typing.Any]:
        future: asyncio.Future[list[typing.Any]] = asyncio.get_running_loop().create_future()
        is_urgent = urgent(groups)
        (self._urgent if is_urgent else self._normal).append(_Waiting(integration, groups, now, future))
        if is_urgent and not self._reserved:
            self._reserved = True
            self._start(reserved=True)
        elif self._running < self._slots:
            self._running += 1
            self._start(reserved=False)
        return await future

    def _start(self, *, reserved: bool) -> None:
        task = asyncio.create_task(self._flush(reserved))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _next(self, reserved: bool) -> list[_Waiting]:
        """The next batch: urgent requests first; the reserved slot takes nothing else."""
        queue = self._urgent if self._urgent or reserved else self._normal
        batch: list[_Waiting] = []
        groups = 0
        while queue and (not batch or groups + len(queue[0].groups) <= COALESCE_MAX):
            w = queue.popleft()
            batch.append(w)
            groups += len(w.groups)
        return batch

    async def _flush(self, reserved: bool) -> None:
        batch: list[_Waiting] = []
        try:
            while batch := self._next(reserved):
                await self._write(batch)
        except BaseException as exc:  # cancelled at shutdown: no caller may wait forever
            _settle([*batch, *self._urgent, *self._normal], db.Unavailable(f"ingest interrupted: {exc!r}"))
            self._urgent.clear()
            self._normal.clear()
            raise
        finally:
            if reserved:
                self._reserved = False
            else:
                self._running -= 1

    async def _write(self, batch: list[_Waiting]) -> None:
        """One batch on one connection: its statement, its announcements, each caller's answer."""
        try:
            with db.translate_errors():
                async with self._pool.acquire() as conn:
                    try:
                        rows = await self._retrying(conn, batch)
                    except db.Unavailable:
                        raise
                    except Exception:  # noqa: BLE001 - one request's fault: find it below, alone
                        await self._one_by_one(conn, batch)
                        return
                    await self._answer(conn, batch, rows)
        except db.Unavailable as exc:
            _settle(batch, exc)

    async def _answer(self, conn: db.Connection, batch: list[_Waiting], rows: list[list[typing.Any]]) -> None:
        """Settle each caller, the batch's new incidents told to this replica at once (`on_opened`, before
        any await: its engines and urgent worker act on them) and announced to the others after (0095), so
        that no answer waits for the announcement. Should this process die between the two, its
        incidents are claimed by the other replicas' safety re-check, or by its own engines on restart."""
        woken = {lanes_mod.lane_of(models.Priority(r["priority"])) for rs in rows for r in rs if _opened(r)}
        if woken and self._on_opened is not None:
            try:
                self._on_opened(lanes_mod.payload(woken))
            except Exception:  # noqa: BLE001 - committed: a wake-up's fault must not turn the answers into errors
                log.exception("waking this replica after an ingest failed; the safety re-check will find it")
        for w, row in zip(batch, rows):
            _settle([w], row)
        self._unannounced |= woken
        await self._announce(conn)

    async def _announce(self, conn: db.Connection) -> None:
        """One statement announces at a time; the batches committed meanwhile are in its next NOTIFY, so a
        burst of small commits (single events) costs a few NOTIFYs, not one each."""
        if self._announcing:
            return
        self._announcing = True
        try:
            while self._unannounced:
                lanes, self._unannounced = self._unannounced, set()
                await db.announce(conn, "pager_incidents", lanes_mod.payload(lanes))
        finally:
            self._announcing = False

    async def _retrying(self, conn: db.Connection, batch: list[_Waiting]) -> list[list[typing.Any]]:
        """`_together`, again after a deadlock or serialization failure: concurrent statements that lock
        existing incidents may still meet in opposite orders, and a retry costs less than a 503."""
        retrying = tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(db.Conflict),
            stop=tenacity.stop_after_attempt(CONFLICT_ATTEMPTS),
            wait=tenacity.wait_random(0, 0.01),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await self._together(conn, batch)
        raise AssertionError("unreachable: tenacity re-raises the last conflict")

    async def _together(self, conn: db.Connection, batch: list[_Waiting]) -> list[list[typing.Any]]:
        """Every group of the batch in one statement (so one transaction); pager_ingest_many keeps the lock order."""
        with db.translate_errors():
            if len(batch) == 1 and len(batch[0].groups) == 1:
                w = batch[0]
                return [[await conn.fetchrow(Q["ingest"], *_args(w.now, w.integration, w.groups[0]))]]
            flat = [(w, j) for w in batch for j in range(len(w.groups))]
            rows = await conn.fetch(Q["ingest_many"], [_doc(w, w.groups[j]) for w, j in flat])
        out: dict[int, list[typing.Any]] = {id(w): [None] * len(w.groups) for w in batch}
        for row in rows:
            w, j = flat[row["ord"] - 1]
            out[id(w)][j] = row
        if len(rows) != len(flat) or any(r is None for rs in out.values() for r in rs):
            raise RuntimeError(f"pager_ingest_many answered {len(rows)} rows for {len(flat)} groups")
        return [out[id(w)] for w in batch]

    async def _one_by_one(self, conn: db.Connection, batch: list[_Waiting]) -> None:
        for w in batch:
            try:
                [rows] = await self._together(conn, [w])
            except db.Unavailable:
                raise
            except Exception as exc:  # noqa: BLE001 - handed to the one caller it belongs to
                _settle([w], exc)
            else:
                await self._answer(conn, [w], [rows])


def _opened(row: typing.Any) -> bool:
    """A new incident: pager_ingest leaves its NOTIFY to the caller, after COMMIT (0095)."""
    return bool(row["created"]) and row["priority"] is not None


def _doc(w: _Waiting, g: Group) -> dict[str, typing.Any]:
    return {"t": w.now, "i": w.integration, "s": g.service, "k": g.dedup_key, "p": g.policy, "a": _alerts(g)}


def _settle(waiting: typing.Iterable[_Waiting], outcome: typing.Any) -> None:
    for w in waiting:
        if w.future.done():
            continue  # its caller went away
        if isinstance(outcome, BaseException):
            w.future.set_exception(outcome)
        else:
            w.future.set_result(outcome)


class Ingester:
    """`on_opened(payload)` runs the moment a COMMIT opened incidents, told their lanes (pager.lanes)."""

    def __init__(self, pool: db.Pool, on_opened: typing.Callable[[str], None] | None = None) -> None:
        self.pool = pool
        self._coalescer = _Coalescer(pool, on_opened)

    async def ingest(self, integration: str, groups: list[Group], now: datetime.datetime) -> list[IngestResult]:
        """Commit every group in one transaction; returns only after COMMIT."""
        if not groups:
            return []
        rows = await self._coalescer.ingest(integration, groups, now)
        return [
            IngestResult(
                r["incident_service"] or g.service,
                g.dedup_key,
                r["incident_id"],
                r["created"],
                r["status"],
                r["deduplicated"],
                None if r["priority"] is None else models.Priority(r["priority"]),
                (r["notify_user"], r["notice_seq"]) if r["notice_seq"] is not None else None,
                r["changed_to"],
                r["created_at"],
            )
            for g, r in zip(groups, rows)
        ]
