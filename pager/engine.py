"""The escalation engine: claims due timers, runs the walker, queues pages, sleeps until the next timer.

No fixed polling cycle: it sleeps exactly until the earliest due timer, wakes at
once on LISTEN/NOTIFY when an incident opens, and re-checks at a modest safety
interval in case a notification was lost. Several engines may run against one
database: claims are FOR UPDATE SKIP LOCKED and the outbox key makes a page unique.
"""

from __future__ import annotations

import asyncio
import datetime
import typing

import structlog

from pager import clock as clock_mod
from pager import config, escalation, models, oncall, wakeup
from pager import metrics as metrics_mod
from pager.store import escalations

log = structlog.get_logger(__name__)

SAFETY_INTERVAL = datetime.timedelta(seconds=30)
BATCH = 200
_UNREACHED = (escalation.TARGET_EMPTY, escalation.STEP_SKIPPED, escalation.NOBODY_ON_CALL, escalation.NO_CHANNEL)


class Engine:
    def __init__(
        self,
        settings: config.Settings,
        store: escalations.Escalations,
        clock: clock_mod.Clock,
        metrics: metrics_mod.Metrics,
        *,
        resolver: oncall.Resolver | None = None,
        on_pages: typing.Callable[[], None] | None = None,
        safety_interval: datetime.timedelta = SAFETY_INTERVAL,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.resolver = resolver or oncall.Resolver(settings.config)
        self._on_pages = on_pages
        self._safety = safety_interval
        self._wake = asyncio.Event()
        self._enabled = settings.enabled_channels()

    def wake(self, *_: object) -> None:
        self._wake.set()

    def channels_for(self, user_id: str) -> tuple[str, ...]:
        user = self.settings.config.user(user_id)
        if user is None:
            return ()
        return tuple(c for c in self._enabled if user.address(c))

    def _outcome(
        self, due: escalations.Due, decision: escalation.Decision, lateness: list[float]
    ) -> escalations.Outcome:
        cfg = self.settings.config
        pages = []
        for page in decision.pages:
            user = cfg.user(page.user)
            address = user.address(page.channel) if user else None
            if address:
                pages.append((page, address))
        steps = {(p.round, p.step) for p in decision.pages}
        for _, step in steps:
            self.metrics.escalations.labels(due.service, str(step + 1)).inc()  # "step 1" as the timeline says
        for seconds in lateness:
            self.metrics.escalation_lateness.observe(seconds)
        unreached = [e for e in decision.log if e.kind in _UNREACHED]
        for e in unreached:
            self.metrics.escalation_unreached.labels(due.service, e.kind).inc()
        if unreached:
            log.warning(
                "escalation paged nobody at a step",
                incident=due.id,
                service=due.service,
                entries=[e.message for e in unreached],
            )
        return escalations.Outcome(
            due.id, decision.state, tuple(pages), tuple((e.kind, e.message) for e in decision.log)
        )

    def decide(self, due: escalations.Due, now: datetime.datetime, *, manual: bool = False) -> escalations.Outcome:
        """Everything due for one incident: the first page, or every overdue step in order."""
        cfg = self.settings.config
        policy = cfg.policy(due.policy) if due.policy else None
        if policy is None:
            return escalations.Outcome(
                due.id,
                escalation.stop(due.state),
                log=(("no_policy", f"escalation policy {due.policy!r} is not configured; nobody is paged"),),
            )
        args = (policy, cfg.priority_policy(due.priority), now, self.resolver.users_at, self.channels_for)
        lateness: list[float] = []
        if manual:
            decision = escalation.escalate_now(due.id, due.state, *args)
        elif due.state.step < 0:
            if due.state.next_at is not None:
                lateness.append((now - due.state.next_at).total_seconds())
            decision = escalation.start(due.id, *args)
        else:
            decision = escalation.Decision(due.state)
        pages, entries, state = list(decision.pages), list(decision.log), decision.state
        while not manual and escalation.is_due(state, now):
            assert state.next_at is not None
            lateness.append((now - state.next_at).total_seconds())
            step = escalation.advance(due.id, state, *args)
            pages += step.pages
            entries += step.log
            state = step.state
        return self._outcome(due, escalation.Decision(state, tuple(pages), tuple(entries)), lateness)

    async def tick(self) -> int:
        """Process every timer due now; returns how many incidents moved."""
        moved = 0
        while True:
            now = self.clock.now()
            async with self.store.claim_due(now, BATCH) as batch:
                outcomes = [self.decide(due, now) for due in batch.due]
                await batch.record(outcomes, now)
            moved += len(outcomes)
            if batch.queued and self._on_pages:
                self._on_pages()
            if len(batch.due) < BATCH:
                return moved

    async def escalate(self, incident_id: int) -> str:
        """A manual escalation: page the next step now. Returns 'escalated', 'not_triggered', 'no_policy' or 'not_found'."""
        now = self.clock.now()
        async with self.store.lock(incident_id) as batch:
            if not batch.due:
                return "not_found"
            due = batch.due[0]
            if due.status != "triggered":
                return "not_triggered"
            if not due.policy or self.settings.config.policy(due.policy) is None:
                return "no_policy"
            await batch.record([self.decide(due, now, manual=True)], now)
        if batch.queued and self._on_pages:
            self._on_pages()
        return "escalated"

    async def notify_acknowledger(self, incident_id: int, priority: models.Priority, user_id: str, seq: int) -> None:
        """A new alert joined an acknowledged incident: page whoever acknowledged it, so it cannot hide."""
        cfg = self.settings.config
        user = cfg.user(user_id)
        if user is None:
            return  # acknowledged by an integration or an API script: nobody to tell
        allowed = self.channels_for(user_id)
        channels = [c for c in cfg.priority_policy(priority).channels if c in allowed] or list(allowed[:1])
        pages = tuple((models.Page(incident_id, user_id, c, seq, -1), user.address(c) or "") for c in channels)
        line = (
            (
                "acknowledger_notified",
                f"New alert on an acknowledged incident: notifying {user.display_name} "
                f"({', '.join(channels) or 'no channel'})",
            ),
        )
        now = self.clock.now()
        async with self.store.lock(incident_id) as batch:
            if not batch.due:
                return
            await batch.record([escalations.Outcome(incident_id, batch.due[0].state, pages, line)], now)
        if batch.queued and self._on_pages:
            self._on_pages()

    async def run(self) -> None:
        """Forever: process what is due, then sleep until the next timer or a wake-up."""
        await wakeup.forever("engine", self.tick, self.store.next_due, self.clock, self._wake, self._safety)
