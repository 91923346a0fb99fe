"""/api/v1 for learning from incidents: post-mortems, action items, drills and the incident report."""

from __future__ import annotations

import datetime
import typing

from aiohttp import web

from pager import actions, drills, models, plan, postmortem, report_picture, reporting, reports
from pager.web import api, jsonout, keys

MAX_POSTMORTEM = 512 * 1024
_TEXT_TYPES = ("text/markdown", "text/plain", "text/x-markdown", "application/octet-stream")


def _by(request: web.Request, data: typing.Mapping[str, typing.Any] | None = None) -> str:
    """Who acts: `by` (or `user`) in the body or the query; a token is not a person."""
    raw = (data or {}).get("by") or (data or {}).get("user") or request.query.get("by")
    if raw is None:
        return "api"
    if not isinstance(raw, str) or request.app[keys.SETTINGS].config.user(raw) is None:
        raise api.BadRequest(f"'by': unknown user {raw!r}")
    return raw


# --- post-mortems ------------------------------------------------------------------------------------------------


async def get_postmortem(request: web.Request) -> web.Response:
    incident_id = api._incident_id(request)
    found = await request.app[keys.POSTMORTEMS].record(incident_id)
    if found is None:
        return jsonout.error(404, f"no incident {incident_id}")
    record, saved = found
    now = request.app[keys.CLOCK].now()
    if saved is not None and request.query.get("draft") not in ("1", "true"):
        body = saved.body
        headers = {
            "Last-Modified": saved.updated_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
            "X-Pager-Postmortem": "saved",
        }
    else:
        body = postmortem.draft(record, request.app[keys.SETTINGS].config, now)
        headers = {"X-Pager-Postmortem": "draft"}
    return web.Response(text=body, content_type="text/markdown", charset="utf-8", headers=headers)


async def put_postmortem(request: web.Request) -> web.Response:
    incident_id = api._incident_id(request)
    if request.content_type not in _TEXT_TYPES:
        return jsonout.error(415, f"send the post-mortem as text/markdown, not {request.content_type}")
    raw = await request.read()
    if len(raw) > MAX_POSTMORTEM:
        return jsonout.error(413, f"a post-mortem is at most {MAX_POSTMORTEM // 1024} KiB")
    try:
        text = raw.decode("utf-8")
        by = _by(request)
    except UnicodeDecodeError as exc:
        return jsonout.error(400, f"the post-mortem is not UTF-8 (byte {exc.start})")
    except api.BadRequest as exc:
        return jsonout.error(400, exc.message)
    if not text.strip():
        return jsonout.error(400, "the post-mortem is empty: send its Markdown")
    saved = await request.app[keys.POSTMORTEMS].save(
        incident_id, text.replace("\x00", "\ufffd"), by, request.app[keys.CLOCK].now()
    )
    if saved is None:
        return jsonout.error(404, f"no incident {incident_id}")
    return jsonout.response(
        {"incident_id": incident_id, "saved_at": saved.updated_at, "saved_by": saved.updated_by, "bytes": len(raw)}
    )


# --- action items ------------------------------------------------------------------------------------------------


def action_json(a: actions.ActionItem, now: datetime.datetime, cfg: typing.Any) -> dict[str, typing.Any]:
    return {
        "id": a.id,
        "incident_id": a.incident_id,
        "title": a.title,
        "owner": a.owner,
        "due": a.due.isoformat(),
        "status": a.status,
        "overdue": a.overdue(now, cfg),
        "created_at": jsonout.timestamp(a.created_at),
        "created_by": a.created_by,
        "done_at": jsonout.timestamp(a.done_at),
        "done_by": a.done_by,
    }


async def add_action(request: web.Request) -> web.Response:
    incident_id = api._incident_id(request)
    cfg = request.app[keys.SETTINGS].config
    try:
        data = await api._json_body(request)
        title = api._string(data, "title", required=True, max_len=500)
        owner = api._string(data, "owner", required=True, max_len=100)
        if cfg.user(owner or "") is None:
            raise api.BadRequest(f"'owner': unknown user {owner!r}")
        if "due" not in data:
            raise api.BadRequest("'due' is required: a date such as 2026-12-01")
        try:
            due = actions.parse_due(data["due"])
        except ValueError as exc:
            raise api.BadRequest(f"'due': {exc}") from None
        by = _by(request, data)
    except api.BadRequest as exc:
        return jsonout.error(400, exc.message)
    assert title is not None and owner is not None
    now = request.app[keys.CLOCK].now()
    item = await request.app[keys.ACTIONS].add(
        incident_id, title.strip(), owner, due, actions.remind_at(due, cfg, owner), by, now
    )
    if item is None:
        return jsonout.error(404, f"no incident {incident_id}")
    return jsonout.response({"action": action_json(item, now, cfg)}, 201, {"Location": f"/api/v1/actions/{item.id}"})


async def list_actions(request: web.Request) -> web.Response:
    status = request.query.get("status") or None
    if status == "all":
        status = None
    if status is not None and status not in actions.STATUSES:
        return jsonout.error(400, f"status: expected open, done or all, got {status!r}")
    incident = request.query.get("incident")
    if incident is not None and not (incident.isascii() and incident.isdigit()):
        return jsonout.error(400, f"incident: expected an incident number, got {incident!r}")
    items = await request.app[keys.ACTIONS].list(
        status, int(incident) if incident else None, request.query.get("owner")
    )
    now, cfg = request.app[keys.CLOCK].now(), request.app[keys.SETTINGS].config
    return jsonout.response({"actions": [action_json(a, now, cfg) for a in items]})


async def incident_actions(request: web.Request) -> web.Response:
    incident_id = api._incident_id(request)
    items = await request.app[keys.ACTIONS].list(None, incident_id)
    now, cfg = request.app[keys.CLOCK].now(), request.app[keys.SETTINGS].config
    return jsonout.response({"actions": [action_json(a, now, cfg) for a in items]})


async def action_done(request: web.Request) -> web.Response:
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit() and int(raw) < 2**63):
        return jsonout.error(404, f"no action item {raw!r}")
    try:
        by = _by(request, await api._json_body(request, optional=True))
    except api.BadRequest as exc:
        return jsonout.error(400, exc.message)
    now = request.app[keys.CLOCK].now()
    item = await request.app[keys.ACTIONS].done(int(raw), by, now)
    if item is None:
        return jsonout.error(404, f"no action item {raw}")
    return jsonout.response({"action": action_json(item, now, request.app[keys.SETTINGS].config)})


# --- drills ------------------------------------------------------------------------------------------------------


async def start_drill(request: web.Request) -> web.Response:
    cfg = request.app[keys.SETTINGS].config
    try:
        data = await api._json_body(request)
        service_id = api._string(data, "service", required=True, max_len=100)
        try:
            priority = models.Priority.parse(api._string(data, "priority") or "P1")
        except ValueError as exc:
            raise api.BadRequest(f"'priority': {exc}") from None
        summary = api._string(data, "summary") or "Drill: please acknowledge this page"
        by = _by(request, data)
    except api.BadRequest as exc:
        return jsonout.error(400, exc.message)
    service = cfg.service(service_id or "")
    if service is None:
        return jsonout.error(400, f"'service': unknown service {service_id!r}")
    now = request.app[keys.CLOCK].now()
    drill = plan.OpenDrill(service.id, service.escalation_policy, priority, summary, by)
    incident_id = await request.app[keys.DRILLS].start(drill, now)
    detail = await request.app[keys.STORE].incident_detail(incident_id)
    assert detail is not None
    return jsonout.response(jsonout.detail(detail, now), 201, {"Location": f"/api/v1/drills/{incident_id}"})


async def drill_report(request: web.Request) -> web.Response:
    incident_id = api._incident_id(request)
    found = await request.app[keys.DRILLS].record(incident_id)
    if found is None or not found[0].incident.drill:
        return jsonout.error(404, f"no drill {incident_id}")
    detail, pages = found
    now = request.app[keys.CLOCK].now()
    return jsonout.response(drills.report(detail, pages, request.app[keys.SETTINGS].config, now))


# --- the incident report -----------------------------------------------------------------------------------------


async def _report(request: web.Request) -> dict[str, typing.Any] | web.Response:
    cfg = request.app[keys.SETTINGS].config
    try:
        since = reports.parse_since(request.query.get("since"))
    except ValueError as exc:
        return jsonout.error(400, f"since: {exc}")
    service = request.query.get("service") or None
    if service is not None and cfg.service(service) is None:
        return jsonout.error(400, f"service: unknown service {service!r}")
    query = f"since={request.query.get('since') or '30d'}" + (f"&service={service}" if service else "")
    return await reporting.report(
        request.app[keys.REPORTS],
        cfg,
        since,
        request.app[keys.CLOCK].now(),
        service,
        picture_url=f"/api/v1/reports/incidents.svg?{query}",
    )


async def incident_report(request: web.Request) -> web.Response:
    data = await _report(request)
    return data if isinstance(data, web.Response) else jsonout.response(data)


async def incident_report_svg(request: web.Request) -> web.Response:
    ok, why = report_picture.available()
    if not ok:
        # Not temporary (no Retry-After): this pager was installed without its plotting extra.
        return web.json_response({"error": f"the picture is not available: {why}"}, status=501)
    data = await _report(request)
    if isinstance(data, web.Response):
        return data
    svg = await reporting.picture(data, "svg")
    return web.Response(body=svg, content_type="image/svg+xml")


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [
        web.get("/api/v1/incidents/{id}/postmortem", get_postmortem),
        web.put("/api/v1/incidents/{id}/postmortem", put_postmortem),
        web.post("/api/v1/incidents/{id}/actions", add_action),
        web.get("/api/v1/incidents/{id}/actions", incident_actions),
        web.get("/api/v1/actions", list_actions),
        web.post("/api/v1/actions/{id}/done", action_done),
        web.post("/api/v1/drills", start_drill),
        web.get("/api/v1/drills/{id}", drill_report),
        web.get("/api/v1/reports/incidents", incident_report),
        web.get("/api/v1/reports/incidents.svg", incident_report_svg),
    ]
