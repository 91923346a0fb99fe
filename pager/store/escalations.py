"""The engine's side of the store: claim due work per lane, and write a whole plan in the claim's transaction.

Due work is of two sources, claimed the same way (FOR UPDATE SKIP LOCKED, most
urgent first): escalations, whose timer is the incident's own
`next_escalation_at`, and the `timers` table, which holds every other durable
timer keyed by (kind, subject).
"""

from __future__ import annotations

import contextlib
import datetime
import typing
import uuid

from pager import lanes as lanes_mod
from pager import models, plan
from pager.store import db, maintenance, sql

Q = sql.QUERIES


def _timer(row: typing.Any) -> models.Timer:
    """A claimed timer row, with the incident it was locked with (claim_timers selects `i.*` beside it)."""
    return models.Timer(
        kind=row["timer_kind"],
        subject=row["timer_subject"],
        due_at=row["timer_due_at"],
        priority=models.Priority(row["timer_priority"]),
        data=row["timer_data"],
        incident=models.Incident.from_row(row) if row.get("id") is not None else None,
    )


class Batch:
    """Claimed work, locked until the transaction ends; `record` writes every plan with it."""

    def __init__(
        self,
        conn: db.Connection,
        incidents: list[models.Incident],
        timers: list[models.Timer] | None = None,
        maintenance: typing.Any = None,
    ) -> None:
        self._conn = conn
        self.incidents = incidents
        self.timers = timers or []
        self.maintenance = maintenance  # store.maintenance.ClaimContext: active windows, a window's incidents
        self.queued = 0
        self.later: set[str] = set()  # channels to announce after COMMIT (db.announce)

    def __len__(self) -> int:
        return len(self.incidents) + len(self.timers)

    def full(self, limit: int) -> bool:
        """Whether a source gave as much as it was asked for, so more may be due."""
        return len(self.incidents) >= limit or len(self.timers) >= limit

    async def record(self, p: plan.Plan, now: datetime.datetime) -> None:
        """Write `p` in this transaction; the claimed timers are gone unless `p` arms them again."""
        with db.translate_errors():
            if self.timers:
                await self._conn.execute(
                    Q["clear_timers"], [t.kind for t in self.timers], [t.subject for t in self.timers]
                )
            self.queued += await write(self._conn, p, now, later=self.later)

    async def announce(self) -> None:
        """After COMMIT: the channels `record` left to announce (db.announce), all of them the P2/P3 lane's."""
        for channel in sorted(self.later):
            await db.announce(self._conn, channel, "routine")

    async def latest_update(self, incident_id: int) -> models.StatusUpdate | None:
        """The incident's newest status update, read inside this transaction (the incident is locked)."""
        with db.translate_errors():
            row = await self._conn.fetchrow(Q["latest_update"], incident_id)
        return None if row is None else models.StatusUpdate.from_row(row)


async def write(conn: db.Connection, p: plan.Plan, now: datetime.datetime, *, later: set[str] | None = None) -> int:
    """Write a plan with `conn` (inside the caller's transaction); returns how many pages were queued.

    Queued P0/P1 pages notify the senders in this transaction. P2/P3 ones do too, unless `later` is
    given: their channel is added to it, for the caller to announce after COMMIT (see db.announce).
    """
    queued = 0
    if p.ack_expired:
        await conn.execute(Q["expire_acks"], list(p.ack_expired))
    if p.heartbeats_missed:
        await conn.execute(
            Q["open_missed_heartbeats"],
            now,
            [h.heartbeat for h in p.heartbeats_missed],
            [h.service for h in p.heartbeats_missed],
            [h.policy for h in p.heartbeats_missed],
            [int(h.priority) for h in p.heartbeats_missed],
            [h.summary for h in p.heartbeats_missed],
            [h.dedup_key for h in p.heartbeats_missed],
        )
    if p.maintenance:
        await conn.execute(Q["set_maintenance"], [i for i, _ in p.maintenance], [w for _, w in p.maintenance])
    if p.cancel_pages:
        await conn.execute(Q["cancel_pending_pages"], list(p.cancel_pages))
    if p.escalations:
        await conn.execute(
            Q["save_escalations"],
            [i for i, _ in p.escalations],
            [s.step for _, s in p.escalations],
            [s.round for _, s in p.escalations],
            [s.next_at for _, s in p.escalations],
            [s.first_round for _, s in p.escalations],
        )
    if p.targets:
        await conn.execute(
            Q["set_targets"], [i for i, _, _ in p.targets], [a for _, a, _ in p.targets], [r for _, _, r in p.targets]
        )
    if p.resolves:
        await conn.execute(
            Q["resolve_quietly"],
            [r.incident_id for r in p.resolves],
            [r.at for r in p.resolves],
            [r.actor for r in p.resolves],
        )
    if p.roles:
        await _set_roles(conn, p.roles)
    if p.updates:
        u = p.updates
        await conn.execute(
            Q["insert_updates"],
            now,
            [x.incident_id for x in u],
            [x.by for x in u],
            [x.status for x in u],
            [x.known for x in u],
            [x.doing for x in u],
            [x.unknown for x in u],
            [x.next_update_at for x in u],
        )
    if p.update_due:
        await conn.execute(Q["set_update_due"], [i for i, _ in p.update_due], [d for _, d in p.update_due])
    if p.stable_for:
        await conn.execute(Q["set_stable_for"], [i for i, _ in p.stable_for], [d for _, d in p.stable_for])
    if p.told:
        await conn.execute(Q["add_told"], [i for i, _ in p.told], [s for _, s in p.told])
    if p.mail:
        m = p.mail
        queued_mail = await conn.fetchval(
            Q["queue_stakeholder_mail"],
            now,
            [x.incident_id for x in m],
            [x.stakeholder for x in m],
            [x.event for x in m],
            ["\n".join(x.recipients) for x in m],
            [x.subject for x in m],
            [x.body for x in m],
        )
        if queued_mail:
            await conn.execute(Q["notify_stakeholder_mail"])
    if p.clear_timers:
        await conn.execute(Q["clear_timers"], [k for k, _ in p.clear_timers], [s for _, s in p.clear_timers])
    if p.set_timers:
        await conn.execute(
            Q["set_timers"],
            [t.kind for t in p.set_timers],
            [t.subject for t in p.set_timers],
            [t.due_at for t in p.set_timers],
            [int(t.priority) for t in p.set_timers],
            [t.incident_id for t in p.set_timers],
            [dict(t.data) for t in p.set_timers],
        )
    if p.pages:
        rows = await conn.fetch(
            Q["queue_pages"],
            [q.page.incident_id for q in p.pages],
            [q.page.round for q in p.pages],
            [q.page.step for q in p.pages],
            [q.page.user for q in p.pages],
            [q.page.channel for q in p.pages],
            [q.address for q in p.pages],
            now,
        )
        queued = len(rows)
        lanes = {lanes_mod.lane_of(models.Priority(r["priority"])) for r in rows}
        if "urgent" in lanes or (lanes and later is None):
            await conn.execute(Q["notify_outbox"], lanes_mod.payload(lanes))
        elif lanes:
            later.add("pager_outbox")
    if p.log:
        await append_log(conn, p.log, now)
    if p.close_drills:
        await conn.execute(Q["close_drills"], now, list(p.close_drills))
    if p.notices:
        await queue_notices(conn, p.notices, now)
    if p.drills:
        await open_drills(conn, p.drills, now)
    return queued


async def _set_roles(conn: db.Connection, roles: typing.Sequence[tuple[int, str, str | None]]) -> None:
    """Each incident's role changes in one row: (set?, user) per role."""
    wanted: dict[int, dict[str, str | None]] = {}
    for incident_id, role, user in roles:
        wanted.setdefault(incident_id, {})[role] = user
    ids = list(wanted)
    columns: list[list[typing.Any]] = []
    for role in models.ROLES:
        columns.append([role in wanted[i] for i in ids])
        columns.append([wanted[i].get(role) for i in ids])
    await conn.execute(Q["set_roles"], ids, *columns)


async def queue_notices(conn: db.Connection, mails: typing.Sequence[plan.Notice], now: datetime.datetime) -> None:
    """Queue notices for the mailer (woken by NOTIFY once this transaction commits)."""
    await conn.execute(
        Q["queue_notices"],
        now,
        [m.kind for m in mails],
        [m.incident_id for m in mails],
        # a text[][] cannot be ragged, so each mail's recipients travel as one line-separated string
        ["\n".join(m.recipients) for m in mails],
        [m.subject for m in mails],
        [m.body for m in mails],
        [dict(m.data) for m in mails],
    )


async def open_drills(
    conn: db.Connection, drills: typing.Sequence[plan.OpenDrill], now: datetime.datetime
) -> list[int]:
    """Open drill incidents (the engine's next claim walks their chains); returns their ids in order."""
    rows = await conn.fetch(
        Q["open_drills"],
        now,
        [d.service for d in drills],
        [d.policy for d in drills],
        [int(d.priority) for d in drills],
        [d.summary for d in drills],
        [d.actor for d in drills],
        [f"drill-{uuid.uuid4().hex}" for _ in drills],
    )
    return [r["id"] for r in rows]


async def append_log(conn: db.Connection | db.Pool, lines: typing.Sequence[plan.Line], now: datetime.datetime) -> None:
    await conn.execute(
        Q["append_log"],
        now,
        [x.incident_id for x in lines],
        [str(x.kind) for x in lines],
        [x.actor for x in lines],
        [x.message for x in lines],
        [None if x.details is None else dict(x.details) for x in lines],
    )


class Escalations:
    def __init__(self, pool: db.Pool) -> None:
        self.pool = pool

    @contextlib.asynccontextmanager
    async def claim_due(
        self, now: datetime.datetime, limit: int, *, urgent: bool = False
    ) -> typing.AsyncIterator[Batch]:
        """Due escalations and timers, locked FOR UPDATE SKIP LOCKED; what the block records commits with the claim.

        `urgent` claims P0/P1 work (the engine's urgent lane), otherwise P2/P3: the lanes never meet, so neither
        waits on, or spins on, what the other holds.
        """
        with db.translate_errors():
            async with self.pool.acquire() as conn:
                async with db.relaxed(conn):  # flushed by the page's durable `prepare`, before any send
                    rows = await conn.fetch(Q["claim_due_urgent" if urgent else "claim_due"], now, limit)
                    timers = await conn.fetch(Q["claim_timers_urgent" if urgent else "claim_timers"], now, limit)
                    timers += await conn.fetch(
                        Q["claim_free_timers_urgent" if urgent else "claim_free_timers"], now, limit
                    )
                    claimed = [_timer(r) for r in timers]
                    held = await maintenance.for_claim(conn, claimed, len(rows), now)  # issue 14
                    batch = Batch(conn, [models.Incident.from_row(r) for r in rows], claimed, held)
                    yield batch
                await batch.announce()

    @contextlib.asynccontextmanager
    async def lock(self, incident_id: int) -> typing.AsyncIterator[Batch]:
        """One incident, locked whatever its timer, for a manual escalation or a notice."""
        with db.translate_errors():
            async with self.pool.acquire() as conn:
                async with conn.transaction():
                    row = await conn.fetchrow(Q["lock_incident"], incident_id)
                    batch = Batch(conn, [] if row is None else [models.Incident.from_row(row)])
                    yield batch
                await batch.announce()

    async def get(self, incident_id: int) -> models.Incident | None:
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["get_incident"], incident_id)
        return None if row is None else models.Incident.from_row(row)

    async def next_due(self, *, urgent: bool | None = None) -> datetime.datetime | None:
        """When the next escalation or timer of a lane (`urgent` True: P0/P1, False: P2/P3, None: any) is due."""
        query = {True: "next_due_urgent", False: "next_due", None: "next_due_any"}[urgent]
        with db.translate_errors():
            return await self.pool.fetchval(Q[query])
