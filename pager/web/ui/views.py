"""What the pages show, built from the store's rows: the one module of the UI that reads a row.

The store hands out typed rows (`models.Incident`, `AlertState`, `TimelineEntry`); what is not
on them yet (roles and status updates, issue 12) is read through `_field`, which finds either
attributes or keys, so it shows up here the day the store returns it. Everything below is plain
data for the templates; times are already in the viewer's zone, and anything that came from an
alert stays text (the templates autoescape it, and a link is only made of an http(s) URL).
"""

from __future__ import annotations

import dataclasses
import datetime
import typing
import zoneinfo

from pager import actions, config, models, oncall, postmortem, reports

Row = typing.Any  # something issue 12 adds (roles, an update): a mapping or a dataclass

_STATUS_LABELS = {
    "triggered": "Triggered",
    "acknowledged": "Acknowledged",
    "resolved": "Resolved",
    "stabilizing": "Stabilizing",
}
_OPEN = {"triggered", "acknowledged", "stabilizing"}
_LINK_KEYS = {  # annotation → what its link is called; Alertmanager's and Grafana's names
    "runbook_url": "Runbook",
    "runbook": "Runbook",
    "dashboard_url": "Dashboard",
    "dashboardURL": "Dashboard",
    "panelURL": "Panel",
    "generatorURL": "Source",
    "silenceURL": "Silence",
}


def _field(row: Row, name: str, default: typing.Any = None) -> typing.Any:
    if isinstance(row, typing.Mapping):
        return row.get(name, default)
    return getattr(row, name, default)


def _text(value: typing.Any) -> str:
    return "" if value is None else str(value)


def ago(delta: datetime.timedelta) -> str:
    """`12m`, `3h 5m`, `2d 4h`: an age a responder takes in at a glance; under a minute is `<1m`."""
    seconds = max(int(delta.total_seconds()), 0)
    if seconds < 60:
        return "<1m"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def when(value: datetime.datetime | None, tz: zoneinfo.ZoneInfo, now: datetime.datetime | None = None) -> str:
    """Local time; the date only when it is not today."""
    if value is None:
        return ""
    local = value.astimezone(tz)
    if now is not None and local.date() == now.astimezone(tz).date():
        return local.strftime("%H:%M")
    return local.strftime("%a %d %b %H:%M")


def web_link(value: typing.Any) -> str | None:
    """An http(s) URL to link to; anything else (javascript:, data:, a path) is never made a link."""
    if not isinstance(value, str):
        return None
    url = value.strip()
    return url if url.lower().startswith(("https://", "http://")) and " " not in url else None


def user_name(cfg: config.Config, user_id: str | None) -> str:
    if not user_id:
        return ""
    user = cfg.user(user_id)
    if user is not None:
        return user.display_name
    kind, _, ident = user_id.partition(":")
    return ident if kind == "integration" and ident else user_id


@dataclasses.dataclass(frozen=True, slots=True)
class Context:
    """What every view needs besides the row: the config, who is on call, the clock and the viewer's zone."""

    cfg: config.Config
    resolver: oncall.Resolver
    now: datetime.datetime
    tz: zoneinfo.ZoneInfo


@dataclasses.dataclass(frozen=True, slots=True)
class IncidentRow:
    id: int
    number: int
    priority: str
    status: str
    status_label: str
    is_open: bool
    service: str
    service_name: str
    summary: str
    opened: str
    opened_iso: str
    age: str
    alert_count: int
    holder: str  # who holds it: the acknowledger (the commander once roles exist), or who is being paged
    held_by: str  # the same without who is being paged (the incident page says that under Escalation)
    drill: bool = False  # issue 15: a drill, marked as one wherever it shows
    in_maintenance: bool = False  # issue 14: a maintenance window holds it, so nobody is paged


def _paging(ctx: Context, inc: models.Incident) -> str:
    """Who the current escalation step pages, as the engine would resolve it now."""
    policy = ctx.cfg.policy(inc.escalation_policy) if inc.escalation_policy else None
    step = inc.escalation.step
    if policy is None or not 0 <= step < len(policy.steps):
        return ""
    users: dict[str, None] = {}
    for target in policy.steps[step].targets:
        try:
            users.update(dict.fromkeys(ctx.resolver.users_at(target, ctx.now)))
        except ValueError:
            continue
    names = ", ".join(user_name(ctx.cfg, u) for u in users) or "nobody on call"
    return f"paging {names} (step {step + 1})"


def _holder(ctx: Context, inc: models.Incident) -> str:
    roles = _field(inc, "roles") or {}
    commander = _field(roles, "commander") if roles else None
    if commander:
        return f"{user_name(ctx.cfg, _field(commander, 'id') if not isinstance(commander, str) else commander)} (commander)"
    if inc.status is models.IncidentStatus.RESOLVED:
        return f"resolved by {user_name(ctx.cfg, inc.resolved_by) or 'unknown'}"
    if inc.acknowledged_by:
        return user_name(ctx.cfg, inc.acknowledged_by)
    if inc.maintenance_id is not None:
        return "not acknowledged · in maintenance: nobody is paged"
    paging = _paging(ctx, inc)
    return f"not acknowledged · {paging}" if paging else "not acknowledged"


def incident_row(ctx: Context, inc: models.Incident) -> IncidentRow:
    status = str(inc.status)
    svc = ctx.cfg.service(inc.service)
    holder = _holder(ctx, inc)
    return IncidentRow(
        id=inc.id,
        number=inc.number,
        priority=inc.priority.name,
        status=status,
        status_label=_STATUS_LABELS.get(status, status.capitalize()),
        is_open=status in _OPEN,
        service=inc.service,
        service_name=(svc.name if svc and svc.name else inc.service),
        summary=inc.summary,
        opened=when(inc.created_at, ctx.tz, ctx.now),
        opened_iso=inc.created_at.astimezone(datetime.UTC).isoformat(),
        age=ago(ctx.now - inc.created_at),
        alert_count=inc.alert_count,
        holder=holder,
        held_by=holder.partition(" · ")[0],
        drill=inc.drill,
        in_maintenance=inc.maintenance_id is not None,
    )


def row_id(inc: models.Incident) -> int:
    return inc.id


@dataclasses.dataclass(frozen=True, slots=True)
class Link:
    label: str
    url: str | None  # None: shown as text, never linked


@dataclasses.dataclass(frozen=True, slots=True)
class AlertView:
    fingerprint: str
    status: str
    priority: str
    summary: str
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]
    links: tuple[Link, ...]
    first_seen: str
    last_seen: str


def _pairs(mapping: typing.Any, skip: typing.Collection[str] = ()) -> tuple[tuple[str, str], ...]:
    if not isinstance(mapping, typing.Mapping):
        return ()
    return tuple(sorted((str(k), _text(v)) for k, v in mapping.items() if k not in skip))


def _links(annotations: typing.Any) -> tuple[Link, ...]:
    if not isinstance(annotations, typing.Mapping):
        return ()
    out = []
    for key, label in _LINK_KEYS.items():
        value = annotations.get(key)
        if isinstance(value, str) and value.strip():
            url = web_link(value)
            out.append(Link(label, url) if url else Link(f"{label}: {value.strip()}", None))
    return tuple(out)


def alert_view(ctx: Context, alert: models.AlertState) -> AlertView:
    return AlertView(
        fingerprint=alert.fingerprint,
        status=alert.status,
        priority=alert.priority.name,
        summary=alert.summary,
        labels=_pairs(alert.labels),
        annotations=_pairs(alert.annotations, {"summary", *_LINK_KEYS}),
        links=_links(alert.annotations),
        first_seen=when(alert.first_seen_at, ctx.tz, ctx.now),
        last_seen=when(alert.last_seen_at, ctx.tz, ctx.now),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    at: str
    at_iso: str
    kind: str
    actor: str
    message: str


def entry_view(ctx: Context, entry: models.TimelineEntry) -> Entry:
    return Entry(
        at=when(entry.at, ctx.tz, ctx.now),
        at_iso=entry.at.astimezone(datetime.UTC).isoformat(),
        kind=str(entry.kind),
        actor=user_name(ctx.cfg, entry.actor),
        message=entry.message,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Role:
    name: str
    holder: str


@dataclasses.dataclass(frozen=True, slots=True)
class Update:
    at: str
    by: str
    fields: tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True, slots=True)
class IncidentPage:
    row: IncidentRow
    alerts: tuple[AlertView, ...]
    timeline: tuple[Entry, ...]
    links: tuple[Link, ...]
    details: tuple[tuple[str, str], ...]
    paged: str
    escalation: str
    acknowledged: str
    resolved: str
    ack_target: str  # the response targets (priorities.*.ack_within, resolve_within), if set
    resolve_target: str
    roles: tuple[Role, ...]
    updates: tuple[Update, ...]
    next_update: str  # when the next status update is due (priorities.*.update_every), "overdue" when past
    stabilizing: str  # while stabilizing: since when the alerts are clear, and until when it waits
    role_choices: tuple[RoleChoice, ...]  # the roles form: each role, who holds it, who could
    can_update: bool
    can_acknowledge: bool
    can_resolve: bool
    can_escalate: bool


@dataclasses.dataclass(frozen=True, slots=True)
class RoleChoice:
    field: str  # commander, comms, tech_lead, scribe
    label: str
    holder: str | None  # user id
    users: tuple[tuple[str, str], ...]  # (id, name) of everyone who could take it


def _role_choices(ctx: Context, inc: models.Incident) -> tuple[RoleChoice, ...]:
    users = tuple((u.id, u.display_name) for u in ctx.cfg.users)
    return tuple(
        RoleChoice(name, name.replace("_", " ").capitalize(), inc.roles.get(name), users) for name in models.ROLES
    )


def _next_update(ctx: Context, inc: models.Incident) -> str:
    due = inc.next_update_due
    if due is None or not inc.status.open:
        return ""
    return f"by {when(due, ctx.tz, ctx.now)}" + (" — overdue" if due <= ctx.now else "")


def _stabilizing(ctx: Context, inc: models.Incident) -> str:
    if inc.status is not models.IncidentStatus.STABILIZING or inc.stable_until is None:
        return ""
    since = f"alerts clear since {when(inc.recovered_at, ctx.tz, ctx.now)}; " if inc.recovered_at else ""
    return f"{since}resolves by itself at {when(inc.stable_until, ctx.tz, ctx.now)} unless an alert fires again"


def _roles(ctx: Context, roles: Row) -> tuple[Role, ...]:
    if not roles:
        return ()
    out = []
    for name in ("commander", "comms", "tech_lead", "scribe"):
        holder = _field(roles, name)
        ident = holder if isinstance(holder, str) or holder is None else _field(holder, "id")
        out.append(Role(name.replace("_", " ").capitalize(), user_name(ctx.cfg, ident) or "—"))
    return tuple(out)


def _updates(ctx: Context, updates: typing.Iterable[Row]) -> tuple[Update, ...]:
    out = []
    for u in updates:
        fields = tuple((k.capitalize(), _text(_field(u, k))) for k in ("status", "known", "doing", "unknown"))
        at = _field(u, "at") or _field(u, "created_at")
        out.append(
            Update(
                at=when(at, ctx.tz, ctx.now) if isinstance(at, datetime.datetime) else _text(at),
                by=user_name(ctx.cfg, _field(u, "by")),
                fields=tuple((k, v) for k, v in fields if v),
            )
        )
    return tuple(out)


def _target(ctx: Context, inc: models.Incident, which: str) -> str:
    due = inc.ack_by if which == "ack" else inc.resolve_by
    if due is None:
        return ""
    return f"by {when(due, ctx.tz, ctx.now)}" + (" — missed" if inc.breached(which, ctx.now) else "")


def incident_page(
    ctx: Context,
    detail: models.IncidentDetail,
    paged: typing.Sequence[str],
    updates: typing.Sequence[models.StatusUpdate] = (),
) -> IncidentPage:
    inc = detail.incident
    row = incident_row(ctx, inc)
    policy = ctx.cfg.policy(inc.escalation_policy) if inc.escalation_policy else None
    step, next_at = inc.escalation.step, inc.escalation.next_at
    if policy is None:
        escalation = (
            "no escalation policy"
            if not inc.escalation_policy
            else f"policy {inc.escalation_policy!r} is not configured"
        )
    elif inc.status is not models.IncidentStatus.TRIGGERED:
        escalation = f"{policy.id}: stopped"
    elif inc.maintenance_id is not None:
        escalation = f"{policy.id}: held by maintenance window #{inc.maintenance_id}; step 1 is paged when it ends"
    elif step < 0:
        escalation = f"{policy.id}: starting"
    else:
        escalation = f"{policy.id}: {_paging(ctx, inc) or f'step {step + 1}'}"
        if next_at is not None:
            escalation += f"; next step at {when(next_at, ctx.tz, ctx.now)}"
    return IncidentPage(
        row=row,
        alerts=tuple(alert_view(ctx, a) for a in detail.alerts),
        timeline=tuple(entry_view(ctx, e) for e in detail.timeline),
        links=_links(inc.annotations),
        details=_pairs(inc.labels),
        paged=", ".join(user_name(ctx.cfg, u) for u in paged),
        escalation=escalation,
        acknowledged=_done(ctx, inc.acknowledged_by, inc.acknowledged_at),
        resolved=_done(ctx, inc.resolved_by, inc.resolved_at),
        ack_target=_target(ctx, inc, "ack"),
        resolve_target=_target(ctx, inc, "resolve"),
        roles=_roles(ctx, _field(detail, "roles") or _field(inc, "roles")),
        updates=_updates(ctx, updates),
        next_update=_next_update(ctx, inc),
        stabilizing=_stabilizing(ctx, inc),
        role_choices=_role_choices(ctx, inc),
        can_update=inc.status.open,
        can_acknowledge=inc.status is models.IncidentStatus.TRIGGERED,
        can_resolve=inc.status is not models.IncidentStatus.RESOLVED,
        can_escalate=inc.status is models.IncidentStatus.TRIGGERED and policy is not None,
    )


def _done(ctx: Context, by: str | None, at: datetime.datetime | None) -> str:
    if at is None:
        return ""
    return f"{user_name(ctx.cfg, by) or 'unknown'} at {when(at, ctx.tz, ctx.now)}"


@dataclasses.dataclass(frozen=True, slots=True)
class OpenCount:
    priority: str
    count: int


def open_counts(rows: typing.Iterable[tuple[typing.Any, models.Priority, typing.Any, int]]) -> tuple[OpenCount, ...]:
    """Open incidents per priority, P0 first, from the store's (service, priority, status, n) rows."""
    totals = dict.fromkeys(models.Priority, 0)
    for _service, priority, _status, n in rows:
        totals[models.Priority(priority)] += n
    return tuple(OpenCount(p.name, n) for p, n in totals.items())


# --- what issues 14 and 15 add: maintenance windows, changes, drills, post-mortems, action items, the report -------


@dataclasses.dataclass(frozen=True, slots=True)
class ChangeView:
    at: str
    at_iso: str
    before: str  # how long before the incident opened
    summary: str
    source: str
    links: tuple[Link, ...]


def change_view(ctx: Context, c: models.Change, opened: datetime.datetime) -> ChangeView:
    links = []
    for item in c.links:
        url = web_link(_field(item, "href"))
        if url:
            links.append(Link(_text(_field(item, "text")).strip() or url, url))
    return ChangeView(
        at=when(c.at, ctx.tz, ctx.now),
        at_iso=c.at.astimezone(datetime.UTC).isoformat(),
        before=ago(opened - c.at),
        summary=c.summary,
        source=c.source or "",
        links=tuple(links),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class WindowView:
    id: int
    state: str  # active, upcoming or ended
    state_label: str
    services: tuple[str, ...]
    matchers: tuple[str, ...]
    starts: str
    ends: str
    starts_iso: str
    ends_iso: str
    remaining: str  # "1h 20m left", "starts in 2h"
    reason: str
    by: str
    ended_by: str


def window_view(ctx: Context, w: models.MaintenanceWindow) -> WindowView:
    state = "active" if w.active(ctx.now) else "upcoming" if w.starts_at > ctx.now else "ended"
    if state == "active":
        remaining = f"{ago(w.ends_at - ctx.now)} left"
    elif state == "upcoming":
        remaining = f"starts in {ago(w.starts_at - ctx.now)}"
    else:
        remaining = f"ended {ago(ctx.now - w.ends_at)} ago"
    names = []
    for ident in w.services:
        svc = ctx.cfg.service(ident)
        names.append(svc.name if svc and svc.name else ident)
    return WindowView(
        id=w.id,
        state=state,
        state_label=state.capitalize(),
        services=tuple(names),
        matchers=w.matchers,
        starts=when(w.starts_at, ctx.tz, ctx.now),
        ends=when(w.ends_at, ctx.tz, ctx.now),
        starts_iso=w.starts_at.astimezone(datetime.UTC).isoformat(),
        ends_iso=w.ends_at.astimezone(datetime.UTC).isoformat(),
        remaining=remaining,
        reason=w.reason,
        by=user_name(ctx.cfg, w.created_by),
        ended_by=user_name(ctx.cfg, w.ended_by),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class DrillView:
    outcome: str  # running, acknowledged or unacknowledged
    text: str
    failures: tuple[str, ...]


def drill_view(ctx: Context, report: typing.Mapping[str, typing.Any]) -> DrillView:
    """From the drill report (`pager.drills.report`): how it went, and what failed."""
    outcome = str(report["outcome"])
    seconds = report.get("seconds_to_acknowledge")
    if seconds is not None:
        by = user_name(ctx.cfg, report.get("acknowledged_by")) or "someone"
        text = f"Acknowledged by {by} after {ago(datetime.timedelta(seconds=seconds)) if seconds >= 60 else f'{seconds}s'}."
    elif outcome == "running":
        text = "Running: nobody has acknowledged it yet."
    else:
        text = "Over: nobody acknowledged it."
    failures = tuple(f"{f['what']}: {f['message']}" for f in report.get("failures", ()))
    return DrillView(outcome, text, failures)


@dataclasses.dataclass(frozen=True, slots=True)
class ActionView:
    id: int
    title: str
    owner: str
    due: str
    due_iso: str
    is_open: bool
    overdue: bool
    done: str  # who marked it done, and when


def action_view(ctx: Context, item: actions.ActionItem) -> ActionView:
    done = ""
    if item.status == "done":
        done = f"done by {user_name(ctx.cfg, item.done_by) or 'someone'}" + (
            f", {when(item.done_at, ctx.tz, ctx.now)}" if item.done_at else ""
        )
    return ActionView(
        id=item.id,
        title=item.title,
        owner=user_name(ctx.cfg, item.owner),
        due=item.due.strftime("%a %d %b %Y"),
        due_iso=item.due.isoformat(),
        is_open=item.status == "open",
        overdue=item.overdue(ctx.now, ctx.cfg),
        done=done,
    )


@dataclasses.dataclass(frozen=True, slots=True)
class PostmortemState:
    saved: str  # "saved by Alice, Tue 24 Nov 10:00"; empty: only pager's draft exists
    due: str  # "due Wed 25 Nov 12:47", for the priorities that need one
    overdue: bool


def postmortem_state(
    ctx: Context,
    inc: models.Incident,
    saved_by: str | None,
    saved_at: datetime.datetime | None,
) -> PostmortemState:
    saved = (
        f"saved by {user_name(ctx.cfg, saved_by) or 'someone'}, {when(saved_at, ctx.tz, ctx.now)}" if saved_at else ""
    )
    due_at = postmortem.due_at(inc, ctx.cfg)
    overdue = bool(due_at and not saved and ctx.now >= due_at)
    due = f"due {when(due_at, ctx.tz, ctx.now)}" if due_at else ""
    return PostmortemState(saved, due, overdue)


@dataclasses.dataclass(frozen=True, slots=True)
class IncidentContext:
    """What issues 14 and 15 show on an incident: its drill, the window holding it, changes before it, follow-up."""

    drill: DrillView | None
    window: WindowView | None
    held: bool
    changes: tuple[ChangeView, ...]
    postmortem: PostmortemState | None  # None for a drill: it has no post-mortem
    actions: tuple[ActionView, ...]
    owners: tuple[tuple[str, str], ...]  # (id, name) of everyone who may own an action item
    today: str


def incident_context(
    ctx: Context,
    inc: models.Incident,
    *,
    drill: typing.Mapping[str, typing.Any] | None,
    window: models.MaintenanceWindow | None,
    saved_by: str | None,
    saved_at: datetime.datetime | None,
    items: typing.Sequence[actions.ActionItem],
) -> IncidentContext:
    return IncidentContext(
        drill=drill_view(ctx, drill) if inc.drill and drill is not None else None,
        window=window_view(ctx, window) if window is not None else None,
        held=inc.maintenance_id is not None,
        changes=tuple(change_view(ctx, c, inc.created_at) for c in inc.recent_changes),
        postmortem=None if inc.drill else postmortem_state(ctx, inc, saved_by, saved_at),
        actions=tuple(action_view(ctx, a) for a in items),
        owners=tuple((u.id, u.display_name) for u in ctx.cfg.users),
        today=ctx.now.astimezone(ctx.tz).date().isoformat(),
    )


# --- the incident report, as tables -------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, slots=True)
class Figure:
    label: str
    value: str
    note: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class HeatRow:
    day: str
    cells: tuple[tuple[int, int], ...]  # (count, level 0-5) per hour


@dataclasses.dataclass(frozen=True, slots=True)
class ReportView:
    title: str
    period: str
    figures: tuple[Figure, ...]
    response: tuple[tuple[str, ...], ...]  # service, priority, incidents, MTTA, change, MTTR, change
    zones: str
    heat: tuple[HeatRow, ...]
    hours: tuple[int, ...]
    heat_max: int
    weekday_weekend: tuple[Figure, ...]
    after_change: str
    after_change_rows: tuple[tuple[str, ...], ...]
    noisy: tuple[tuple[str, ...], ...]
    load_night: str
    load: tuple[tuple[str, ...], ...]
    outliers: tuple[str, ...]
    drills: str


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _day(ts: str, tz: zoneinfo.ZoneInfo) -> str:
    return datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(tz).strftime("%a %d %b %Y")


def report_view(ctx: Context, r: typing.Mapping[str, typing.Any]) -> ReportView:
    """The report's JSON (`pager.reports.build`) as the /reports page shows it."""
    o = r["response"]["overall"]
    trend = o["trend"]
    ac = r["after_change"]
    ww = r["weekday_weekend"]
    service = ctx.cfg.service(r["service"]) if r["service"] else None
    scope = (service.name or service.id) if service else "all services"
    before = f"the previous {r['since']}"

    def against(change: typing.Mapping[str, typing.Any]) -> str:
        text = reports.change_text(change)
        return f"{text} on {before}" if text != "—" else f"nothing to compare in {before}"

    figures = (
        Figure("Incidents", f"{o['incidents']:,}", f"{o['previous']['incidents']:,} in {before}"),
        Figure("Still open", f"{o['open']:,}"),
        Figure("MTTA", reports.duration_text(o["mtta_seconds"]), against(trend["mtta"])),
        Figure("MTTR", reports.duration_text(o["mttr_seconds"]), against(trend["mttr"])),
        Figure(
            f"Opened within {ac['window']} after a change",
            reports.percent(ac["share"]) if ac.get("available") else "unknown",
            f"{ac['incidents']:,} of {ac['of']:,}" if ac.get("available") else str(ac.get("why", "")),
        ),
        Figure(
            "On weekends",
            reports.percent(ww["weekend_share"]),
            f"{ww['weekend']:,} of {ww['weekday'] + ww['weekend']:,}",
        ),
    )
    response = [
        (
            x["service"],
            x["priority"],
            f"{x['incidents']:,} ({x['trend']['incidents']:+,})",
            reports.duration_text(x["mtta_seconds"]),
            reports.change_text(x["trend"]["mtta"]),
            reports.duration_text(x["mttr_seconds"]),
            reports.change_text(x["trend"]["mttr"]),
        )
        for x in r["response"]["by_service_priority"]
    ]
    matrix = r["hour_of_week"]["matrix"]
    top = max((n for row in matrix for n in row), default=0)
    heat = tuple(
        HeatRow(day, tuple((n, 0 if not n else 1 + min(4, (n * 5 - 1) // top)) for n in row))
        for day, row in zip(r["hour_of_week"]["days"], matrix)
    )
    if ac.get("available"):
        prev = ac["previous"]
        earlier = (
            f"{prev['incidents']:,} of {prev['of']:,} ({reports.percent(prev['share'])}) in {before}"
            if prev["of"]
            else f"no incidents in {before}"
        )
        after = (
            f"{ac['incidents']:,} of {ac['of']:,} incidents ({reports.percent(ac['share'])}) opened within "
            f"{ac['window']} after a change of their service; {earlier}. "
            f"{_count(ac['changes'], 'change')} recorded, {ac['changes_followed']:,} followed by an incident "
            f"within {ac['window']}."
        )
        after_rows = tuple(
            (
                svc,
                f"{x['incidents']:,} of {x['of']:,}",
                reports.percent(x["share"]),
                f"{x['changes']:,}",
                f"{x['changes_followed']:,}",
            )
            for svc, x in ac["by_service"].items()
        )
    else:
        after, after_rows = f"Not known: {ac.get('why')}.", ()
    ld = r["load"]
    load = tuple(
        (
            p["name"],
            f"{p['total']['pages']:,}",
            f"{p['total']['night_pages']:,}",
            f"{p['total']['holding_hours']:g}",
            f"{p['total']['oncall_hours']:g}",
        )
        for p in ld["people"]
    )
    d = r["drills"]
    return ReportView(
        title=f"Incidents, last {r['since']}, {scope}",
        period=f"{_day(r['from'], ctx.tz)} to {_day(r['until'], ctx.tz)}, against the {r['since']} before",
        figures=figures,
        response=tuple(response),
        zones=", ".join(sorted(set(r["hour_of_week"]["zones"].values()))) or "UTC",
        heat=heat,
        hours=tuple(r["hour_of_week"]["hours"]),
        heat_max=top,
        weekday_weekend=(
            Figure("Weekdays", f"{ww['weekday']:,}", f"{ww['weekday_per_day']} a day over {ww['weekday_days']} days"),
            Figure("Weekends", f"{ww['weekend']:,}", f"{ww['weekend_per_day']} a day over {ww['weekend_days']} days"),
        ),
        after_change=after,
        after_change_rows=after_rows,
        noisy=tuple(
            (n["name"], f"{n['events']:,}", f"{n['alerts']:,}", f"{n['incidents']:,}") for n in r["noisiest_alerts"]
        ),
        load_night=ld["night"],
        load=load,
        outliers=tuple(f"{x['name']}: {x['why']}" for x in ld["outliers"]),
        drills=f"Drills are left out of every figure: {_count(d['drills'], 'drill')} in this period, "
        f"{d['acknowledged']:,} acknowledged.",
    )
