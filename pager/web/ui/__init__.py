"""The web UI for responders: server-rendered pages that work without JavaScript, phone first.

`setup(app)` is the whole hook into the app: templates, static files, routes, and what runs at
start and stop. The daemon's LISTEN on `pager_incidents` calls `hub(app).publish`.
"""

from __future__ import annotations

import asyncio
import importlib.resources
import pathlib

from aiohttp import web

from pager.store import sessions
from pager.web import keys
from pager.web.ui import followup, live, pages, render, report, signin, uikeys, windows
from pager.web.ui import hub as hub_mod


def routes() -> list[web.AbstractRouteDef]:
    return [
        web.get("/", pages.incidents),
        web.get("/events", live.stream),
        web.get("/incidents/{id}", pages.incident),
        web.post("/incidents/{id}/{action:acknowledge|resolve|escalate|note|update|roles}", pages.act),
        web.get("/oncall", pages.oncall),
        # issues 14 and 15: maintenance windows, the report, post-mortems and action items
        web.get("/maintenance", windows.page),
        web.post("/maintenance", windows.start),
        web.post("/maintenance/{id}/end", windows.end),
        web.get("/reports", report.page),
        web.get("/reports/incidents.svg", report.picture),
        web.get("/incidents/{id}/postmortem", followup.show),
        web.post("/incidents/{id}/postmortem", followup.save),
        web.post("/incidents/{id}/actions", followup.add_action),
        web.post("/actions/{id}/done", followup.action_done),
        web.get("/signin", signin.form),
        web.post("/signin", signin.ask),
        web.get("/signin/{token}", signin.confirm),
        web.post("/signin/{token}", signin.redeem),
        web.post("/signout", signin.sign_out),
        web.post("/signout/{where:everywhere}", signin.sign_out),
    ]


def hub(app: web.Application) -> hub_mod.Hub:
    return app[uikeys.HUB]


def setup(app: web.Application) -> None:
    app[uikeys.HUB] = hub_mod.Hub()
    app[uikeys.TASKS] = set()
    static = pathlib.Path(str(importlib.resources.files("pager.web.ui") / "static"))
    app.router.add_static("/static", static, name=render.STATIC_ROUTE, append_version=True)
    render.setup(app)
    app.add_routes(routes())

    async def start(app: web.Application) -> None:
        app[uikeys.SESSIONS] = sessions.Sessions(app[keys.STORE].pool)

    async def stop(app: web.Application) -> None:
        app[uikeys.HUB].close()
        tasks = app[uikeys.TASKS]
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    app.on_startup.append(start)
    app.on_shutdown.append(stop)
