"""Running an incident over HTTP and SMS: roles, status updates, and the update page a reminder links to.

`POST /api/v1/incidents/{id}/roles` sets roles (`null` clears one); `POST|GET
/api/v1/incidents/{id}/updates` posts and lists status updates; `by` names the person acting,
because a token is not a person. The SMS replies `own 1234` and `update 1234 <text>` come here
from the Twilio webhook. `/u/{token}` is the update page: the link in a status-update reminder,
an ack token's other door (the ack page `/a/{token}` is unchanged). GET only shows, POST posts.
"""

from __future__ import annotations

import html
import importlib.resources
import string
import typing
import urllib.parse

import structlog
from aiohttp import web

from pager import config, models, replies, updates
from pager.store import acks
from pager.web import api, jsonout, keys

log = structlog.get_logger(__name__)

_UPDATE_KEYS = frozenset({*updates.PARTS, "next_update_in", "by"})


def _by(cfg: config.Config, data: typing.Mapping[str, typing.Any]) -> str:
    """Who is acting: `by`, a configured user; 'api' when the request does not say."""
    by = data.get("by")
    if by is None:
        return "api"
    if not isinstance(by, str) or cfg.user(by) is None:
        raise api.BadRequest(f"'by': unknown user {by!r}")
    return by


def _only(data: typing.Mapping[str, typing.Any], allowed: typing.Collection[str], what: str) -> None:
    extra = sorted(k for k in data if k not in allowed)
    if extra:
        raise api.BadRequest(f"'{extra[0]}': not a field of {what}; expected {', '.join(sorted(allowed))}")


async def set_roles(request: web.Request) -> web.Response:
    incident_id = api._incident_id(request)
    app = request.app
    cfg = app[keys.SETTINGS].config
    try:
        data = await api._json_body(request)
        _only(data, {*models.ROLES, "by"}, "roles")
        wanted: dict[str, str | None] = {}
        for role in models.ROLES:
            if role not in data:
                continue
            user = data[role]
            if user is not None and (not isinstance(user, str) or cfg.user(user) is None):
                raise api.BadRequest(f"'{role}': unknown user {user!r}")
            wanted[role] = user
        if not wanted:
            raise api.BadRequest(f"name a role to set: {', '.join(models.ROLES)} (null clears one)")
        by = _by(cfg, data)
    except api.BadRequest as exc:
        return jsonout.error(400, exc.message)
    incident = await app[keys.ENGINE].set_roles(incident_id, wanted, by, "api", audit=api.audit(request))
    if incident is None:
        return jsonout.error(404, f"no incident {incident_id}")
    return jsonout.response(jsonout.incident(incident, app[keys.CLOCK].now()))


async def post_update(request: web.Request) -> web.Response:
    incident_id = api._incident_id(request)
    app = request.app
    try:
        data = await api._json_body(request)
        _only(data, _UPDATE_KEYS, "a status update")
        draft = updates.draft(data)
        by = _by(app[keys.SETTINGS].config, data)
    except api.BadRequest as exc:
        return jsonout.error(400, exc.message)
    except updates.Invalid as exc:
        return jsonout.error(400, str(exc))
    posted = await app[keys.ENGINE].post_update(incident_id, draft, by, "api", audit=api.audit(request))
    if posted == "not_found":
        return jsonout.error(404, f"no incident {incident_id}")
    if posted == "resolved":
        return jsonout.error(409, f"incident {incident_id} is resolved: it takes no more status updates (add a note)")
    assert isinstance(posted, models.StatusUpdate)
    return jsonout.response(
        {"update": jsonout.update(posted)}, 201, {"Location": f"/api/v1/incidents/{incident_id}/updates"}
    )


async def list_updates(request: web.Request) -> web.Response:
    incident_id = api._incident_id(request)
    st = request.app[keys.STORE]
    if await st.get_incident(incident_id) is None:
        return jsonout.error(404, f"no incident {incident_id}")
    return jsonout.response({"updates": [jsonout.update(u) for u in await st.updates(incident_id)]})


async def sms_command(app: web.Application, user: config.User, command: replies.Command) -> str:
    """`own 1234` or `update 1234 <text>` from a user's phone; the answer is the reply SMS."""
    n = command.number
    engine = app[keys.ENGINE]
    if command.verb == replies.OWN:
        before = await app[keys.STORE].get_incident(n)
        if before is None:
            return f"No incident #{n}; nothing changed."
        if before.roles.commander == user.id:
            return f"You are already commander of #{n}."
        incident = await engine.set_roles(n, {"commander": user.id}, user.id, "sms")
        log.info("incident role by sms", incident=n, user=user.id, role="commander")
        summary = " ".join((incident or before).summary.split())[:80]
        return f"You are commander of #{n}: {summary}. Reply 'update {n} <status>' to post a status update."
    if not command.text:
        return f"Say where things stand: 'update {n} <status>'."
    try:
        draft = updates.draft({"status": command.text[: updates.MAX_PART]})
    except updates.Invalid as exc:
        return f"No update posted: {exc}"
    posted = await engine.post_update(n, draft, user.id, "sms")
    log.info("status update by sms", incident=n, user=user.id, posted=isinstance(posted, models.StatusUpdate))
    if posted == "not_found":
        return f"No incident #{n}; nothing posted."
    if posted == "resolved":
        return f"#{n} is resolved; no update posted."
    assert isinstance(posted, models.StatusUpdate)
    due = f" Next update due by {posted.next_update_at:%H:%M} UTC." if posted.next_update_at else ""
    return f"Update posted on #{n}.{due}"


# -- the update page ----------------------------------------------------------------------------

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
_FORM_CSS = (
    "<style>label{display:block;margin:.8rem 0 .2rem;color:#333}"
    "textarea,input{width:100%;box-sizing:border-box;font:inherit;padding:.5rem;border:1px solid #bbb;"
    "border-radius:.4rem}textarea{min-height:4.5rem}.post{background:#0b57d0}.error{background:#fde2e1}</style>"
)


def _page(status: int, title: str, main: str) -> web.Response:
    body = _TEMPLATE.substitute(title=html.escape(title), main=_FORM_CSS + main)
    return web.Response(status=status, text=body, content_type="text/html", charset="utf-8", headers=_HEADERS)


def _not_found() -> web.Response:
    return _page(
        404,
        "Link not found",
        "<h1>Link not found</h1>\n<p>This link is not valid. It may have been mistyped or cut short; "
        "reply to the SMS with 'update NUMBER your status' instead.</p>",
    )


def _field(name: str, label: str, value: str, *, area: bool = True, required: bool = False) -> str:
    attrs = f'name="{name}" id="{name}"' + (" required" if required else "")
    control = (
        f"<textarea {attrs}>{html.escape(value)}</textarea>"
        if area
        else f'<input {attrs} value="{html.escape(value)}" placeholder="30m">'
    )
    return f'<label for="{name}">{html.escape(label)}</label>{control}'


async def _show(
    request: web.Request,
    link: acks.Link,
    status: int = 200,
    notice: str = "",
    form: typing.Mapping[str, str] | None = None,
    error: bool = False,
) -> web.Response:
    inc = link.incident
    latest = (await request.app[keys.STORE].updates(inc.id))[-1:]
    form = form or {}
    head = f"<h1>#{inc.id} [{html.escape(inc.priority.name)}] {html.escape(inc.service)}</h1>\n"
    if notice:
        head += f'<p class="notice{" error" if error else ""}">{html.escape(notice)}</p>\n'
    head += f'<p class="summary">{html.escape(inc.summary)}</p>\n'
    if latest:
        u = latest[0]
        head += f"<p>Last update ({u.at:%H:%M} UTC): {html.escape(u.status)}</p>\n"
    if inc.next_update_due and inc.next_update_due <= request.app[keys.CLOCK].now():
        head += f"<p><strong>The next update was due at {inc.next_update_due:%H:%M} UTC.</strong></p>\n"
    elif inc.next_update_due:
        head += f"<p>Next update due by {inc.next_update_due:%H:%M} UTC.</p>\n"
    if inc.status is models.IncidentStatus.RESOLVED:
        return _page(status, f"#{inc.id} update", head + '<p class="notice">This incident is resolved.</p>')
    fields = "".join(
        _field(k, updates.LABELS[k] + (" (required)" if k == "status" else ""), form.get(k, ""), required=k == "status")
        for k in updates.PARTS
    )
    fields += _field("next_update_in", "Next update in", form.get("next_update_in", ""), area=False)
    cfg = request.app[keys.SETTINGS].config
    audience = "the incident's stakeholders by email"
    if inc.service in cfg.status_page.services:
        audience += " and everyone on the public status page: write it for customers"
    main = (
        head
        + f'<form method="post">{fields}<p class="muted">An update goes to {audience}.</p>'
        + '<button class="post">Post update</button></form>'
    )
    return _page(status, f"#{inc.id} status update", main)


async def show(request: web.Request) -> web.Response:
    """Only shows the form: safe for link previewers."""
    link = await request.app[keys.ACKS].lookup(request.match_info["token"])
    if link is None:
        return _not_found()
    posted = "Update posted. Thank you." if request.query.get("posted") else ""
    return await _show(request, link, notice=posted)


async def post(request: web.Request) -> web.StreamResponse:
    app = request.app
    link = await app[keys.ACKS].lookup(request.match_info["token"])
    if link is None:
        return _not_found()
    form = {k: str(v) for k, v in (await request.post()).items() if k in _UPDATE_KEYS}
    try:
        draft = updates.draft(form)
    except updates.Invalid as exc:
        return await _show(request, link, 400, f"Not posted: {exc}", form, error=True)
    posted = await app[keys.ENGINE].post_update(link.incident.id, draft, link.user_id, "link")
    if posted == "resolved":
        return await _show(request, link, 409, "Not posted: the incident is resolved.", error=True)
    if posted == "not_found":
        return _not_found()
    log.info("status update by link", incident=link.incident.id, user=link.user_id)
    location = urllib.parse.quote(request.match_info["token"]) + "?posted=1"
    raise web.HTTPSeeOther(location=location, headers={"Cache-Control": "no-store"})


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [
        web.post("/api/v1/incidents/{id}/roles", set_roles),
        web.post("/api/v1/incidents/{id}/updates", post_update),
        web.get("/api/v1/incidents/{id}/updates", list_updates),
        web.get(updates.PATH + "{token}", show),
        web.post(updates.PATH + "{token}", post),
    ]
