"""The domain types every other module speaks. Plain data, stdlib only."""

from __future__ import annotations

import collections.abc
import dataclasses
import datetime
import enum
import typing


class Priority(enum.IntEnum):
    """P0 is the most severe; a lower value always outranks a higher one."""

    P0 = 0
    P1 = 1
    P2 = 2
    P3 = 3

    @classmethod
    def parse(cls, text: str) -> Priority:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown priority {text!r}: expected one of P0, P1, P2, P3") from None


class Action(enum.Enum):
    """What an incoming event asks of its incident (PagerDuty's event_action)."""

    TRIGGER = "trigger"
    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"


class IncidentStatus(enum.StrEnum):
    """The one list of incident statuses; the API, the store and the timeline all speak these words."""

    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    STABILIZING = "stabilizing"  # every alert cleared; resolves by itself unless one fires again before stable_until
    RESOLVED = "resolved"

    @property
    def open(self) -> bool:
        return self is not IncidentStatus.RESOLVED


@dataclasses.dataclass(frozen=True, slots=True)
class Alert:
    """One event about one alert, as every ingest format decodes it.

    `dedup_key` names the incident it belongs to (Alertmanager's groupKey,
    Events v2's dedup_key); `fingerprint` names the alert within it.
    """

    dedup_key: str
    fingerprint: str
    action: Action
    summary: str
    labels: dict[str, str] = dataclasses.field(default_factory=dict)
    annotations: dict[str, str] = dataclasses.field(default_factory=dict)
    starts_at: datetime.datetime | None = None
    ends_at: datetime.datetime | None = None
    source: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Classified:
    """An alert with the decisions routing and classification made about it."""

    alert: Alert
    service: str
    priority: Priority
    rule: str  # which classification rule matched, e.g. 'classification[0]'
    blast: tuple[tuple[str, int, Priority], ...] = ()  # blast-radius rules it matches: (rule, min_firing, priority)


@dataclasses.dataclass(frozen=True, slots=True)
class EscalationState:
    """Where an incident stands in its escalation policy.

    `step` indexes the policy's steps; `round` counts walks through them
    (0 is the first walk). `next_at` is the durable timer: None means the
    walk is over (acknowledged, resolved, or out of steps and repeats).
    """

    step: int = -1
    round: int = 0
    next_at: datetime.datetime | None = None
    first_round: int = 0  # the round the walk last started over in; the policy's repeats count from it


ROLES = ("commander", "comms", "tech_lead", "scribe")
"""The incident roles the guides name, in the order people read them."""


@dataclasses.dataclass(frozen=True, slots=True)
class Roles:
    """Who holds each incident role (user ids); None: nobody yet."""

    commander: str | None = None
    comms: str | None = None
    tech_lead: str | None = None
    scribe: str | None = None

    def get(self, role: str) -> str | None:
        return typing.cast("str | None", getattr(self, role))


@dataclasses.dataclass(frozen=True, slots=True)
class Incident:
    """An incident as stored: what the API shows, the engine walks and the pages say.

    `id` is also its short `number`, the one an SMS shows and a reply names.
    """

    id: int
    service: str
    dedup_key: str
    priority: Priority
    status: IncidentStatus
    summary: str
    created_at: datetime.datetime
    last_seen_at: datetime.datetime
    integration: str | None = None
    priority_rule: str = ""
    labels: collections.abc.Mapping[str, str] = dataclasses.field(default_factory=dict)
    annotations: collections.abc.Mapping[str, typing.Any] = dataclasses.field(default_factory=dict)
    alert_count: int = 0
    escalation_policy: str | None = None
    escalation: EscalationState = EscalationState()
    acknowledged_at: datetime.datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime.datetime | None = None
    resolved_by: str | None = None
    ack_by: datetime.datetime | None = None  # response targets (priorities.*.ack_within, resolve_within)
    resolve_by: datetime.datetime | None = None
    drill: bool = False  # a drill: walks the real chain, every page says [DRILL], left out of MTTA/MTTR
    maintenance_id: int | None = None  # the maintenance window holding it: nobody is paged
    recent_changes: tuple[Change, ...] = ()  # changes of its service in the 2 h before it opened, newest first
    roles: Roles = Roles()
    next_update_due: datetime.datetime | None = None  # status-update cadence (priorities.*.update_every)
    recovered_at: datetime.datetime | None = None  # when its last firing alert cleared (stable_for)
    stable_until: datetime.datetime | None = None  # stabilizing until then, unless an alert fires again
    stable_for: datetime.timedelta | None = None  # its priority's stable_for, kept on the row for pager_ingest
    stakeholders: tuple[str, ...] = ()  # stakeholder groups told of it: they hear its updates and all clear

    @property
    def number(self) -> int:
        return self.id

    def met_at(self, target: str) -> datetime.datetime | None:
        """When the `ack` or `resolve` target was met, if it was: recovering counts once the incident resolved."""
        recovered = self.recovered_at if self.status is IncidentStatus.RESOLVED else None
        if target == "ack":
            done = [t for t in (self.acknowledged_at, recovered, self.resolved_at) if t is not None]
        else:
            done = [t for t in (recovered, self.resolved_at) if t is not None]
        return min(done) if done else None

    def breached(self, target: str, now: datetime.datetime) -> bool:
        """Whether the `ack` (acknowledged or resolved) or `resolve` target was missed, as of `now`.

        An incident that recovered in time and is stabilizing has not missed it (yet): a relapse would.
        """
        due = self.ack_by if target == "ack" else self.resolve_by
        if due is None:
            return False
        done = self.met_at(target)
        if done is not None:
            return done > due
        if self.status is IncidentStatus.STABILIZING and self.recovered_at is not None and self.recovered_at <= due:
            return False
        return now >= due

    @classmethod
    def from_row(cls, row: collections.abc.Mapping[str, typing.Any]) -> Incident:
        """From a row of `incidents` (any mapping with its column names)."""
        return cls(
            id=row["id"],
            service=row["service"],
            dedup_key=row["dedup_key"],
            priority=Priority(row["priority"]),
            status=IncidentStatus(row["status"]),
            summary=row["summary"],
            created_at=row["created_at"],
            last_seen_at=row["last_seen_at"],
            integration=row["integration"],
            priority_rule=row["priority_rule"],
            labels=row["labels"],
            annotations=row["annotations"],
            alert_count=row["alert_count"],
            escalation_policy=row["escalation_policy"],
            escalation=EscalationState(
                row["escalation_step"],
                row["escalation_round"],
                row["next_escalation_at"],
                row["escalation_first_round"],
            ),
            acknowledged_at=row["acknowledged_at"],
            acknowledged_by=row["acknowledged_by"],
            resolved_at=row["resolved_at"],
            resolved_by=row["resolved_by"],
            ack_by=row["ack_by"],
            resolve_by=row["resolve_by"],
            drill=row["drill"],
            maintenance_id=row["maintenance_id"],
            roles=Roles(row["commander"], row["comms"], row["tech_lead"], row["scribe"]),
            next_update_due=row["next_update_due"],
            recovered_at=row["recovered_at"],
            stable_until=row["stable_until"],
            stable_for=row["stable_for"],
            stakeholders=tuple(row["stakeholders"] or ()),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class AlertState:
    """One alert of an incident, as last seen: firing or resolved."""

    fingerprint: str
    status: str  # 'firing' or 'resolved'
    priority: Priority
    summary: str
    labels: collections.abc.Mapping[str, str]
    annotations: collections.abc.Mapping[str, typing.Any]
    starts_at: datetime.datetime | None
    ends_at: datetime.datetime | None
    first_seen_at: datetime.datetime
    last_seen_at: datetime.datetime

    @classmethod
    def from_row(cls, row: collections.abc.Mapping[str, typing.Any]) -> AlertState:
        return cls(**{**row, "priority": Priority(row["priority"])})


@dataclasses.dataclass(frozen=True, slots=True)
class TimelineEntry:
    """One line of an incident's timeline; `kind` is one of `pager.timeline.Kind`."""

    id: int
    at: datetime.datetime
    kind: str
    actor: str | None
    message: str
    details: collections.abc.Mapping[str, typing.Any] | None

    @classmethod
    def from_row(cls, row: collections.abc.Mapping[str, typing.Any]) -> TimelineEntry:
        return cls(**row)


@dataclasses.dataclass(frozen=True, slots=True)
class IncidentDetail:
    """An incident with its alerts and its timeline, read in one snapshot."""

    incident: Incident
    alerts: tuple[AlertState, ...]
    timeline: tuple[TimelineEntry, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class StatusUpdate:
    """A status update in the guides' structure: where things stand, what we know, do and don't know yet."""

    id: int
    incident_id: int
    at: datetime.datetime
    by: str
    status: str
    known: str | None
    doing: str | None
    unknown: str | None
    next_update_at: datetime.datetime | None

    @classmethod
    def from_row(cls, row: collections.abc.Mapping[str, typing.Any]) -> StatusUpdate:
        return cls(**row)


@dataclasses.dataclass(frozen=True, slots=True)
class Timer:
    """A durable timer that came due: (kind, subject) names it; `incident` is the one it belongs to, if any."""

    kind: str
    subject: str
    due_at: datetime.datetime
    priority: Priority = Priority.P3
    data: collections.abc.Mapping[str, typing.Any] = dataclasses.field(default_factory=dict)
    incident: Incident | None = None


NOTICE_STEP = -1
"""`Page.step` of a notice to whoever acknowledged (a new alert joined); `round` is its timeline id."""
REMINDER_STEP = -2
"""`Page.step` of a status-update reminder; `round` is the instant it came due (epoch seconds)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """One message to one user on one channel, queued once per (incident, round, step, user, channel).

    A step below 0 is not an escalation step: NOTICE_STEP and REMINDER_STEP.
    """

    incident_id: int
    user: str
    channel: str
    round: int
    step: int


@dataclasses.dataclass(frozen=True, slots=True)
class PageRecord:
    """A page of an incident as the outbox holds it: to whom, how, and what became of it."""

    user_id: str
    channel: str
    round: int
    step: int
    status: str  # pending, sending, sent, delivered, failed, cancelled
    created_at: datetime.datetime
    sent_at: datetime.datetime | None
    delivered_at: datetime.datetime | None
    error: str | None
    attempts: int

    @classmethod
    def from_row(cls, row: collections.abc.Mapping[str, typing.Any]) -> PageRecord:
        return cls(**row)


CHANGE_WINDOW = datetime.timedelta(hours=2)
"""An incident that opens within this long after a change of its service shows the change."""


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """A deploy or other change (PagerDuty change event), kept for its service."""

    id: int
    service: str
    integration: str
    summary: str
    source: str | None
    at: datetime.datetime  # when it happened (payload.timestamp), else when it was received
    received_at: datetime.datetime
    custom_details: collections.abc.Mapping[str, typing.Any] = dataclasses.field(default_factory=dict)
    links: tuple[collections.abc.Mapping[str, typing.Any], ...] = ()
    images: tuple[collections.abc.Mapping[str, typing.Any], ...] = ()

    @classmethod
    def from_row(cls, row: collections.abc.Mapping[str, typing.Any]) -> Change:
        return cls(
            id=row["id"],
            service=row["service"],
            integration=row["integration"],
            summary=row["summary"],
            source=row["source"],
            at=row["at"],
            received_at=row["received_at"],
            custom_details=row["custom_details"],
            links=tuple(row["links"]),
            images=tuple(row["images"]),
        )


@dataclasses.dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """Planned quiet: incidents of these services, or whose labels match all these matchers, page nobody.

    `matchers` are in Alertmanager's syntax (`pager.matchers`); active from `starts_at` until `ends_at`.
    """

    id: int
    services: tuple[str, ...]
    matchers: tuple[str, ...]
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    reason: str
    created_by: str
    created_at: datetime.datetime
    ended_by: str | None = None

    def active(self, now: datetime.datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    @classmethod
    def from_row(cls, row: collections.abc.Mapping[str, typing.Any]) -> MaintenanceWindow:
        return cls(**{**row, "services": tuple(row["services"]), "matchers": tuple(row["matchers"])})


@dataclasses.dataclass(frozen=True, slots=True)
class Heartbeat:
    """What the store knows of one configured heartbeat: its last beat and the incident its silence opened."""

    id: str
    registered_at: datetime.datetime
    last_beat_at: datetime.datetime | None
    missed_at: datetime.datetime | None
    incident_id: int | None
    deadline: datetime.datetime | None  # its timer's due time, when armed

    @classmethod
    def from_row(cls, row: collections.abc.Mapping[str, typing.Any]) -> Heartbeat:
        return cls(**row)
