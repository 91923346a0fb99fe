"""What the pages show, built from the store's rows: the one module of the UI that reads a row.

Rows are read through `_field`, so the store's move from dicts to frozen dataclasses changes
nothing here but that function. Everything below is plain data for the templates; times are
already in the viewer's zone, and anything that came from an alert stays text (the templates
autoescape it, and a link is only made of an http(s) URL).
"""

from __future__ import annotations

import dataclasses
import datetime
import typing
import zoneinfo

from pager import config, models, oncall

Row = typing.Any  # a store row: a mapping today, a frozen dataclass once the store returns those

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


def _paging(ctx: Context, row: Row) -> str:
    """Who the current escalation step pages, as the engine would resolve it now."""
    policy_id = _field(row, "escalation_policy")
    step = _field(row, "escalation_step", -1)
    policy = ctx.cfg.policy(policy_id) if policy_id else None
    if policy is None or step is None or not 0 <= step < len(policy.steps):
        return ""
    users: dict[str, None] = {}
    for target in policy.steps[step].targets:
        try:
            users.update(dict.fromkeys(ctx.resolver.users_at(target, ctx.now)))
        except ValueError:
            continue
    names = ", ".join(user_name(ctx.cfg, u) for u in users) or "nobody on call"
    return f"paging {names} (step {step + 1})"


def _holder(ctx: Context, row: Row) -> str:
    roles = _field(row, "roles") or {}
    commander = _field(roles, "commander") if roles else None
    if commander:
        return f"{user_name(ctx.cfg, _field(commander, 'id') if not isinstance(commander, str) else commander)} (commander)"
    status = _field(row, "status")
    if status == "resolved":
        return f"resolved by {user_name(ctx.cfg, _field(row, 'resolved_by')) or 'unknown'}"
    if status == "acknowledged" or _field(row, "acknowledged_by"):
        return user_name(ctx.cfg, _field(row, "acknowledged_by"))
    paging = _paging(ctx, row)
    return f"not acknowledged · {paging}" if paging else "not acknowledged"


def incident_row(ctx: Context, row: Row) -> IncidentRow:
    priority = models.Priority(_field(row, "priority"))
    status = str(getattr(_field(row, "status"), "value", _field(row, "status")))
    service = _field(row, "service")
    svc = ctx.cfg.service(service)
    created = _field(row, "created_at")
    return IncidentRow(
        id=_field(row, "id"),
        number=_field(row, "number") or _field(row, "id"),
        priority=priority.name,
        status=status,
        status_label=_STATUS_LABELS.get(status, status.capitalize()),
        is_open=status in _OPEN,
        service=service,
        service_name=(svc.name if svc and svc.name else service),
        summary=_text(_field(row, "summary")),
        opened=when(created, ctx.tz, ctx.now),
        opened_iso=created.astimezone(datetime.UTC).isoformat(),
        age=ago(ctx.now - created),
        alert_count=_field(row, "alert_count") or 0,
        holder=_holder(ctx, row),
        held_by=_holder(ctx, row).partition(" · ")[0],
    )


def row_id(row: Row) -> int:
    return int(_field(row, "id"))


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


def alert_view(ctx: Context, row: Row) -> AlertView:
    annotations = _field(row, "annotations") or {}
    shown_elsewhere = {"summary", *_LINK_KEYS}
    return AlertView(
        fingerprint=_text(_field(row, "fingerprint")),
        status=_text(_field(row, "status")),
        priority=models.Priority(_field(row, "priority")).name,
        summary=_text(_field(row, "summary")),
        labels=_pairs(_field(row, "labels")),
        annotations=_pairs(annotations, shown_elsewhere),
        links=_links(annotations),
        first_seen=when(_field(row, "first_seen_at"), ctx.tz, ctx.now),
        last_seen=when(_field(row, "last_seen_at"), ctx.tz, ctx.now),
    )


@dataclasses.dataclass(frozen=True, slots=True)
class Entry:
    at: str
    at_iso: str
    kind: str
    actor: str
    message: str


def entry_view(ctx: Context, row: Row) -> Entry:
    at = _field(row, "at")
    return Entry(
        at=when(at, ctx.tz, ctx.now),
        at_iso=at.astimezone(datetime.UTC).isoformat(),
        kind=str(getattr(_field(row, "kind"), "value", _field(row, "kind"))),
        actor=user_name(ctx.cfg, _field(row, "actor")),
        message=_text(_field(row, "message")),
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
    roles: tuple[Role, ...]  # shown once the store has them (issue 12)
    updates: tuple[Update, ...]
    can_acknowledge: bool
    can_resolve: bool
    can_escalate: bool


def _roles(ctx: Context, row: Row) -> tuple[Role, ...]:
    roles = _field(row, "roles")
    if not roles:
        return ()
    out = []
    for name in ("commander", "comms", "tech_lead", "scribe"):
        holder = _field(roles, name)
        ident = holder if isinstance(holder, str) or holder is None else _field(holder, "id")
        out.append(Role(name.replace("_", " ").capitalize(), user_name(ctx.cfg, ident) or "—"))
    return tuple(out)


def _updates(ctx: Context, row: Row) -> tuple[Update, ...]:
    out = []
    for u in _field(row, "updates") or ():
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


def incident_page(ctx: Context, detail: Row, paged: typing.Sequence[str]) -> IncidentPage:
    row = incident_row(ctx, detail)
    policy_id = _field(detail, "escalation_policy")
    policy = ctx.cfg.policy(policy_id) if policy_id else None
    step = _field(detail, "escalation_step", -1)
    next_at = _field(detail, "next_escalation_at")
    if policy is None:
        escalation = "no escalation policy" if not policy_id else f"policy {policy_id!r} is not configured"
    elif row.status != "triggered":
        escalation = f"{policy.id}: stopped"
    elif step is None or step < 0:
        escalation = f"{policy.id}: starting"
    else:
        escalation = f"{policy.id}: {_paging(ctx, detail) or f'step {step + 1}'}"
        if next_at is not None:
            escalation += f"; next step at {when(next_at, ctx.tz, ctx.now)}"
    labels = _pairs(_field(detail, "labels"))
    return IncidentPage(
        row=row,
        alerts=tuple(alert_view(ctx, a) for a in _field(detail, "alerts") or ()),
        timeline=tuple(entry_view(ctx, e) for e in _field(detail, "timeline") or ()),
        links=_links(_field(detail, "annotations")),
        details=labels,
        paged=", ".join(user_name(ctx.cfg, u) for u in paged),
        escalation=escalation,
        acknowledged=_done(ctx, detail, "acknowledged"),
        resolved=_done(ctx, detail, "resolved"),
        roles=_roles(ctx, detail),
        updates=_updates(ctx, detail),
        can_acknowledge=row.status == "triggered",
        can_resolve=row.status != "resolved",
        can_escalate=row.status == "triggered" and policy is not None,
    )


def _done(ctx: Context, row: Row, what: str) -> str:
    at = _field(row, f"{what}_at")
    if at is None:
        return ""
    return f"{user_name(ctx.cfg, _field(row, f'{what}_by')) or 'unknown'} at {when(at, ctx.tz, ctx.now)}"


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
