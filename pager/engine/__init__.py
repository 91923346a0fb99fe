"""The engine: claims due work, plans it with pure functions, writes each plan in the claim's transaction.

Due work is escalations (the incident's own timer) and every other durable
timer (the `timers` table, a handler per kind). No fixed polling cycle: each
lane sleeps exactly until its earliest due item, wakes at once on LISTEN/NOTIFY
or an in-process wake-up when an incident opens, and re-checks at a modest
safety interval in case a notification was lost. Several engines may run
against one database: claims are FOR UPDATE SKIP LOCKED and the outbox key
makes a page unique.

Two lanes run side by side: one claims P0/P1 work, the other P2/P3, each
oldest first. However long a storm of P2/P3 work keeps the second busy, a P0
is claimed by the first the moment it is due; and since the lanes never claim
the same rows, neither waits on (or spins on) what the other holds. The P2/P3
lane is never starved: it has its own connection and loop.
"""

from __future__ import annotations

import asyncio
import datetime
import typing

from pager import clock as clock_mod
from pager import config, effects, models, oncall, plan, updates, wakeup
from pager import lanes as lanes_mod
from pager import metrics as metrics_mod
from pager.engine import cadence, handlers, roles
from pager.engine import escalate as escalate_plan
from pager.store import escalations

SAFETY_INTERVAL = datetime.timedelta(seconds=30)
BATCH = 200


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
        on_stakeholder_mail: typing.Callable[[], None] | None = None,
        safety_interval: datetime.timedelta = SAFETY_INTERVAL,
        batch: int = BATCH,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.metrics = metrics
        self.resolver = resolver or oncall.Resolver(settings.config)
        self._on_pages = on_pages
        self._wakes = {"stakeholder_mail": on_stakeholder_mail} if on_stakeholder_mail else {}
        self._safety = safety_interval
        self._batch = batch
        self._wake = {lane: asyncio.Event() for lane in lanes_mod.LANES}
        self._enabled = settings.enabled_channels()
        self.context = escalate_plan.Context(settings.config, self.resolver.users_at, self.channels_for)

    def wake(self, payload: str = "") -> None:
        """Wake the lanes a NOTIFY payload names (pager.lanes.named); every lane when called bare."""
        for lane in lanes_mod.named(payload):
            self._wake[lane].set()

    def kept_timers(self, now: datetime.datetime) -> list[plan.SetTimer]:
        """Timers of no incident that the config asks for (drill schedules, the report digest), armed at start."""
        return handlers.kept_timers(self.settings.config, now)

    def channels_for(self, user_id: str) -> tuple[str, ...]:
        user = self.settings.config.user(user_id)
        if user is None:
            return ()
        return tuple(c for c in self._enabled if user.address(c))

    def _plan(self, batch: escalations.Batch, now: datetime.datetime) -> plan.Plan:
        timers = self.context.timers(now, batch.maintenance)
        windows = batch.maintenance.active if batch.maintenance else ()
        return plan.Plan.total(
            [escalate_plan.plan_due(incident, self.context, now, windows=windows) for incident in batch.incidents]
            + [handlers.on_due(timer, timers) for timer in batch.timers]
        )

    def _committed(self, p: plan.Plan, queued: int) -> None:
        """After COMMIT: the plan's metrics and log lines, and the sender woken for new pages."""
        effects.emit(p.effects, self.metrics, self._wakes)
        if queued and self._on_pages:
            self._on_pages()

    async def _tick(self, urgent: bool) -> int:
        moved = 0
        while True:
            now = self.clock.now()
            async with self.store.claim_due(now, self._batch, urgent=urgent) as batch:
                p = self._plan(batch, now)
                await batch.record(p, now)
            self._committed(p, batch.queued)
            moved += len(batch)
            if not batch.full(self._batch):
                return moved

    async def tick(self) -> int:
        """Process everything due now, the P0/P1 lane first; returns how many incidents and timers moved."""
        return await self._tick(urgent=True) + await self._tick(urgent=False)

    async def _locked(self, incident_id: int, decide: typing.Callable[[models.Incident], plan.Plan | str]) -> str:
        now = self.clock.now()
        async with self.store.lock(incident_id) as batch:
            if not batch.incidents:
                return "not_found"
            decided = decide(batch.incidents[0])
            if isinstance(decided, str):
                return decided
            await batch.record(decided, now)
        self._committed(decided, batch.queued)
        return "ok"

    async def escalate(
        self, incident_id: int, actor: str = "api", *, audit: typing.Mapping[str, str] | None = None
    ) -> str:
        """`actor` asks for the next step now. Returns 'escalated', 'not_triggered', 'no_policy' or 'not_found'.

        `audit` (which API token asked) goes into the details of every timeline entry it writes.
        """
        now = self.clock.now()

        def decide(incident: models.Incident) -> plan.Plan | str:
            if incident.status is not models.IncidentStatus.TRIGGERED:
                return "not_triggered"
            if not incident.escalation_policy or self.settings.config.policy(incident.escalation_policy) is None:
                return "no_policy"
            return escalate_plan.plan_due(incident, self.context, now, manual=True, actor=actor).audited(audit)

        result = await self._locked(incident_id, decide)
        return "escalated" if result == "ok" else result

    def name(self, user_id: str) -> str:
        user = self.settings.config.user(user_id)
        return user.display_name if user else user_id

    async def set_roles(
        self,
        incident_id: int,
        wanted: typing.Mapping[str, str | None],
        by: str,
        via: str,
        *,
        audit: typing.Mapping[str, str] | None = None,
    ) -> models.Incident | None:
        """Set (or clear, with None) incident roles as `by`; the incident afterwards, None when there is none."""
        decided = await self._locked(
            incident_id, lambda incident: roles.change(incident, wanted, by, via, self.name).audited(audit)
        )
        if decided == "not_found":
            return None
        return await self.store.get(incident_id)

    async def post_update(
        self,
        incident_id: int,
        draft: updates.Draft,
        by: str,
        via: str,
        *,
        audit: typing.Mapping[str, str] | None = None,
    ) -> models.StatusUpdate | str:
        """Post a status update as `by`; the update, or 'not_found' / 'resolved'."""
        now = self.clock.now()
        async with self.store.lock(incident_id) as batch:
            if not batch.incidents:
                return "not_found"
            incident = batch.incidents[0]
            if incident.status is models.IncidentStatus.RESOLVED:
                return "resolved"
            decided = cadence.post(incident, draft, by, via, self.context.timers(now)).audited(audit)
            await batch.record(decided, now)
            update = await batch.latest_update(incident_id)
        self._committed(decided, batch.queued)
        assert update is not None
        return update

    async def notify_acknowledger(self, incident_id: int, priority: models.Priority, user_id: str, seq: int) -> None:
        """A new alert joined an acknowledged incident: page whoever acknowledged it, so it cannot hide."""
        cfg = self.settings.config
        allowed = self.channels_for(user_id)
        channels = [c for c in cfg.priority_policy(priority).channels if c in allowed] or list(allowed[:1])
        user = cfg.user(user_id)

        def decide(incident: models.Incident) -> plan.Plan:
            if incident.maintenance_id is not None:
                return plan.Plan()  # a maintenance window holds it: nobody is paged (issue 14)
            return escalate_plan.plan_notice(incident, user, channels, seq)

        await self._locked(incident_id, decide)

    async def run(self, lanes: typing.Collection[str] = tuple(lanes_mod.LANES)) -> None:
        """Forever, in each of `lanes`: process what is due, then sleep until the lane's next item or a wake-up."""
        await wakeup.lanes(
            "engine",
            self._tick,
            lambda urgent: self.store.next_due(urgent=urgent),
            self.clock,
            self._wake,
            self._safety,
            lanes,
        )
