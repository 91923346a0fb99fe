"""Which claimed pages go out, and together: stale pages dropped, the rest bundled per contact.

A page queued before its incident was acknowledged or resolved is stale and is
never sent (a notice to whoever acknowledged, step < 0, always goes; a
status-update reminder goes unless the incident resolved or is stabilizing).
Pages to one address on one channel become one message: the most urgent
incident first, the others named after it ("+3 more: #12 #13 #14"). A reminder
is a message of its own, never bundled with pages.
"""

from __future__ import annotations

import dataclasses
import typing

from pager import ack, models, updates
from pager.notify import message
from pager.store import outbox


@dataclasses.dataclass(frozen=True, slots=True)
class Bundle:
    channel: str
    address: str
    rows: tuple[outbox.Claimed, ...]  # most urgent first, then by incident

    @property
    def ids(self) -> list[int]:
        return [r.id for r in self.rows]

    @property
    def incidents(self) -> list[int]:
        return sorted({r.incident_id for r in self.rows})

    @property
    def priority(self) -> models.Priority:
        return self.rows[0].priority

    @property
    def first_page(self) -> bool:
        """Whether it carries an incident's first page, which no throttle may hold."""
        return any(r.first_page for r in self.rows)

    @property
    def user_id(self) -> str:
        return self.rows[0].user_id

    @property
    def reminder(self) -> bool:
        return self.rows[0].step == models.REMINDER_STEP


_REMINDED = (models.IncidentStatus.TRIGGERED, models.IncidentStatus.ACKNOWLEDGED)


def _live(c: outbox.Claimed) -> bool:
    if c.step == models.REMINDER_STEP:
        return c.incident_status in _REMINDED
    return c.incident_status is models.IncidentStatus.TRIGGERED or c.step < 0


def split(claimed: typing.Iterable[outbox.Claimed]) -> tuple[list[int], list[Bundle]]:
    """(ids of stale pages, bundles to send), bundles in the order of their most urgent page."""
    stale: list[int] = []
    groups: dict[tuple[str, str, bool, int], list[outbox.Claimed]] = {}
    for c in claimed:
        if _live(c):
            alone = c.incident_id if c.step == models.REMINDER_STEP else 0  # a reminder: one per incident
            # a drill is never bundled with the real
            groups.setdefault((c.channel, c.address, c.drill, alone), []).append(c)
        else:
            stale.append(c.id)
    bundles = [
        Bundle(channel, address, tuple(sorted(rows, key=lambda r: (r.priority, r.incident_id))))
        for (channel, address, *_), rows in groups.items()
    ]
    return stale, sorted(bundles, key=lambda b: (b.priority, b.rows[0].id))


def compose(b: Bundle, user_name: str, base_url: str, token: str) -> message.Message:
    """The message for a bundle: its most urgent incident, with the others listed after it."""
    first = b.rows[0]
    others: dict[int, str] = {}
    for r in b.rows[1:]:
        if r.incident_id != first.incident_id:
            others.setdefault(r.incident_id, r.summary)
    annotations = first.annotations if isinstance(first.annotations, dict) else {}
    runbook = annotations.get("runbook_url")
    dashboard = annotations.get("dashboardURL")  # Grafana's
    if b.reminder:
        return message.Message(
            incident_id=first.incident_id,
            number=first.incident_id,
            priority=first.priority,
            service=first.service,
            summary=first.summary,
            user_id=first.user_id,
            user_name=user_name,
            channel=first.channel,
            address=first.address,
            reminder=True,
            update_url=updates.update_url(base_url, token),
            drill=first.drill,
        )
    return message.Message(
        incident_id=first.incident_id,
        number=first.incident_id,
        priority=first.priority,
        service=first.service,
        summary=first.summary,
        user_id=first.user_id,
        user_name=user_name,
        channel=first.channel,
        address=first.address,
        ack_url=ack.ack_url(base_url, token),
        runbook_url=runbook if isinstance(runbook, str) else None,
        more=tuple(others.items()),
        ack_token=token,
        drill=first.drill,
        dashboard_url=dashboard
        if isinstance(dashboard, str) and dashboard.startswith(("https://", "http://"))
        else None,
        after_change=first.recent_change,
    )
