"""The escalation policy walker: which step pages whom now, and when the next step is due.

Pure functions of (state, policy, now) with no I/O and no clock: the engine
loads an incident's `EscalationState` under its row lock, calls one of these,
and writes the returned state, pages and timeline entries in one transaction.
Who is on call (`users_at`) and how a user can be reached (`channels_for`) are
passed in, so this module knows nothing of rotations, contact details or notifiers.

Counting: `EscalationState.step` and `.round` count from 0 because they key the
outbox (incident, round, step, user, channel); timeline messages count from 1,
as people do — "step 2" is `policy.steps[1]`. Every call that pages moves
(round, step) strictly forward, so the outbox key never swallows a real page.

Repeat: as in GoAlert, `policy.repeat` counts *extra* walks through the steps:
`repeat: 0` walks them once, `repeat: 2` walks them three times (rounds 0, 1, 2).
"""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import config, models, timeline, values

UsersAt = typing.Callable[[str, datetime.datetime], typing.Sequence[str]]
"""(target such as 'rotation:web-primary' or 'user:erin', instant) -> ids of the users on call, in order."""

ChannelsFor = typing.Callable[[str], typing.Sequence[str]]
"""user id -> channels that can reach that user now (enabled notifier and a contact method)."""

ESCALATED = timeline.Kind.ESCALATED
REPEATED = timeline.Kind.REPEATED
MANUAL = timeline.Kind.MANUAL_ESCALATION
TARGET_EMPTY = timeline.Kind.TARGET_EMPTY
NO_CHANNEL = timeline.Kind.NO_CHANNEL
STEP_SKIPPED = timeline.Kind.STEP_SKIPPED
EXHAUSTED = timeline.Kind.EXHAUSTED
NOBODY_ON_CALL = timeline.Kind.NOBODY_ON_CALL
NOT_ESCALATING = timeline.Kind.NOT_ESCALATING


@dataclasses.dataclass(frozen=True, slots=True)
class LogEntry:
    """One line for the incident timeline; `kind` is one of `pager.timeline.Kind`."""

    kind: str
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class Decision:
    """What to write back: the new state (its `next_at` is the timer), the pages to queue, the timeline."""

    state: models.EscalationState
    pages: tuple[models.Page, ...] = ()
    log: tuple[LogEntry, ...] = ()


def start(
    incident_id: int,
    policy: config.EscalationPolicy,
    priority_policy: config.PriorityPolicy,
    now: datetime.datetime,
    users_at: UsersAt,
    channels_for: ChannelsFor,
) -> Decision:
    """Page the first step of a new incident and arm its timer at `now + ack_timeout`.

    A first step with nobody on call is skipped for the next one, even when the
    priority does not escalate: someone must hear about the incident.
    """
    walker = _Walker(incident_id, policy, priority_policy, now, users_at, channels_for)
    return walker.walk(models.EscalationState(), anchor=now, forced=False)


def is_due(state: models.EscalationState, now: datetime.datetime) -> bool:
    return state.next_at is not None and state.next_at <= now


def advance(
    incident_id: int,
    state: models.EscalationState,
    policy: config.EscalationPolicy,
    priority_policy: config.PriorityPolicy,
    now: datetime.datetime,
    users_at: UsersAt,
    channels_for: ChannelsFor,
) -> Decision:
    """Fire the step whose timer ran out; a state that is not due comes back unchanged.

    The next timer is anchored at the instant this step was *due* (`state.next_at`),
    not at `now`, so a late engine does not stretch the schedule. After an outage
    the new timer may already be past: the engine calls again while `is_due`, and
    each call fires exactly one overdue step, oldest first, none skipped. Each call
    either moves `next_at` strictly later or turns it off, so that loop ends.

    Who is on call is asked at `now`, not at the due instant: a page sent now
    should reach whoever holds the pager now.
    """
    if not is_due(state, now):
        return Decision(state)
    if not priority_policy.escalate:
        return Decision(
            stop(state),
            log=(LogEntry(NOT_ESCALATING, "this priority does not escalate; escalation timer cleared"),),
        )
    assert state.next_at is not None
    walker = _Walker(incident_id, policy, priority_policy, now, users_at, channels_for)
    return walker.walk(state, anchor=state.next_at, forced=False)


def escalate_now(
    incident_id: int,
    state: models.EscalationState,
    policy: config.EscalationPolicy,
    priority_policy: config.PriorityPolicy,
    now: datetime.datetime,
    users_at: UsersAt,
    channels_for: ChannelsFor,
) -> Decision:
    """A person asked for the next step: page it now and time it from `now`.

    As in GoAlert, a manual escalation past the last step always starts another
    round, even when the repeats are used up or the walk was exhausted: someone
    asked for more people, so more people are paged. The engine calls this only
    for a triggered incident. A priority that does not escalate pages the next
    step but arms no timer.
    """
    walker = _Walker(incident_id, policy, priority_policy, now, users_at, channels_for)
    decision = walker.walk(state, anchor=now, forced=True)
    entry = LogEntry(MANUAL, f"manual escalation from {_label(state.round - state.first_round, state.step)}")
    return dataclasses.replace(decision, log=(entry, *decision.log))


def restart(
    incident_id: int,
    state: models.EscalationState,
    policy: config.EscalationPolicy,
    priority_policy: config.PriorityPolicy,
    now: datetime.datetime,
    users_at: UsersAt,
    channels_for: ChannelsFor,
) -> Decision:
    """Start the walk over from step 1, now (a maintenance window ended, an acknowledgement expired).

    It runs in a new round, so its pages are new outbox keys, and the policy's repeats count from
    that round (`first_round`), as for a new incident.
    """
    walker = _Walker(incident_id, policy, priority_policy, now, users_at, channels_for)
    fresh = models.EscalationState(-1, state.round + 1, None, state.round + 1)
    return walker.walk(fresh, anchor=now, forced=False)


def stop(state: models.EscalationState) -> models.EscalationState:
    """Acknowledged or resolved: the walk stays where it was, with no timer."""
    return dataclasses.replace(state, next_at=None)


@dataclasses.dataclass(frozen=True, slots=True)
class _Walker:
    incident_id: int
    policy: config.EscalationPolicy
    priority: config.PriorityPolicy
    now: datetime.datetime
    users_at: UsersAt
    channels_for: ChannelsFor

    def walk(self, state: models.EscalationState, *, anchor: datetime.datetime, forced: bool) -> Decision:
        """Page the first step after `state` that reaches anyone, trying each step at most once."""
        log: list[LogEntry] = []
        round_, step, first = state.round, state.step, state.first_round
        for _ in range(len(self.policy.steps)):
            following = self._next(round_ - first, step, forced)
            if following is None:
                log.append(LogEntry(EXHAUSTED, "escalation policy exhausted; nobody acknowledged"))
                return Decision(models.EscalationState(step, round_, None, first), log=tuple(log))
            if following[0] != round_ - first and step >= 0:
                log.append(LogEntry(REPEATED, self._round_message(following[0])))
            round_, step = following[0] + first, following[1]
            pages, entries = self._page(round_, step, first)
            log.extend(entries)
            if pages:
                timeout = self.policy.steps[step].ack_timeout
                next_at = anchor + timeout if self.priority.escalate else None
                return Decision(models.EscalationState(step, round_, next_at, first), tuple(pages), tuple(log))
        log.append(
            LogEntry(
                NOBODY_ON_CALL,
                f"no step of escalation policy {self.policy.id} reached anyone; escalation stopped",
            )
        )
        return Decision(models.EscalationState(step, round_, None, first), log=tuple(log))

    def _next(self, round_: int, step: int, forced: bool) -> tuple[int, int] | None:
        """The (round, step) after this one; rounds count from the walk's first round."""
        if step + 1 < len(self.policy.steps):
            return round_, step + 1
        if forced or round_ < self.policy.repeat:
            return round_ + 1, 0
        return None

    def _round_message(self, round_: int) -> str:
        total = self.policy.repeat + 1
        if round_ < total:
            return f"starting round {round_ + 1} of {total} at step 1"
        return f"starting round {round_ + 1} at step 1, past the policy's {total} round(s)"

    def _page(self, round_: int, step: int, first: int = 0) -> tuple[list[models.Page], list[LogEntry]]:
        label = _label(round_ - first, step)
        users: list[str] = []
        empty: list[str] = []
        for target in self.policy.steps[step].targets:
            found = self.users_at(target, self.now)
            if not found:
                empty.append(target)
            users.extend(u for u in found if u not in users)
        if not users:
            return [], [LogEntry(STEP_SKIPPED, f"{label}: nobody on call for {', '.join(empty)}; skipped")]
        log: list[LogEntry] = []
        if empty:
            log.append(LogEntry(TARGET_EMPTY, f"{label}: nobody on call for {', '.join(empty)}"))
        pages: list[models.Page] = []
        reached: list[str] = []
        for user in users:
            usable = set(self.channels_for(user))
            channels = [c for c in self.priority.channels if c in usable]
            if not channels:
                wanted = ", ".join(self.priority.channels)
                log.append(LogEntry(NO_CHANNEL, f"{label}: cannot page {user}: no usable channel among {wanted}"))
                continue
            pages.extend(models.Page(self.incident_id, user, c, round_, step) for c in channels)
            reached.append(f"{user} ({', '.join(channels)})")
        if not pages:
            log.append(LogEntry(STEP_SKIPPED, f"{label}: nobody on call can be paged; skipped"))
            return [], log
        if self.priority.escalate:
            then = f"escalates in {values.format_duration(self.policy.steps[step].ack_timeout)} unless acknowledged"
        else:
            then = "this priority does not escalate"
        log.append(LogEntry(ESCALATED, f"{label}: paging {', '.join(reached)}; {then}"))
        return pages, log


def _label(round_: int, step: int) -> str:
    if step < 0:
        return "the start"
    return f"step {step + 1}" if round_ == 0 else f"step {step + 1} (round {round_ + 1})"
