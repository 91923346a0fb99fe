"""Incident storage: every read and write the daemon makes, each one bound SQL from `queries.sql`."""

from __future__ import annotations

import dataclasses
import datetime
import typing
import uuid

from pager import lanes as lanes_mod
from pager import models, plan
from pager.store import changes, db, escalations, ingest, sql

Q = sql.QUERIES


@dataclasses.dataclass(frozen=True, slots=True)
class Transition:
    """An incident that this call moved to `status`: what MTTA/MTTR are observed from."""

    incident_id: int
    service: str
    priority: models.Priority
    status: models.IncidentStatus  # acknowledged or resolved
    created_at: datetime.datetime
    at: datetime.datetime
    drill: bool = False  # a drill's response stays out of MTTA/MTTR


OnTransition = typing.Callable[[Transition], None]
Audit = typing.Mapping[str, str]
"""Who made a write, merged into its timeline entry's details: {"token": <the API token's name>}."""
OnAcknowledged = typing.Callable[[int, models.Priority, datetime.datetime], plan.Plan]
"""What an acknowledgement arms besides (its expiry timer), written in the acknowledgement's transaction."""


@dataclasses.dataclass(frozen=True, slots=True)
class Filters:
    status: models.IncidentStatus | typing.Literal["open"] | None = None
    service: str | None = None
    priority: models.Priority | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ResponseTimes:
    """Exact MTTA and MTTR of one service and priority over one window (1d, 7d, 30d)."""

    service: str
    priority: models.Priority
    window: str
    mtta: float | None
    acknowledged: int
    mttr: float | None
    resolved: int


class Store:
    """Incidents: ingest, read, acknowledge and resolve, open by hand, annotate.

    `on_transition` observes every acknowledge and resolve (MTTA/MTTR); `on_opened` runs after the
    COMMIT that opened an incident (or gave the engine other work now: a relapse, an all clear), so
    this replica's engine acts at once without waiting for LISTEN/NOTIFY (which may be reconnecting
    after a database failover); it is told the lane to wake (a pager.lanes payload). `names` tells a
    person (user id → their name) from a script or an integration: a person who acknowledges
    becomes commander when there is none.
    """

    def __init__(
        self,
        pool: db.Pool,
        on_transition: OnTransition | None = None,
        on_opened: typing.Callable[[str], None] | None = None,
        on_acknowledged: OnAcknowledged | None = None,
        names: typing.Callable[[str], str | None] | None = None,
    ) -> None:
        self.pool = pool
        self._on_transition = on_transition
        self._on_opened = on_opened
        self._on_acknowledged = on_acknowledged
        self._names = names or (lambda _: None)
        self._ingester = ingest.Ingester(pool, on_opened)

    def _moved(
        self,
        incident_id: int,
        service: str,
        priority: int,
        status: str,
        created_at: datetime.datetime,
        at: datetime.datetime,
        drill: bool = False,
    ) -> Transition:
        t = Transition(
            incident_id, service, models.Priority(priority), models.IncidentStatus(status), created_at, at, drill
        )
        if self._on_transition is not None:
            self._on_transition(t)
        return t

    async def ping(self) -> None:
        with db.translate_errors():
            await self.pool.fetchval(Q["ping"])

    async def ingest(
        self, integration: str, groups: list[ingest.Group], now: datetime.datetime
    ) -> list[ingest.IngestResult]:
        """Commit every group in one transaction; returns only after COMMIT."""
        results = await self._ingester.ingest(integration, groups, now)
        # new incidents were told by the ingester, the moment they were committed
        if self._on_opened is not None and any(r.changed_to for r in results):
            self._on_opened("")
        for r in results:
            if r.changed_to not in ("acknowledged", "resolved"):
                continue  # stabilizing and relapsed are no response times
            if r.incident_id is not None and r.priority is not None and r.created_at is not None:
                self._moved(r.incident_id, r.service, r.priority, r.changed_to, r.created_at, now)
        await self._acknowledged(
            [(r.incident_id, r.priority) for r in results if r.changed_to == "acknowledged" and r.incident_id], now
        )
        return results

    async def _acknowledged(
        self, incidents: list[tuple[int, models.Priority | None]], now: datetime.datetime, conn: typing.Any = None
    ) -> None:
        """Arm what acknowledging arms (ack expiry), in `conn`'s transaction or a new one."""
        if self._on_acknowledged is None or not incidents:
            return
        p = plan.Plan.total(self._on_acknowledged(i, prio, now) for i, prio in incidents if prio is not None)
        if not p:
            return
        if conn is not None:
            await escalations.write(conn, p, now)
            return
        with db.translate_errors():
            async with self.pool.acquire() as c, c.transaction():
                await escalations.write(c, p, now)

    async def list_incidents(self, filters: Filters, limit: int, before_id: int | None = None) -> list[models.Incident]:
        query = Q["list_open_incidents"] if filters.status == "open" else Q["list_incidents"]
        status = None if filters.status in (None, "open") else str(filters.status)
        priority = None if filters.priority is None else int(filters.priority)
        with db.translate_errors():
            rows = await self.pool.fetch(query, status, filters.service, priority, before_id, limit)
        return await changes.with_recent(self.pool, [models.Incident.from_row(r) for r in rows])

    async def get_incident(self, incident_id: int) -> models.Incident | None:
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["get_incident"], incident_id)
        if row is None:
            return None
        [incident] = await changes.with_recent(self.pool, [models.Incident.from_row(row)])
        return incident

    async def incident_detail(self, incident_id: int) -> models.IncidentDetail | None:
        """The incident with its alerts and timeline, read in one snapshot."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
                row = await conn.fetchrow(Q["get_incident"], incident_id)
                if row is None:
                    return None
                alerts = await conn.fetch(Q["incident_alerts"], incident_id)
                log = await conn.fetch(Q["incident_log"], incident_id)
                [incident] = await changes.with_recent(conn, [models.Incident.from_row(row)])
        return models.IncidentDetail(
            incident,
            tuple(models.AlertState.from_row(a) for a in alerts),
            tuple(models.TimelineEntry.from_row(e) for e in log),
        )

    async def _transition(
        self,
        status: models.IncidentStatus,
        incident_id: int,
        actor: str,
        via: str,
        now: datetime.datetime,
        audit: Audit | None = None,
    ) -> Transition | None:
        message = f"{status.capitalize()} by {actor} via {via}"
        person = self._names(actor)
        commander = actor if person is not None and status is models.IncidentStatus.ACKNOWLEDGED else None
        took = f"{person} took command by acknowledging (via {via})"
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction():
                # Lock first: the transition then runs in a snapshot taken after any engine tick
                # holding the row committed, so it cancels the pages that tick queued too.
                await conn.execute(Q["lock_incident"], incident_id)
                row = await conn.fetchrow(
                    Q["transition"],
                    incident_id,
                    now,
                    actor,
                    message,
                    {"via": via, **(audit or {})},
                    str(status),
                    commander,
                    took,
                )
                if row is not None and status is models.IncidentStatus.ACKNOWLEDGED and not row["drill"]:
                    # a drill's acknowledgement is its answer: it never expires into a second walk
                    await self._acknowledged([(incident_id, models.Priority(row["priority"]))], now, conn)
        if row is None:
            return None
        if row["all_clear"] and self._on_opened is not None:
            self._on_opened("")
        # MTTR counts to recovery: an incident resolved while stabilizing recovered when its alerts cleared.
        at = row["recovered_at"] if status is models.IncidentStatus.RESOLVED and row["recovered_at"] else now
        return self._moved(incident_id, row["service"], row["priority"], status, row["created_at"], at, row["drill"])

    async def acknowledge(
        self, incident_id: int, actor: str, via: str, now: datetime.datetime, audit: Audit | None = None
    ) -> Transition | None:
        """The transition when this call acknowledged it; None when it was not triggered (acked, resolved, absent)."""
        return await self._transition(models.IncidentStatus.ACKNOWLEDGED, incident_id, actor, via, now, audit)

    async def resolve(
        self, incident_id: int, actor: str, via: str, now: datetime.datetime, audit: Audit | None = None
    ) -> Transition | None:
        return await self._transition(models.IncidentStatus.RESOLVED, incident_id, actor, via, now, audit)

    async def create_incident(
        self,
        *,
        service: str,
        policy: str | None,
        priority: models.Priority,
        summary: str,
        labels: dict[str, str],
        annotations: dict[str, str],
        actor: str,
        now: datetime.datetime,
        dedup_key: str | None = None,
        audit: Audit | None = None,
    ) -> int:
        key = dedup_key or uuid.uuid4().hex
        message = f"Incident opened ({priority.name}) by {actor}: {summary}"
        details = {"priority": priority.name, "rule": "manual", "via": "api", **(audit or {})}
        with db.translate_errors():
            row = await self.pool.fetchrow(
                Q["create_incident"],
                service,
                key,
                int(priority),
                summary,
                labels,
                annotations,
                policy,
                now,
                actor,
                message,
                details,
            )
        if self._on_opened is not None:
            self._on_opened(lanes_mod.payload({lanes_mod.lane_of(priority)}))
        return int(row["id"])

    async def add_note(
        self,
        incident_id: int,
        actor: str,
        text: str,
        now: datetime.datetime,
        audit: Audit | None = None,
        *,
        hypothesis: str | None = None,
        result: str | None = None,
    ) -> bool:
        """A note; a change tried during the incident carries its `hypothesis` and observed `result` beside it."""
        tested = {k: v for k, v in (("hypothesis", hypothesis), ("result", result)) if v}
        message = "\n".join([text, *(f"{k.capitalize()}: {v}" for k, v in tested.items())])
        details = {**tested, **(audit or {})}
        with db.translate_errors():
            row = await self.pool.fetchrow(Q["add_note"], incident_id, now, actor, message, details or None)
        return row is not None

    async def updates(self, incident_id: int) -> list[models.StatusUpdate]:
        with db.translate_errors():
            rows = await self.pool.fetch(Q["incident_updates"], incident_id)
        return [models.StatusUpdate.from_row(r) for r in rows]

    async def status_page(
        self, services: typing.Sequence[str]
    ) -> list[tuple[models.Incident, list[models.StatusUpdate]]]:
        """The open P0–P2 incidents of these services with their status updates, read in one snapshot."""
        with db.translate_errors():
            async with self.pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
                rows = await conn.fetch(Q["status_page_incidents"], list(services))
                found = await conn.fetch(Q["updates_of"], [r["id"] for r in rows]) if rows else []
        by_incident: dict[int, list[models.StatusUpdate]] = {}
        for u in found:
            by_incident.setdefault(u["incident_id"], []).append(models.StatusUpdate.from_row(u))
        return [(models.Incident.from_row(r), by_incident.get(r["id"], [])) for r in rows]

    async def open_counts(self) -> list[tuple[str, models.Priority, models.IncidentStatus, int]]:
        with db.translate_errors():
            rows = await self.pool.fetch(Q["open_counts"])
        return [
            (r["service"], models.Priority(r["priority"]), models.IncidentStatus(r["status"]), r["n"]) for r in rows
        ]

    async def response_times(self, now: datetime.datetime) -> list[ResponseTimes]:
        """MTTA/MTTR computed from the incidents themselves, exact whatever the process or replica."""
        with db.translate_errors():
            rows = await self.pool.fetch(Q["response_times"], now)
        return [
            ResponseTimes(
                r["service"],
                models.Priority(r["priority"]),
                r["window"],
                None if r["mtta"] is None else float(r["mtta"]),
                r["acknowledged"],
                None if r["mttr"] is None else float(r["mttr"]),
                r["resolved"],
            )
            for r in rows
        ]
