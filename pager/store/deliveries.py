"""The outbound lane's side of the store: incident news fanned out to deliveries, leased, and recorded.

News is never a page: it has its own tables (filled by a trigger on the
timeline, so every path that changes an incident queues it in the same
transaction), its own claims and its own lane, so a slow or failing webhook
never holds a page back.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import models, plan
from pager.store import db, escalations, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """A timeline entry webhooks and Slack follow, not yet fanned out to its targets."""

    id: int
    incident_id: int
    log_id: int
    kind: str
    service: str


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """One delivery an event gives: `target` is 'webhook:<id>' or 'slack'."""

    event: Event
    target: str


@dataclasses.dataclass(frozen=True, slots=True)
class Claimed:
    """A leased delivery: the news (the timeline entry) and the incident as it is now."""

    id: int
    event: str
    target: str
    attempts: int
    queued_at: datetime.datetime
    entry: models.TimelineEntry
    incident: models.Incident
    slack: tuple[str, str] | None  # (channel id, ts) of the incident's Slack message, once posted

    @classmethod
    def from_row(cls, row: typing.Mapping[str, typing.Any]) -> Claimed:
        entry = models.TimelineEntry(
            row["log_id"],
            row["entry_at"] or row["queued_at"],
            row["event"],
            row["entry_actor"],
            row["entry_message"] or "",
            row["entry_details"],
        )
        slack = (row["slack_channel"], row["slack_ts"]) if row["slack_ts"] else None
        return cls(
            row["delivery_id"],
            row["event"],
            row["target"],
            row["attempts"],
            row["queued_at"],
            entry,
            models.Incident.from_row(row),
            slack,
        )


@dataclasses.dataclass(frozen=True, slots=True)
class Outcomes:
    """What a batch of sends wrote: sent, retried later, failed for good; Slack messages posted; timeline."""

    sent: tuple[int, ...] = ()
    retry: tuple[tuple[int, str, datetime.datetime], ...] = ()  # (delivery, error, not before)
    failed: tuple[tuple[int, str], ...] = ()
    slack_posted: tuple[tuple[int, str, str], ...] = ()  # (incident, channel id, ts)
    log: tuple[plan.Line, ...] = ()


FanOut = typing.Callable[[list[Event]], list[Target]]


class Deliveries:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    async def follow(self, kinds: typing.Iterable[str]) -> None:
        """Have the timeline's trigger queue entries of these kinds (added to what other replicas follow)."""
        wanted = sorted(set(kinds))
        if wanted:
            with db.translate_errors():
                await self.pool.execute(Q["follow_kinds"], wanted)

    async def fan_out(self, now: datetime.datetime, limit: int, targets: FanOut) -> int:
        """Turn up to `limit` queued events into deliveries (`targets`, pure, decides which) in one transaction."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                events = [Event(**dict(r)) for r in await conn.fetch(Q["claim_outbound_events"], limit)]
                if not events:
                    return 0
                wanted = targets(events)
                if wanted:
                    await conn.execute(
                        Q["queue_deliveries"],
                        [t.event.incident_id for t in wanted],
                        [t.event.log_id for t in wanted],
                        [t.event.kind for t in wanted],
                        [t.target for t in wanted],
                        now,
                    )
                await conn.execute(Q["drop_outbound_events"], [e.id for e in events])
        return len(events)

    async def claim(self, now: datetime.datetime, limit: int, lease: datetime.timedelta) -> list[Claimed]:
        with db.translate_errors():
            rows = await self.pool.fetch(Q["claim_deliveries"], now, limit, lease)
        return [Claimed.from_row(r) for r in rows]

    async def record(self, o: Outcomes, now: datetime.datetime) -> None:
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                if o.sent:
                    await conn.execute(Q["mark_deliveries_sent"], list(o.sent), now)
                if o.retry:
                    await conn.execute(
                        Q["mark_deliveries_retry"],
                        [i for i, _, _ in o.retry],
                        [e for _, e, _ in o.retry],
                        [t for _, _, t in o.retry],
                    )
                if o.failed:
                    await conn.execute(Q["mark_deliveries_failed"], [i for i, _ in o.failed], [e for _, e in o.failed])
                if o.slack_posted:
                    await conn.execute(
                        Q["save_slack_messages"],
                        [i for i, _, _ in o.slack_posted],
                        [c for _, c, _ in o.slack_posted],
                        [t for _, _, t in o.slack_posted],
                        now,
                    )
                if o.log:
                    await escalations.append_log(conn, o.log, now)

    async def next_due(self, now: datetime.datetime) -> datetime.datetime | None:
        with db.translate_errors():
            return await self.pool.fetchval(Q["next_outbound_due"], now)
