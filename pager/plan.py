"""What a background decision writes: the vocabulary between the engine's pure planning and the store.

The engine loads due work, calls a pure function that returns a `Plan`, and the
store writes the whole plan in the transaction that holds the claim. Only after
COMMIT are the plan's `effects` (metrics, log lines, wake-ups) carried out.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import effects, models


@dataclasses.dataclass(frozen=True, slots=True)
class Line:
    """A timeline entry for an incident; `kind` is one of `pager.timeline.Kind`."""

    incident_id: int
    kind: str
    message: str
    actor: str = "pager"
    details: typing.Mapping[str, typing.Any] | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class SetTimer:
    """Arm (or re-arm) the durable timer (kind, subject) at `due_at`; the newest setting wins."""

    kind: str
    subject: str
    due_at: datetime.datetime
    priority: models.Priority = models.Priority.P3
    incident_id: int | None = None
    data: typing.Mapping[str, typing.Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class QueuedPage:
    """A page for the outbox, with the address it goes to."""

    page: models.Page
    address: str


@dataclasses.dataclass(frozen=True, slots=True)
class Notice:
    """Mail that is not a page (a reminder, a report digest), queued for the mailer in the plan's transaction.

    `subject` and `body` None: the mailer renders it when it sends it (a digest, from `data`).
    """

    kind: str
    recipients: tuple[str, ...]
    subject: str | None = None
    body: str | None = None
    incident_id: int | None = None
    data: typing.Mapping[str, typing.Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True, slots=True)
class OpenDrill:
    """Open a drill incident on `service`: the engine then walks its real escalation chain."""

    service: str
    policy: str | None
    priority: models.Priority
    summary: str
    actor: str


@dataclasses.dataclass(frozen=True, slots=True)
class HeartbeatMissed:
    """A heartbeat's deadline passed: open its incident (once: the open incident's dedup key holds it)."""

    heartbeat: str
    service: str
    policy: str | None
    priority: models.Priority
    summary: str
    dedup_key: str


@dataclasses.dataclass(frozen=True, slots=True)
class Update:
    """A status update to store (the timeline line that shows it is a `Line` of its own)."""

    incident_id: int
    by: str
    status: str
    known: str | None = None
    doing: str | None = None
    unknown: str | None = None
    next_update_at: datetime.datetime | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Mail:
    """A stakeholder email for the mail outbox: composed now, sent by the mail sender; never a page.

    `event` is 'declared', 'update' or 'all_clear'; an incident is declared and cleared once per stakeholder.
    """

    incident_id: int
    stakeholder: str
    event: str
    recipients: tuple[str, ...]
    subject: str
    body: str


@dataclasses.dataclass(frozen=True, slots=True)
class Resolve:
    """An incident that resolves without a person: its stability window passed at `at` (a `Line` says so)."""

    incident_id: int
    at: datetime.datetime
    actor: str = "pager"


@dataclasses.dataclass(frozen=True, slots=True)
class Plan:
    """Everything one decision writes, and what to do once it is committed.

    `escalations` are new escalation states by incident; `targets` fix an
    incident's response deadlines (id, ack_by, resolve_by); `clear_timers` are
    (kind, subject) keys to disarm; `notices` are queued for the mailer,
    `close_drills` resolves drills that are over, `drills` opens drill incidents.
    Running the incident: `resolves` (stable window passed), `roles` (id, role,
    user or None), `updates`, `update_due` (id, when the next status update is
    due), `stable_for` (id, its priority's stable_for), `told` (id, stakeholder
    told of it) and `mail` for stakeholders (their own outbox, not notices).
    Plans add up with `+`. Status changes (`ack_expired`) are written before
    escalations and pages.
    """

    escalations: tuple[tuple[int, models.EscalationState], ...] = ()
    targets: tuple[tuple[int, datetime.datetime | None, datetime.datetime | None], ...] = ()
    resolves: tuple[Resolve, ...] = ()
    roles: tuple[tuple[int, str, str | None], ...] = ()
    updates: tuple[Update, ...] = ()
    update_due: tuple[tuple[int, datetime.datetime | None], ...] = ()
    stable_for: tuple[tuple[int, datetime.timedelta | None], ...] = ()
    told: tuple[tuple[int, str], ...] = ()
    mail: tuple[Mail, ...] = ()
    pages: tuple[QueuedPage, ...] = ()
    log: tuple[Line, ...] = ()
    set_timers: tuple[SetTimer, ...] = ()
    clear_timers: tuple[tuple[str, str], ...] = ()
    notices: tuple[Notice, ...] = ()
    close_drills: tuple[int, ...] = ()
    drills: tuple[OpenDrill, ...] = ()
    effects: tuple[effects.Effect, ...] = ()
    ack_expired: tuple[int, ...] = ()  # acknowledged incidents triggered again (their ack lapsed)
    maintenance: tuple[tuple[int, int | None], ...] = ()  # (incident, window holding it, or None: released)
    cancel_pages: tuple[int, ...] = ()  # incidents whose pending pages are withdrawn (a maintenance window)
    heartbeats_missed: tuple[HeartbeatMissed, ...] = ()  # heartbeats whose silence opens an incident

    def __add__(self, other: Plan) -> Plan:
        return Plan.total((self, other))

    @classmethod
    def total(cls, plans: typing.Iterable[Plan]) -> Plan:
        parts: dict[str, list[typing.Any]] = {f.name: [] for f in dataclasses.fields(cls)}
        for p in plans:
            for name, items in parts.items():
                items.extend(getattr(p, name))
        return cls(**{name: tuple(items) for name, items in parts.items()})

    def audited(self, audit: typing.Mapping[str, typing.Any] | None) -> Plan:
        """The same plan with `audit` (which API token asked) in the details of every timeline entry it writes."""
        if not audit:
            return self
        log = tuple(dataclasses.replace(x, details={**(x.details or {}), **audit}) for x in self.log)
        return dataclasses.replace(self, log=log)

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in dataclasses.fields(self))
