"""What is due for one incident's escalation, as a plan: pure, a function of (incident, config, now).

The engine claims due incidents, calls `plan` for each, and writes the plans in
the claim's transaction; the metrics and warnings a plan carries are emitted
only after COMMIT. Who is on call and how a user can be reached are passed in.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import config, effects, escalation, models, plan, timeline
from pager.engine import handlers, maintenance

_UNREACHED = (
    timeline.Kind.TARGET_EMPTY,
    timeline.Kind.STEP_SKIPPED,
    timeline.Kind.NOBODY_ON_CALL,
    timeline.Kind.NO_CHANNEL,
)


@dataclasses.dataclass(frozen=True)
class Context:
    """What an escalation decision may consult besides the incident: config, on-call, channels."""

    config: config.Config
    users_at: escalation.UsersAt
    channels_for: escalation.ChannelsFor

    def timers(self, now: datetime.datetime, held: typing.Any = None) -> handlers.Context:
        """The handlers' context at `now`; `held` is what the claim loaded of maintenance (ClaimContext)."""
        if held is None:
            return handlers.Context(self.config, now, self.users_at, self.channels_for)
        return handlers.Context(
            self.config,
            now,
            self.users_at,
            self.channels_for,
            held.active,
            held.windows,
            held.candidates,
            held.partial,
        )


def _decided(
    incident: models.Incident, decision: escalation.Decision, lateness: list[float], ctx: Context
) -> plan.Plan:
    pages = []
    for page in decision.pages:
        user = ctx.config.user(page.user)
        address = user.address(page.channel) if user else None
        if address:
            pages.append(plan.QueuedPage(page, address))
    out: list[effects.Effect] = []
    for _, step in sorted({(p.round, p.step) for p in decision.pages}):
        out.append(effects.Count("escalations", (incident.service, str(step + 1))))  # "step 1" as the timeline says
    out += [effects.Observe("escalation_lateness", seconds) for seconds in lateness]
    unreached = [e for e in decision.log if e.kind in _UNREACHED]
    out += [effects.Count("escalation_unreached", (incident.service, e.kind)) for e in unreached]
    if unreached:
        out.append(
            effects.warning(
                "escalation paged nobody at a step",
                incident=incident.id,
                service=incident.service,
                entries=[e.message for e in unreached],
            )
        )
    return plan.Plan(
        escalations=((incident.id, decision.state),),
        pages=tuple(pages),
        log=tuple(plan.Line(incident.id, e.kind, e.message) for e in decision.log),
        effects=tuple(out),
    )


def plan_due(
    incident: models.Incident,
    ctx: Context,
    now: datetime.datetime,
    *,
    manual: bool = False,
    actor: str = "pager",
    windows: typing.Sequence[models.MaintenanceWindow] = (),
) -> plan.Plan:
    """Everything due for one incident: its opening (first page, other timers armed), or every overdue step.

    `manual` is `actor` asking for the next step now, whatever its timer; the timeline says who asked.
    An incident an active maintenance window (`windows`) holds pages nobody: its escalation stops, to
    start over at the end.
    """
    cfg = ctx.config
    state = incident.escalation
    opening = state.step < 0 and not manual
    opened = handlers.on_opened(incident, ctx.timers(now)) if opening else plan.Plan()
    window = maintenance.holding(windows, incident, now) if not manual else None
    if window is not None:
        return opened + maintenance.held(incident, window, opening=opening)
    policy = cfg.policy(incident.escalation_policy) if incident.escalation_policy else None
    if policy is None:
        if incident.escalation_policy:
            why = f"escalation policy {incident.escalation_policy!r} is not configured; nobody is paged"
        else:
            why = f"service {incident.service} has no escalation policy; nobody is paged"
        stopped = plan.Plan(
            escalations=((incident.id, escalation.stop(state)),),
            log=(plan.Line(incident.id, timeline.Kind.NO_POLICY, why),) if opening or manual else (),
        )
        return opened + stopped
    args = (policy, cfg.priority_policy(incident.priority), now, ctx.users_at, ctx.channels_for)
    lateness: list[float] = []
    if manual:
        decision = escalation.escalate_now(incident.id, state, *args)
    elif opening:
        if state.next_at is not None:
            lateness.append((now - state.next_at).total_seconds())
        decision = escalation.start(incident.id, *args)
    else:
        decision = escalation.Decision(state)
    pages, entries, state = list(decision.pages), list(decision.log), decision.state
    while not manual and escalation.is_due(state, now):
        assert state.next_at is not None
        lateness.append((now - state.next_at).total_seconds())
        step = escalation.advance(incident.id, state, *args)
        pages += step.pages
        entries += step.log
        state = step.state
    decided = _decided(incident, escalation.Decision(state, tuple(pages), tuple(entries)), lateness, ctx)
    if manual:
        log = tuple(
            dataclasses.replace(x, actor=actor) if x.kind == timeline.Kind.MANUAL_ESCALATION else x for x in decided.log
        )
        decided = dataclasses.replace(decided, log=log)
    return opened + decided


def plan_notice(
    incident: models.Incident, user: config.User | None, channels: typing.Sequence[str], seq: int
) -> plan.Plan:
    """A new alert joined an acknowledged incident: page whoever acknowledged it, so it cannot hide."""
    if user is None:
        return plan.Plan()  # acknowledged by an integration or an API script: nobody to tell
    pages = tuple(
        plan.QueuedPage(models.Page(incident.id, user.id, c, seq, -1), user.address(c) or "") for c in channels
    )
    line = plan.Line(
        incident.id,
        timeline.Kind.ACKNOWLEDGER_NOTIFIED,
        f"New alert on an acknowledged incident: notifying {user.display_name} ({', '.join(channels) or 'no channel'})",
    )
    return plan.Plan(pages=pages, log=(line,))
