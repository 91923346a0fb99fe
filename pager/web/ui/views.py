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

from pager import config, models, oncall

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
