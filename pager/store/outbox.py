"""The sender's side of the store: lease pending pages, then write each batch's outcome in one transaction."""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import models, plan
from pager.store import db, escalations, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Claimed:
    """A leased page with the incident facts its message needs."""

    id: int
    incident_id: int
    round: int
    step: int
    user_id: str
    channel: str
    address: str
    created_at: datetime.datetime
    attempts: int
    priority: models.Priority
    service: str
    summary: str
    incident_status: models.IncidentStatus
    annotations: dict[str, typing.Any]
    first_page: bool
    opted_out: bool = False  # an SMS page to a number that replied STOP
    drill: bool = False
    recent_change: str | None = None  # the latest change of its service in the 2 h before it opened

    @classmethod
    def from_row(cls, row: typing.Mapping[str, typing.Any]) -> Claimed:
        return cls(
            **{
                **row,
                "priority": models.Priority(row["priority"]),
                "incident_status": models.IncidentStatus(row["incident_status"]),
            }
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Sent:
    """One message sent to an address in the throttle window: as urgent as its most urgent page."""

    address: str
    priority: models.Priority
    at: datetime.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class Delivery:
    """A page a delivery report settled: `status` is the page's ('delivered' or 'failed'), `report` the provider's."""

    id: int
    incident_id: int
    user_id: str
    channel: str
    status: str
    report: str
    error: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class Prepared:
    """What the sender writes before it sends: stale pages cancelled, throttled pages held, ack tokens issued."""

    cancel: tuple[int, ...] = ()
    hold: tuple[tuple[int, datetime.datetime], ...] = ()  # (page, not before)
    tokens: tuple[tuple[bytes, int, str], ...] = ()  # (token hash, incident, user)
    log: tuple[plan.Line, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Outcomes:
    """What the providers answered for a batch: pages sent, to retry, failed for good."""

    sent: tuple[tuple[int, str | None], ...] = ()  # (page, provider id)
    retry: tuple[tuple[int, str, datetime.datetime], ...] = ()  # (page, error, not before)
    failed: tuple[tuple[int, str], ...] = ()  # (page, error)
    log: tuple[plan.Line, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Fallback:
    """Pages that failed for good (or were reported undelivered), to be tried on their users' other channels."""

    pages: tuple[Delivery, ...]
    queued: dict[int, tuple[str, ...]]  # source page → channels newly queued for it
    reachable: frozenset[int]  # source pages whose user is still being paged on another channel
    offered: frozenset[int] = frozenset()  # source pages whose user had any other channel at all


FallbackOptions = typing.Callable[[Delivery], typing.Sequence[tuple[str, str]]]
"""A failed page → the (channel, address) pairs it may fall back to."""
Settle = typing.Callable[[list[Delivery], Fallback], list[plan.Line]]
"""Delivery reports settled in the transaction, and the fallback queued for them → the timeline lines to write."""


class Outbox:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def claim(
        self, now: datetime.datetime, limit: int, lease: datetime.timedelta, *, urgent: bool = False
    ) -> list[Claimed]:
        """Lease up to `limit` due pages of one lane (`urgent`: P0/P1, else P2/P3); the lease commits now."""
        with db.translate_errors():
            rows = await self.pool.fetch(Q["claim_pages_urgent" if urgent else "claim_pages"], now, limit, lease)
        return [Claimed.from_row(r) for r in rows]

    async def recent_sends(self, channel: str, addresses: list[str], since: datetime.datetime) -> list[Sent]:
        if not addresses:
            return []
        with db.translate_errors():
            rows = await self.pool.fetch(Q["recent_sends"], channel, addresses, since)
        return [Sent(r["address"], models.Priority(r["priority"]), r["sent_at"]) for r in rows]

    async def prepare(self, p: Prepared, now: datetime.datetime) -> None:
        """Cancel, hold, issue tokens and log, in one transaction, before anything is sent."""
        if not (p.cancel or p.hold or p.tokens or p.log):
            return
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                if p.cancel:
                    await conn.execute(Q["cancel_pages"], list(p.cancel))
                if p.hold:
                    await conn.execute(Q["hold_pages"], [i for i, _ in p.hold], [u for _, u in p.hold])
                if p.tokens:
                    await conn.executemany(Q["issue_ack_token"], [(h, i, u, now) for h, i, u in p.tokens])
                if p.log:
                    await escalations.append_log(conn, p.log, now)

    async def record(
        self,
        outcomes: Outcomes,
        failed: typing.Sequence[Delivery],
        now: datetime.datetime,
        options: FallbackOptions,
        settle: Settle,
    ) -> Fallback:
        """Write a batch's outcomes, the delivery reports that overtook its sends, and their fallback, in one transaction.

        `failed` are the pages that failed for good; a report that arrived before its send was recorded is
        applied here, and `settle` (pure) turns everything settled into timeline lines written with it.
        """
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                reports: list[Delivery] = []
                if outcomes.sent:
                    ids = [i for i, _ in outcomes.sent]
                    providers = [p for _, p in outcomes.sent]
                    await conn.execute(Q["lock_provider_ids"], providers)
                    await conn.execute(Q["mark_sent"], ids, now, providers)
                    for report in await conn.fetch(Q["take_delivery_reports"], providers):
                        reports += await _apply(
                            conn, report["provider_id"], report["status"], report["received_at"], report["error"]
                        )
                if outcomes.retry:
                    await conn.execute(
                        Q["mark_retry"],
                        [i for i, _, _ in outcomes.retry],
                        [e for _, e, _ in outcomes.retry],
                        [t for _, _, t in outcomes.retry],
                    )
                if outcomes.failed:
                    await conn.execute(
                        Q["mark_failed"], [i for i, _ in outcomes.failed], [e for _, e in outcomes.failed]
                    )
                fallback = await _fall_back(
                    conn, [*failed, *(r for r in reports if r.status != "delivered")], now, options
                )
                lines = [*outcomes.log, *settle(reports, fallback)]
                if lines:
                    await escalations.append_log(conn, lines, now)
        return fallback

    async def delivery(
        self,
        provider_id: str,
        status: str,
        error: str | None,
        now: datetime.datetime,
        options: FallbackOptions | None = None,
        settle: Settle | None = None,
    ) -> list[Delivery]:
        """Record a provider's delivery report on every page the message carried (a bundle has several).

        A report that overtook the send record is kept for `record` to apply, and settles nothing now. Pages
        it reports undelivered fall back (with `options`), and `settle` gives the lines written with it.
        """
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                await conn.execute(Q["lock_provider_ids"], [provider_id])
                reports = await _apply(conn, provider_id, status, now, error)
                if not reports:
                    await conn.execute(Q["keep_delivery_report"], provider_id, status, error, now)
                if reports and options is not None and settle is not None:
                    failed = [r for r in reports if r.status != "delivered"]
                    fallback = await _fall_back(conn, failed, now, options)
                    lines = settle(reports, fallback)
                    if lines:
                        await escalations.append_log(conn, lines, now)
        return reports

    async def next_due(self, *, urgent: bool | None = None) -> datetime.datetime | None:
        """When the next page of a lane (`urgent` True: P0/P1, False: P2/P3, None: any) is due."""
        query = {True: "next_page_due_urgent", False: "next_page_due", None: "next_page_due_any"}[urgent]
        with db.translate_errors():
            return await self.pool.fetchval(Q[query])


async def _apply(
    conn: db.Connection, provider_id: str, status: str, at: datetime.datetime, error: str | None
) -> list[Delivery]:
    rows = await conn.fetch(Q["record_delivery"], provider_id, status, at, error)
    return [Delivery(**dict(r)) for r in rows]


async def _fall_back(
    conn: db.Connection, pages: typing.Sequence[Delivery], now: datetime.datetime, options: FallbackOptions
) -> Fallback:
    """Queue `pages` on their users' other channels (one statement), and find which are still reachable."""
    wanted = [(p.id, channel, address) for p in pages for channel, address in options(p)]
    queued: dict[int, list[str]] = {}
    if wanted:
        for r in await conn.fetch(
            Q["queue_fallback"], now, [s for s, _, _ in wanted], [c for _, c, _ in wanted], [a for _, _, a in wanted]
        ):
            queued.setdefault(r["source"], []).append(r["channel"])
        if queued:
            await conn.execute(Q["notify_outbox"], "")  # both lanes: a fallback may be of any priority
    rest = [p.id for p in pages if p.id not in queued]
    reachable = {r["id"] for r in await conn.fetch(Q["reachable_elsewhere"], rest)} if rest else set()
    offered = frozenset(s for s, _, _ in wanted)
    return Fallback(tuple(pages), {k: tuple(v) for k, v in queued.items()}, frozenset(reachable), offered)
