"""The domain types every other module speaks. Plain data, stdlib only."""

from __future__ import annotations

import dataclasses
import datetime
import enum


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


class IncidentStatus(enum.Enum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


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


@dataclasses.dataclass(frozen=True, slots=True)
class Incident:
    id: int
    service: str
    dedup_key: str
    priority: Priority
    status: IncidentStatus
    summary: str
    created_at: datetime.datetime
    acknowledged_at: datetime.datetime | None = None
    resolved_at: datetime.datetime | None = None
    integration: str | None = None
    escalation_policy: str | None = None

    @property
    def number(self) -> int:
        return self.id


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


@dataclasses.dataclass(frozen=True, slots=True)
class Page:
    """One message to one user on one channel, queued once per (incident, round, step, user, channel)."""

    incident_id: int
    user: str
    channel: str
    round: int
    step: int
