"""/api/v1: incidents for people and scripts, behind an API bearer token."""

from __future__ import annotations

import datetime
import json
import typing

import structlog
from aiohttp import web

from pager import config, ical, ingest, models
from pager.store import db, store
from pager.web import auth, jsonout, keys

log = structlog.get_logger(__name__)

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100
_STATUSES = (*models.IncidentStatus, "open")


TOKEN = web.RequestKey("api_token", config.ApiToken)  # the token a request to /api/ was let in with
PUBLIC = frozenset({"/api/v1/openapi.json"})


@web.middleware
async def require_token(
    request: web.Request, handler: typing.Callable[..., typing.Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """/api/ needs a token: any for reading, a read-write one for POST/PUT/PATCH/DELETE."""
    if not request.path.startswith("/api/") or request.path in PUBLIC:
        return await handler(request)
    token = auth.bearer(request)
    if token is None and request.path.endswith(".ics"):
        token = request.query.get("token")  # calendar apps subscribe by URL and cannot send headers
    key = auth.api_token(request.app[keys.SETTINGS], token)
    if key is None:
        return jsonout.error(401, "missing or wrong API token: send Authorization: Bearer <token>")
    if not auth.allows(key, request.method):
        return jsonout.error(
            403,
            f"the API token {key.name} is read-only: it cannot {request.method} {request.path}; "
            "use a token from api_tokens_env",
        )
    request[TOKEN] = key
    return await handler(request)


def audit(request: web.Request) -> dict[str, str]:
    """What every write through the API records in its timeline entry's details: the token's name.

    A handler that writes passes this to the store; the entry then says which token made it (and,
    in `actor`, which user the request named)."""
    return {"token": request[TOKEN].name}


class BadRequest(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_MAX_ID = 2**63 - 1  # incidents.id is a bigint


def _incident_id(request: web.Request) -> int:
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit() and int(raw) <= _MAX_ID):
        raise web.HTTPNotFound(text=json.dumps({"error": f"no incident {raw!r}"}), content_type="application/json")
    return int(raw)


async def _json_body(request: web.Request, *, optional: bool = False) -> dict[str, typing.Any]:
    raw = await request.read()
    if not raw.strip():
        if optional:
            return {}
        raise BadRequest("request body is empty: expected a JSON object")
    try:
        data = json.loads(ingest.without_nul(raw))
    except json.JSONDecodeError as exc:
        raise BadRequest(f"request body is not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except UnicodeDecodeError as exc:  # found by the schemathesis run: it was a 500
        raise BadRequest(f"request body is not UTF-8: byte {exc.start} cannot be decoded") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def _string(data: dict[str, typing.Any], key: str, *, required: bool = False, max_len: int = 1024) -> str | None:
    value = data.get(key)
    if value is None:
        if required:
            raise BadRequest(f"'{key}' is required")
        return None
    if not isinstance(value, str) or (required and not value.strip()):
        raise BadRequest(f"'{key}' must be a non-empty string")
    if len(value) > max_len:
        raise BadRequest(f"'{key}' is longer than {max_len} characters")
    return value


def _str_map(data: dict[str, typing.Any], key: str) -> dict[str, str]:
    value = data.get(key) or {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(f"'{key}' must be an object of string values")
    return value


def _actor(request: web.Request, data: dict[str, typing.Any]) -> str:
    user = _string(data, "user", max_len=100)
    if user is None:
        return "api"
    if request.app[keys.SETTINGS].config.user(user) is None:
        raise BadRequest(f"'user': unknown user {user!r}")
    return user


async def list_incidents(request: web.Request) -> web.Response:
    q = request.query
    raw_status = q.get("status") or None
    if raw_status is not None and raw_status not in _STATUSES:
        return jsonout.error(400, f"status: expected one of {', '.join(_STATUSES)}, got {raw_status!r}")
    status = "open" if raw_status == "open" else None if raw_status is None else models.IncidentStatus(raw_status)
    priority = None
    if q.get("priority"):
        try:
            priority = models.Priority.parse(q["priority"])
        except ValueError as exc:
            return jsonout.error(400, f"priority: {exc}")
    try:
        limit = int(q.get("limit", DEFAULT_LIMIT))
        if limit < 1:
            raise ValueError
    except ValueError:
        return jsonout.error(400, f"limit: expected a positive integer, got {q.get('limit')!r}")
    limit = min(limit, MAX_LIMIT)
    cursor = q.get("cursor") or None
    if cursor is not None and not cursor.isdigit():
        return jsonout.error(400, f"cursor: not a cursor this API returned: {cursor!r}")
    rows = await request.app[keys.STORE].list_incidents(
        store.Filters(status, q.get("service") or None, priority), limit + 1, int(cursor) if cursor else None
    )
    more = len(rows) > limit
    rows = rows[:limit]
    now = request.app[keys.CLOCK].now()
    return jsonout.response(
        {
            "incidents": [jsonout.incident(r, now) for r in rows],
            "next_cursor": str(rows[-1].id) if more else None,
        }
    )


async def get_incident(request: web.Request) -> web.Response:
    detail = await request.app[keys.STORE].incident_detail(_incident_id(request))
    if detail is None:
        return jsonout.error(404, f"no incident {request.match_info['id']}")
    return jsonout.response(jsonout.detail(detail, request.app[keys.CLOCK].now()))


async def _transition(request: web.Request, verb: str) -> web.Response:
    incident_id = _incident_id(request)
    try:
        actor = _actor(request, await _json_body(request, optional=True))
    except BadRequest as exc:
        return jsonout.error(400, exc.message)
    app = request.app
    st = app[keys.STORE]
    action = st.acknowledge if verb == "acknowledge" else st.resolve
    changed = await action(incident_id, actor, "api", app[keys.CLOCK].now(), audit(request))
    row = await st.get_incident(incident_id)
    if row is None:
        return jsonout.error(404, f"no incident {incident_id}")
    now = app[keys.CLOCK].now()
    if not changed and verb == "acknowledge" and row.status is models.IncidentStatus.RESOLVED:
        return jsonout.error(409, f"incident {incident_id} is already resolved", incident=jsonout.incident(row, now))
    return jsonout.response(jsonout.incident(row, now))


async def acknowledge(request: web.Request) -> web.Response:
    return await _transition(request, "acknowledge")


async def resolve(request: web.Request) -> web.Response:
    return await _transition(request, "resolve")


async def add_note(request: web.Request) -> web.Response:
    incident_id = _incident_id(request)
    try:
        data = await _json_body(request)
        text = _string(data, "text", required=True, max_len=10_000)
        hypothesis = _string(data, "hypothesis", max_len=10_000)  # a change tried: what it should show,
        result = _string(data, "result", max_len=10_000)  # and what it did
        actor = _actor(request, data)
    except BadRequest as exc:
        return jsonout.error(400, exc.message)
    assert text is not None
    app = request.app
    added = await app[keys.STORE].add_note(
        incident_id, actor, text, app[keys.CLOCK].now(), audit(request), hypothesis=hypothesis, result=result
    )
    if not added:
        return jsonout.error(404, f"no incident {incident_id}")
    return jsonout.response({"status": "noted"}, 201)


async def create_incident(request: web.Request) -> web.Response:
    """Anyone can report a problem: open an incident by hand on a service."""
    app = request.app
    cfg = app[keys.SETTINGS].config
    try:
        data = await _json_body(request)
        service_id = _string(data, "service", required=True, max_len=100)
        summary = _string(data, "summary", required=True)
        priority = models.Priority.parse(_string(data, "priority") or "P1")
        dedup_key = _string(data, "dedup_key", max_len=255)
        labels, details = _str_map(data, "labels"), _str_map(data, "details")
        actor = _actor(request, data)
    except BadRequest as exc:
        return jsonout.error(400, exc.message)
    except ValueError as exc:
        return jsonout.error(400, f"priority: {exc}")
    assert service_id is not None and summary is not None
    service = cfg.service(service_id)
    if service is None:
        return jsonout.error(400, f"service: unknown service {service_id!r}")
    try:
        incident_id = await app[keys.STORE].create_incident(
            service=service.id,
            policy=service.escalation_policy,
            priority=priority,
            summary=summary,
            labels=labels,
            annotations=details,
            actor=actor,
            now=app[keys.CLOCK].now(),
            audit=audit(request),
            dedup_key=dedup_key,
        )
    except db.UniqueViolation:
        return jsonout.error(409, f"an open incident on {service.id} already has dedup_key {dedup_key!r}")
    detail = await app[keys.STORE].incident_detail(incident_id)
    assert detail is not None
    return jsonout.response(
        jsonout.detail(detail, app[keys.CLOCK].now()), 201, {"Location": f"/api/v1/incidents/{incident_id}"}
    )


async def escalate(request: web.Request) -> web.Response:
    """Page the next step now, whatever its timer says."""
    incident_id = _incident_id(request)
    try:
        actor = _actor(request, await _json_body(request, optional=True))
    except BadRequest as exc:
        return jsonout.error(400, exc.message)
    result = await request.app[keys.ENGINE].escalate(incident_id, actor, audit=audit(request))
    if result == "not_found":
        return jsonout.error(404, f"no incident {incident_id}")
    row = await request.app[keys.STORE].get_incident(incident_id)
    assert row is not None
    now = request.app[keys.CLOCK].now()
    if result == "no_policy":
        return jsonout.error(
            409,
            f"service {row.service} has no escalation policy; nobody to escalate to",
            incident=jsonout.incident(row, now),
        )
    if result == "not_triggered":
        return jsonout.error(
            409,
            f"incident {incident_id} is {row.status}; only a triggered incident escalates",
            incident=jsonout.incident(row, now),
        )
    return jsonout.response(jsonout.incident(row, now))


def _instant(request: web.Request, name: str, default: datetime.datetime) -> datetime.datetime:
    raw = request.query.get(name)
    if not raw:
        return default
    try:
        value = datetime.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"{name}: expected an RFC 3339 time such as 2026-11-23T09:00:00Z, got {raw!r}") from None
    if value.tzinfo is None:
        raise BadRequest(f"{name}: give a UTC offset or Z, got {raw!r}")
    return value


def _user_json(request: web.Request, user_id: str) -> dict[str, typing.Any]:
    user = request.app[keys.SETTINGS].config.user(user_id)
    return {"id": user_id, "name": user.display_name if user else user_id}


async def oncall_now(request: web.Request) -> web.Response:
    """Who is on call at `at` (default now) for every rotation and schedule, and until when."""
    cfg = request.app[keys.SETTINGS].config
    try:
        at = _instant(request, "at", request.app[keys.CLOCK].now())
    except BadRequest as exc:
        return jsonout.error(400, exc.message)
    wanted = request.query.get("rotation")
    targets = [f"rotation:{r.id}" for r in cfg.rotations] + [f"schedule:{s.id}" for s in cfg.schedules]
    if wanted:
        targets = [t for t in targets if t.partition(":")[2] == wanted]
        if not targets:
            return jsonout.error(404, f"no rotation or schedule {wanted!r}")
    resolver = request.app[keys.ENGINE].resolver
    out = []
    for target in targets:
        now = resolver.current(target, at)
        out.append(
            {
                "target": target,
                "users": [_user_json(request, u) for u in now.users],
                "since": jsonout.timestamp(now.since),
                "until": jsonout.timestamp(now.until),
            }
        )
    return jsonout.response({"at": jsonout.timestamp(at), "oncall": out})


async def calendar(request: web.Request) -> web.Response:
    """A rotation's (or schedule's) shifts as iCalendar, optionally one user's only."""
    cfg = request.app[keys.SETTINGS].config
    ident = request.match_info["id"]
    if cfg.rotation(ident) is None and cfg.schedule(ident) is None:
        return jsonout.error(404, f"no rotation or schedule {ident!r}")
    now = request.app[keys.CLOCK].now()
    try:
        start = _instant(request, "from", now - datetime.timedelta(days=7))
        end = _instant(request, "to", start + datetime.timedelta(days=90))
    except BadRequest as exc:
        return jsonout.error(400, exc.message)
    user = request.query.get("user") or None
    if user is not None and cfg.user(user) is None:
        return jsonout.error(404, f"no user {user!r}")
    if end <= start or end - start > datetime.timedelta(days=400):
        return jsonout.error(400, "to: must be after from and at most 400 days later")
    body = ical.rotation_calendar(request.app[keys.ENGINE].resolver, cfg, ident, start, end, user, now=now)
    return web.Response(body=body, content_type="text/calendar", charset="utf-8")


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [
        web.get("/api/v1/incidents", list_incidents),
        web.post("/api/v1/incidents", create_incident),
        web.get("/api/v1/incidents/{id}", get_incident),
        web.post("/api/v1/incidents/{id}/acknowledge", acknowledge),
        web.post("/api/v1/incidents/{id}/resolve", resolve),
        web.post("/api/v1/incidents/{id}/notes", add_note),
        web.post("/api/v1/incidents/{id}/escalate", escalate),
        web.get("/api/v1/oncall", oncall_now),
        web.get("/api/v1/rotations/{id}.ics", calendar),
    ]
