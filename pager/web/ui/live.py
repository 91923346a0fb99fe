"""Server-sent events for the incidents list: new incidents appear without a reload.

`GET /events?after=N` (with the list's filters) streams each incident newer than N that the
filters admit, as the list row's HTML, rendered and escaped on the server exactly as the page
renders it. The page's script only inserts it; without the script the list has a Refresh link.
The stream ends when the session does (checked at each heartbeat), or at shutdown.
"""

from __future__ import annotations

import json

from aiohttp import web

from pager.web import keys
from pager.web.ui import pages, render, uikeys, viewer, views

HEARTBEAT = 15.0
BATCH = 50


async def _newer(request: web.Request, v: viewer.Viewer, pick: pages.Chosen, after: int) -> list[views.IncidentRow]:
    rows = await request.app[keys.STORE].list_incidents(pick.filters, BATCH)
    ctx = pages.context(request, v)
    return [views.incident_row(ctx, r) for r in reversed(rows) if views.row_id(r) > after]


async def _send_newer(
    request: web.Request, v: viewer.Viewer, resp: web.StreamResponse, pick: pages.Chosen, after: int
) -> int:
    for item in await _newer(request, v, pick, after):
        await resp.write(_event(request, item))
        after = max(after, item.id)
    return after


def _event(request: web.Request, item: views.IncidentRow) -> bytes:
    html = render.fragment(request, "incident_item.html", {"i": item})
    data = json.dumps({"id": item.id, "priority": item.priority, "html": html})
    return f"event: incident\nid: {item.id}\ndata: {data}\n\n".encode()


@viewer.stream
async def stream(request: web.Request, visit: viewer.Visit) -> web.StreamResponse:
    pick = pages.chosen(request)
    raw = request.headers.get("Last-Event-ID") or request.query.get("after") or "0"
    after = int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else 0
    resp = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-store",
            "X-Accel-Buffering": "no",  # nginx: pass each event on at once
        }
    )
    await resp.prepare(request)
    hub = request.app[uikeys.HUB]
    sessions = request.app[uikeys.SESSIONS]
    v = visit.viewer
    assert v is not None
    heard = hub.subscribe()  # before the catch-up below, so an incident opened during it is still told
    try:
        await resp.write(b"retry: 5000\n\n")
        after = await _send_newer(request, v, resp, pick, after)  # what opened between the page and the stream
        async for changed in hub.changes(HEARTBEAT, event=heard):
            if changed:
                after = await _send_newer(request, v, resp, pick, after)
            else:
                if v.via == "link" and await sessions.get(v.session_token, request.app[keys.CLOCK].now()) is None:
                    break  # signed out (here or everywhere): stop telling
                await resp.write(b": still here\n\n")
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        hub.unsubscribe(heard)
    return resp
