"""The responder's pages: incidents, one incident and its actions, who is on call.

Every action is taken as the signed-in user (`via` 'web' on the timeline), then answered with
a 303 back to the page, so a reload never repeats it.
"""

from __future__ import annotations

import dataclasses
import typing
import zoneinfo

import structlog
from aiohttp import web

from pager import models, updates
from pager.store import store
from pager.web import keys
from pager.web.ui import incident_extras, render, schedule, viewer, views

log = structlog.get_logger(__name__)

PAGE_SIZE = 50
RESOLVED_TAIL = 5
MAX_NOTE = 10_000
STATUSES = (
    ("open", "Open"),
    ("triggered", "Triggered"),
    ("acknowledged", "Acknowledged"),
    ("resolved", "Resolved"),
    ("all", "All"),
)
PRIORITIES = tuple(p.name for p in models.Priority)


@dataclasses.dataclass(frozen=True, slots=True)
class NavItem:
    path: str
    label: str


# The pages in the menu: a NavItem, a handler module beside this one, and its routes in ui.routes().
NAV = (
    NavItem("/", "Incidents"),
    NavItem("/oncall", "On call"),
    NavItem("/maintenance", "Maintenance"),  # issue 14: ui/windows.py
    NavItem("/reports", "Reports"),  # issue 15: ui/report.py
)

NOTICES = {
    "acknowledged": "Acknowledged. Pending pages for it are cancelled.",
    "resolved": "Resolved.",
    "escalated": "Escalated: the next step is being paged now.",
    "noted": "Note added to the timeline.",
    "unchanged": "Nothing changed: the incident had already moved on. It is shown as it is now.",
    "not_triggered": "Only a triggered incident escalates; this one is not triggered any more.",
    "no_policy": "This incident's service has no escalation policy: nobody to escalate to.",
    "empty_note": "The note was empty; nothing was added.",
    "long_note": f"The note is longer than {MAX_NOTE} characters; nothing was added.",
    "updated": "Status update posted: on the timeline, mailed to the stakeholders, and on the status page.",
    "bad_update": "The status update was not posted: it needs a current status, and a next update such as 30m.",
    "closed": "This incident is resolved: it takes no more status updates (add a note).",
    "roles_set": "Roles updated.",
    "bad_roles": "Roles were not changed: choose people who are configured in pager.",
}


def _nav(request: web.Request) -> tuple[dict[str, typing.Any], ...]:
    here = request.path
    return tuple(
        {
            "path": n.path,
            "label": n.label,
            "current": here == n.path or (n.path == "/" and here.startswith("/incidents")),
        }
        for n in NAV
    )


def context(request: web.Request, v: viewer.Viewer | None) -> views.Context:
    assert v is not None
    app = request.app
    return views.Context(
        cfg=app[keys.SETTINGS].config,
        resolver=app[keys.ENGINE].resolver,
        now=app[keys.CLOCK].now(),
        tz=zoneinfo.ZoneInfo(v.user.time_zone),
    )


def show(
    request: web.Request, visit: viewer.Visit, template: str, data: dict[str, typing.Any], status: int = 200
) -> web.Response:
    """A signed-in page: the template with the viewer, the menu and the form token."""
    data.update(viewer=visit.viewer, nav=_nav(request), csrf=visit.csrf)
    return render.page(request, template, data, status)


def not_found(request: web.Request, visit: viewer.Visit, what: str) -> web.Response:
    return show(request, visit, "message.html", {"title": "Not found", "heading": "Not found", "text": what}, 404)


@dataclasses.dataclass(frozen=True, slots=True)
class Chosen:
    """The list's filters as asked for, and the store's filters they mean."""

    status: str
    service: str
    priority: str
    filters: store.Filters


def chosen(request: web.Request) -> Chosen:
    """Filters from the query; a value pager does not know is ignored (the form then shows 'any')."""
    q = request.query
    cfg = request.app[keys.SETTINGS].config
    status = q.get("status") or "open"
    if status not in dict(STATUSES):
        status = "open"
    service = q.get("service") or ""
    if service and cfg.service(service) is None:
        service = ""
    priority = (q.get("priority") or "").upper()
    if priority not in PRIORITIES:
        priority = ""
    filters = store.Filters(
        None if status == "all" else "open" if status == "open" else models.IncidentStatus(status),
        service or None,
        models.Priority[priority] if priority else None,
    )
    return Chosen(status, service, priority, filters)


def _cursor(request: web.Request) -> int | None:
    raw = request.query.get("cursor") or ""
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


@viewer.page
async def incidents(request: web.Request, visit: viewer.Visit) -> web.Response:
    ctx = context(request, visit.viewer)
    pick = chosen(request)
    cursor = _cursor(request)
    st = request.app[keys.STORE]
    rows = await st.list_incidents(pick.filters, PAGE_SIZE + 1, cursor)
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    items = [views.incident_row(ctx, r) for r in rows]
    resolved: list[views.IncidentRow] = []
    if pick.status == "open" and not more:  # open first, then the latest resolved ones below them
        tail = dataclasses.replace(pick.filters, status=models.IncidentStatus.RESOLVED)
        resolved = [views.incident_row(ctx, r) for r in await st.list_incidents(tail, RESOLVED_TAIL)]
    cfg = ctx.cfg
    query = {
        "status": pick.status if pick.status != "open" else None,
        "service": pick.service,
        "priority": pick.priority,
    }
    return show(
        request,
        visit,
        "incidents.html",
        {
            "title": "Incidents",
            "items": items,
            "resolved": resolved,
            "chosen": pick,
            "query": query,
            "statuses": STATUSES,
            "services": [(s.id, s.name or s.id) for s in cfg.services],
            "priorities": PRIORITIES,
            "next_cursor": str(items[-1].id) if more and items else None,
            "paged": cursor is not None,
            "live": cursor is None,
            "newest": max((i.id for i in items), default=0),
            "updated": views.when(ctx.now, ctx.tz, ctx.now),
            "open_counts": views.open_counts(await st.open_counts()),
        },
    )


def incident_id(request: web.Request) -> int | None:
    raw = request.match_info["id"]
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


@viewer.page
async def incident(request: web.Request, visit: viewer.Visit) -> web.Response:
    ident = incident_id(request)
    detail = await request.app[keys.STORE].incident_detail(ident) if ident is not None else None
    if detail is None:
        return not_found(request, visit, f"There is no incident {request.match_info['id']}.")
    assert ident is not None
    paged = await request.app[keys.ACKS].paged_users(ident)
    updates = await request.app[keys.STORE].updates(ident)
    ctx = context(request, visit.viewer)
    view = views.incident_page(ctx, detail, paged, updates)
    more = await incident_extras.load(request.app, ctx, detail)  # issues 14 and 15: drill, maintenance, follow-up
    done = request.query.get("done", "")
    return show(
        request,
        visit,
        "incident.html",
        {
            "title": f"#{view.row.number} {view.row.summary}"[:100],
            "inc": view,
            "more": more,
            "notice": NOTICES.get(done) or incident_extras.NOTICES.get(done, ""),
            "max_note": MAX_NOTE,
        },
    )


ACTIONS = ("acknowledge", "resolve", "escalate", "note", "update", "roles")


@viewer.action
async def act(request: web.Request, visit: viewer.Visit) -> web.Response:
    """Acknowledge, resolve, escalate now or add a note, as the signed-in user."""
    ident = incident_id(request)
    verb = request.match_info["action"]
    app = request.app
    st = app[keys.STORE]
    if ident is None or await st.get_incident(ident) is None:
        return not_found(request, visit, f"There is no incident {request.match_info['id']}.")
    v = visit.viewer
    assert v is not None
    now = app[keys.CLOCK].now()
    user = v.user.id
    if verb in ("acknowledge", "resolve"):
        do = st.acknowledge if verb == "acknowledge" else st.resolve
        done = f"{verb}d" if await do(ident, user, "web", now) else "unchanged"
    elif verb == "escalate":
        done = await app[keys.ENGINE].escalate(ident, user)
    elif verb == "update":
        done = await _post_update(request, ident, user)
    elif verb == "roles":
        done = await _set_roles(request, ident, user)
    else:
        text = str((await request.post()).get("text", "")).strip()
        if not text:
            done = "empty_note"
        elif len(text) > MAX_NOTE:
            done = "long_note"
        else:
            await st.add_note(ident, user, text, now)
            done = "noted"
    log.info("incident action from the web UI", incident=ident, user=user, action=verb, outcome=done)
    return render.see_other(request, f"/incidents/{ident}", done=done)


async def _post_update(request: web.Request, ident: int, user: str) -> str:
    form = await request.post()
    try:
        draft = updates.draft(
            {k: str(form.get(k, "")).strip() for k in ("status", "known", "doing", "unknown", "next_update_in")}
        )
    except updates.Invalid:
        return "bad_update"
    posted = await request.app[keys.ENGINE].post_update(ident, draft, user, "web")
    return "closed" if posted == "resolved" else "updated" if isinstance(posted, models.StatusUpdate) else "unchanged"


async def _set_roles(request: web.Request, ident: int, user: str) -> str:
    """The roles form sends every role: an empty choice clears it; only roles that change are written."""
    form = await request.post()
    cfg = request.app[keys.SETTINGS].config
    wanted: dict[str, str | None] = {}
    for role in models.ROLES:
        if role in form:
            holder = str(form[role]).strip() or None
            if holder is not None and cfg.user(holder) is None:
                return "bad_roles"
            wanted[role] = holder
    if not wanted:
        return "bad_roles"
    await request.app[keys.ENGINE].set_roles(ident, wanted, user, "web")
    return "roles_set"


@viewer.page
async def oncall(request: web.Request, visit: viewer.Visit) -> web.Response:
    ctx = context(request, visit.viewer)
    lanes = schedule.lanes(ctx.cfg, ctx.resolver, ctx.now, ctx.tz)
    legend = [(u.display_name, schedule.PALETTE[i % len(schedule.PALETTE)]) for i, u in enumerate(ctx.cfg.users)]
    return show(
        request,
        visit,
        "oncall.html",
        {
            "title": "On call",
            "lanes": lanes,
            "legend": legend,
            "zone": str(ctx.tz),
            "days": schedule.DAYS,
        },
    )
