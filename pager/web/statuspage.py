"""The public status page: `GET /status` (HTML, no JavaScript) and `GET /status.json`, no token.

Only the services `status_page.services` names appear; each is operational, degraded (an open
P1 or P2 incident) or in an outage (an open P0). What an incident shows is what people wrote
for the public, its status updates, and its number, priority, status and start: never an alert's
summary, labels or annotations, which may hold hostnames, customers or credentials.
"""

from __future__ import annotations

import datetime
import html
import typing

from aiohttp import web

from pager import config, models
from pager.web import jsonout, keys

_STATE = {models.Priority.P0: "outage", models.Priority.P1: "degraded", models.Priority.P2: "degraded"}
_RANK = {"operational": 0, "degraded": 1, "outage": 2}
_WORDS = {"operational": "Operational", "degraded": "Degraded performance", "outage": "Outage"}
_PHASE = {  # what the incident's status means to someone outside
    models.IncidentStatus.TRIGGERED: "Investigating",
    models.IncidentStatus.ACKNOWLEDGED: "Identified",
    models.IncidentStatus.STABILIZING: "Monitoring",
}
_HEADERS = {
    "Cache-Control": "public, max-age=10",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
}

Shown = list[tuple[models.Incident, list[models.StatusUpdate]]]


def state(incidents: typing.Iterable[models.Incident]) -> str:
    """A service's state from its open incidents: the worst of them."""
    return max((_STATE.get(i.priority, "operational") for i in incidents), key=_RANK.__getitem__, default="operational")


def document(page: config.StatusPage, shown: Shown) -> dict[str, typing.Any]:
    """status.json: the shape the contract fixes, built from status updates alone."""
    services = []
    for service in page.services:
        mine = [(i, u) for i, u in shown if i.service == service]
        services.append(
            {
                "id": service,
                "status": state(i for i, _ in mine),
                "incidents": [
                    {
                        "number": i.number,
                        "priority": i.priority.name,
                        "status": str(i.status),
                        "started_at": jsonout.timestamp(i.created_at),
                        "updates": [
                            {
                                "at": jsonout.timestamp(u.at),
                                "status": u.status,
                                "known": u.known,
                                "doing": u.doing,
                                "unknown": u.unknown,
                                "next_update_at": jsonout.timestamp(u.next_update_at),
                            }
                            for u in updates
                        ],
                    }
                    for i, updates in mine
                ],
            }
        )
    return {"title": page.title, "services": services}


def _when(t: datetime.datetime) -> str:
    return t.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


_CSS = (
    "body{font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0 auto;padding:1rem;"
    "max-width:44rem;color:#111;background:#fafafa}h1{font-size:1.5rem}h2{font-size:1.1rem;margin:0}"
    ".svc{background:#fff;border:1px solid #ddd;border-radius:.5rem;padding:.8rem 1rem;margin:.8rem 0}"
    ".row{display:flex;justify-content:space-between;gap:1rem;flex-wrap:wrap}"
    ".state{font-weight:600;padding:.05rem .5rem;border-radius:.3rem}"
    ".operational{background:#d9f2dd;color:#1d5e2a}.degraded{background:#fff1c2;color:#6b4e00}"
    ".outage{background:#fde2e1;color:#8a1c14}.inc{border-top:1px solid #eee;margin-top:.7rem;padding-top:.5rem}"
    ".upd{margin:.5rem 0 .5rem .8rem}.upd p{margin:.1rem 0}.muted{color:#555;font-size:.9rem}"
    "dl{margin:.2rem 0}dt{font-weight:600;display:inline}dd{display:inline;margin:0}dd:after{content:'';display:block}"
)


def _update_html(u: dict[str, typing.Any]) -> str:
    parts = [("What we know", u["known"]), ("What we are doing", u["doing"]), ("What we don't know yet", u["unknown"])]
    rows = "".join(f"<dt>{label}:</dt> <dd>{html.escape(v)}</dd>" for label, v in parts if v)
    nxt = f'<p class="muted">Next update by {html.escape(_iso(u["next_update_at"]))}</p>' if u["next_update_at"] else ""
    return (
        f'<div class="upd"><p class="muted">{html.escape(_iso(u["at"]))}</p>'
        f"<p>{html.escape(u['status'])}</p>" + (f"<dl>{rows}</dl>" if rows else "") + nxt + "</div>"
    )


def _iso(text: str) -> str:
    return _when(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")))


def render(doc: dict[str, typing.Any], cfg: config.Config, now: datetime.datetime) -> str:
    """The page: every service with its state, and each open incident's updates, newest first."""
    worst = max((s["status"] for s in doc["services"]), key=_RANK.__getitem__, default="operational")
    overall = {"operational": "All systems operational", "degraded": "Some systems degraded", "outage": "Outage"}
    blocks = []
    for s in doc["services"]:
        svc = cfg.service(s["id"])
        name = svc.name if svc and svc.name else s["id"]
        incidents = []
        for inc in s["incidents"]:
            phase = _PHASE.get(models.IncidentStatus(inc["status"]), inc["status"])
            updates = "".join(_update_html(u) for u in reversed(inc["updates"])) or (
                '<div class="upd"><p>We are looking into it. An update will follow here.</p></div>'
            )
            incidents.append(
                f'<div class="inc"><p><strong>Incident #{inc["number"]}</strong> · {html.escape(phase)} · '
                f'<span class="muted">since {html.escape(_iso(inc["started_at"]))}</span></p>{updates}</div>'
            )
        blocks.append(
            f'<section class="svc"><div class="row"><h2>{html.escape(name)}</h2>'
            f'<span class="state {s["status"]}">{_WORDS[s["status"]]}</span></div>{"".join(incidents)}</section>'
        )
    title = html.escape(doc["title"])
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f'<h1>{title}</h1>\n<p class="state {worst}">{overall[worst]}</p>\n'
        + "\n".join(blocks)
        + f'\n<p class="muted">As of {_when(now)}. <a href="status.json">status.json</a></p>\n</body>\n</html>\n'
    )


async def _document(request: web.Request) -> dict[str, typing.Any]:
    page = request.app[keys.SETTINGS].config.status_page
    shown = await request.app[keys.STORE].status_page(page.services) if page.services else []
    return document(page, shown)


async def status_json(request: web.Request) -> web.Response:
    resp = jsonout.response(await _document(request))
    resp.headers.update(_HEADERS)
    return resp


async def status_html(request: web.Request) -> web.Response:
    doc = await _document(request)
    text = render(doc, request.app[keys.SETTINGS].config, request.app[keys.CLOCK].now())
    return web.Response(text=text, content_type="text/html", charset="utf-8", headers=_HEADERS)


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [web.get("/status", status_html), web.get("/status.json", status_json)]
