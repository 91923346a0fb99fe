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
class Plan:
    """Everything one decision writes, and what to do once it is committed.

    `escalations` are new escalation states by incident; `targets` fix an
    incident's response deadlines (id, ack_by, resolve_by); `clear_timers` are
    (kind, subject) keys to disarm. Plans add up with `+`.
    """

    escalations: tuple[tuple[int, models.EscalationState], ...] = ()
    targets: tuple[tuple[int, datetime.datetime | None, datetime.datetime | None], ...] = ()
    pages: tuple[QueuedPage, ...] = ()
    log: tuple[Line, ...] = ()
    set_timers: tuple[SetTimer, ...] = ()
    clear_timers: tuple[tuple[str, str], ...] = ()
    effects: tuple[effects.Effect, ...] = ()

    def __add__(self, other: Plan) -> Plan:
        return Plan.total((self, other))

    @classmethod
    def total(cls, plans: typing.Iterable[Plan]) -> Plan:
        parts: dict[str, list[typing.Any]] = {f.name: [] for f in dataclasses.fields(cls)}
        for p in plans:
            for name, items in parts.items():
                items.extend(getattr(p, name))
        return cls(**{name: tuple(items) for name, items in parts.items()})

    def __bool__(self) -> bool:
        return any(getattr(self, f.name) for f in dataclasses.fields(self))
