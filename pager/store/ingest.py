"""Ingest's side of the store: a webhook's groups written in one round trip each, committed before the answer."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import typing

from pager import models
from pager.store import db, sql

Q = sql.QUERIES


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


def _lock_order(groups: typing.Sequence[Group]) -> list[int]:
    """Indexes of `groups` in the one order every writer locks incidents in, so two batches cannot deadlock."""
    return sorted(range(len(groups)), key=lambda i: (groups[i].service, groups[i].dedup_key))


COALESCE_MAX = 64
"""At most this many waiting single-group ingests are committed together in one statement."""
COALESCE_IN_FLIGHT = 4
"""Coalesced transactions running at once; requests arriving meanwhile wait and join the next one."""


@dataclasses.dataclass(slots=True)
class _Waiting:
    integration: str
    group: Group
    now: datetime.datetime
    future: asyncio.Future[typing.Any]


class _Coalescer:
    """Commits concurrent single-group ingests together: one statement and one fsync for many requests.

    Each request still gets its answer only after the COMMIT that holds its group. A request that
    arrives while fewer than COALESCE_IN_FLIGHT transactions run starts one at once, so light load
    waits for nothing. An outage fails the whole batch (each caller answers 503); any other error
    retries the batch group by group, so one bad group cannot fail the others.
    """

    def __init__(self, pool: db.Pool) -> None:
        self._pool = pool
        self._queue: list[_Waiting] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def ingest(self, integration: str, g: Group, now: datetime.datetime) -> typing.Any:
        future: asyncio.Future[typing.Any] = asyncio.get_running_loop().create_future()
        self._queue.append(_Waiting(integration, g, now, future))
        if self._running < COALESCE_IN_FLIGHT:
            self._running += 1
            task = asyncio.create_task(self._flush())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await future

    async def _flush(self) -> None:
        batch: list[_Waiting] = []
        try:
            while self._queue:
                batch, self._queue = self._queue[:COALESCE_MAX], self._queue[COALESCE_MAX:]
                try:
                    rows = await self._together(batch)
                except db.Unavailable as exc:
                    _settle(batch, exc)
                    continue
                except Exception:  # noqa: BLE001 - one group's fault: find it below, alone
                    await self._one_by_one(batch)
                    continue
                for w, row in zip(batch, rows):
                    _settle([w], row)
        except BaseException as exc:  # cancelled at shutdown: no caller may wait forever
            _settle([*batch, *self._queue], db.Unavailable(f"ingest interrupted: {exc!r}"))
            self._queue = []
            raise
        finally:
            self._running -= 1

    async def _together(self, batch: list[_Waiting]) -> list[typing.Any]:
        with db.translate_errors():
            if len(batch) == 1:
                w = batch[0]
                return [await self._pool.fetchrow(Q["ingest"], *_args(w.now, w.integration, w.group))]
            order = _lock_order([w.group for w in batch])
            docs = [
                {
                    "t": w.now,
                    "i": w.integration,
                    "s": w.group.service,
                    "k": w.group.dedup_key,
                    "p": w.group.policy,
                    "a": _alerts(w.group),
                }
                for w in (batch[i] for i in order)
            ]
            rows = await self._pool.fetch(Q["ingest_many"], docs)
        out: list[typing.Any] = [None] * len(batch)
        for i, row in zip(order, rows, strict=True):
            out[i] = row
        return out

    async def _one_by_one(self, batch: list[_Waiting]) -> None:
        for w in batch:
            try:
                with db.translate_errors():
                    row = await self._pool.fetchrow(Q["ingest"], *_args(w.now, w.integration, w.group))
            except Exception as exc:  # noqa: BLE001 - handed to the one caller it belongs to
                _settle([w], exc)
            else:
                _settle([w], row)


def _settle(waiting: typing.Iterable[_Waiting], outcome: typing.Any) -> None:
    for w in waiting:
        if w.future.done():
            continue  # its caller went away
        if isinstance(outcome, BaseException):
            w.future.set_exception(outcome)
        else:
            w.future.set_result(outcome)


class Ingester:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool
        self._coalescer = _Coalescer(pool)

    async def ingest(self, integration: str, groups: list[Group], now: datetime.datetime) -> list[IngestResult]:
        """Commit every group in one transaction; returns only after COMMIT."""
        if not groups:
            return []
        if len(groups) == 1:
            rows = [await self._coalescer.ingest(integration, groups[0], now)]
        else:
            rows = [None] * len(groups)
            with db.translate_errors():
                async with self.pool.acquire() as conn, conn.transaction():
                    for i in _lock_order(groups):
                        rows[i] = await conn.fetchrow(Q["ingest"], *_args(now, integration, groups[i]))
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
