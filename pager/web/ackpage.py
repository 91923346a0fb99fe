"""The ack page behind the link in an SMS: GET only shows, POST acts.

Link previewers (iMessage, Slack, carriers' spam filters) fetch every link in
a message, so a GET must never change anything. The token in the URL is the
whole credential, so the page is never cached, never indexed, and never leaks
its URL through a Referer header (the runbook link would otherwise carry it).
It must work on any phone: no JavaScript, one small inline stylesheet.
"""

from __future__ import annotations

import datetime
import html
import importlib.resources
import string
import typing
import urllib.parse
import zoneinfo

import structlog
from aiohttp import web

from pager import config, models
from pager.store import acks
from pager.web import keys

log = structlog.get_logger(__name__)

ACTIONS = ("acknowledge", "resolve")

_TEMPLATE = string.Template(
    importlib.resources.files("pager.web").joinpath("templates/ack.html").read_text(encoding="utf-8")
)
_HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _page(status: int, title: str, main: str) -> web.Response:
    body = _TEMPLATE.substitute(title=html.escape(title), main=main)
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8", headers=_HEADERS)


def _message(status: int, title: str, text: str) -> web.Response:
    return _page(status, title, f"<h1>{html.escape(title)}</h1>\n<p>{html.escape(text)}</p>")


def _not_found() -> web.Response:
    return _message(
        404,
        "Link not found",
        "This acknowledgement link is not valid. It may have been mistyped or cut short; "
        "open the incident from the pager API or reply to the SMS instead.",
    )


def _name(cfg: config.Config, user_id: str | None) -> str:
    user = cfg.user(user_id) if user_id else None
    return user.display_name if user else (user_id or "someone")


def _when(value: datetime.datetime | None, tz: zoneinfo.ZoneInfo) -> str:
    if value is None:
        return ""
    return value.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def _link(annotations: typing.Mapping[str, typing.Any], *keys: str) -> str:
    url = next((annotations[k] for k in keys or ("runbook_url", "runbook") if annotations.get(k)), None)
    if not isinstance(url, str) or not url.strip():
        return ""
    url = url.strip()
    if url.lower().startswith(("https://", "http://")):
        return f'<a href="{html.escape(url)}" rel="noopener noreferrer">{html.escape(url)}</a>'
    return html.escape(url)  # anything else (javascript:, data:) is shown, never linked


def _status_line(cfg: config.Config, inc: models.Incident, tz: zoneinfo.ZoneInfo) -> str:
    if inc.status is models.IncidentStatus.ACKNOWLEDGED:
        text = f"Acknowledged by {_name(cfg, inc.acknowledged_by)} at {_when(inc.acknowledged_at, tz)}"
    elif inc.status is models.IncidentStatus.RESOLVED:
        text = f"Resolved by {_name(cfg, inc.resolved_by)} at {_when(inc.resolved_at, tz)}"
    elif inc.status is models.IncidentStatus.STABILIZING:
        text = f"Stabilizing: alerts cleared; resolves by itself at {_when(inc.stable_until, tz)}"
    else:
        text = "Triggered, not yet acknowledged"
    return f'<span class="status {html.escape(inc.status)}">{html.escape(text)}</span>'


def _buttons(status: models.IncidentStatus) -> str:
    if status is models.IncidentStatus.RESOLVED:
        return '<p class="notice">This incident is resolved; this link can no longer change it.</p>'
    ack = (
        '<button class="ack" name="action" value="acknowledge">Acknowledge</button>'
        if status is models.IncidentStatus.TRIGGERED
        else ""
    )
    return f'<form method="post">{ack}<button class="res" name="action" value="resolve">Resolve</button></form>'


async def _show(request: web.Request, link: acks.Link, status: int = 200, notice: str = "") -> web.Response:
    cfg = request.app[keys.SETTINGS].config
    inc = link.incident
    user = cfg.user(link.user_id)
    tz = zoneinfo.ZoneInfo(user.time_zone if user else "UTC")
    service = cfg.service(inc.service)
    paged = await request.app[keys.ACKS].paged_users(inc.id)
    priority = inc.priority.name
    rows = [
        ("Status", _status_line(cfg, inc, tz)),
        ("Priority", html.escape(priority)),
        ("Service", html.escape(service.name if service and service.name else inc.service)),
        ("Opened", html.escape(_when(inc.created_at, tz))),
        ("Paged", html.escape(", ".join(_name(cfg, u) for u in paged) or "nobody yet")),
        ("Runbook", _link(inc.annotations or {})),
        ("Dashboard", _link(inc.annotations or {}, "dashboardURL")),  # Grafana's (issue 14)
        ("Panel", _link(inc.annotations or {}, "panelURL")),
        ("Acting as", html.escape(_name(cfg, link.user_id))),
    ]
    details = "".join(f"<dt>{label}</dt><dd>{value}</dd>" for label, value in rows if value)
    main = (
        f"<h1>#{inc.id} [{html.escape(priority)}] {html.escape(inc.service)}</h1>\n"
        + (f'<p class="notice">{html.escape(notice)}</p>\n' if notice else "")
        + f'<p class="summary">{html.escape(inc.summary)}</p>\n'
        + f"<dl>{details}</dl>\n"
        + _buttons(inc.status)
    )
    return _page(status, f"#{inc.id} {inc.summary}"[:120], main)


async def show(request: web.Request) -> web.Response:
    """Only shows: safe for link previewers to fetch."""
    link = await request.app[keys.ACKS].lookup(request.match_info["token"])
    if link is None:
        return _not_found()
    return await _show(request, link)


async def act(request: web.Request) -> web.StreamResponse:
    """Acknowledge or resolve as the person the link was sent to, then show the result (303 to GET)."""
    app = request.app
    link = await app[keys.ACKS].lookup(request.match_info["token"])
    if link is None:
        return _not_found()
    action = (await request.post()).get("action")
    if action not in ACTIONS:
        return _message(400, "Unknown action", "Use the Acknowledge or Resolve button on the incident page.")
    incident_id = link.incident.id
    st = app[keys.STORE]
    do = st.acknowledge if action == "acknowledge" else st.resolve
    changed = await do(incident_id, link.user_id, "link", app[keys.CLOCK].now())
    log.info("incident action by link", incident=incident_id, user=link.user_id, action=action, changed=changed)
    if not changed:
        fresh = await st.get_incident(incident_id)
        if fresh is not None and fresh.status is models.IncidentStatus.RESOLVED:
            return await _show(
                request, acks.Link(link.user_id, fresh), 409, "Nothing changed: this incident is already resolved."
            )
    # relative, so it still lands here when a proxy mounts pager under a path prefix
    location = urllib.parse.quote(request.match_info["token"])
    raise web.HTTPSeeOther(location=location, headers={"Cache-Control": "no-store"})


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [web.get("/a/{token}", show), web.post("/a/{token}", act)]
