"""What issues 14 and 15 add to an incident's page: its drill, the window holding it, the changes before it,
its post-mortem and action items. Read here so that `pages.incident` needs one call for all of it."""

from __future__ import annotations

from aiohttp import web

from pager import drills, models
from pager.web import keys
from pager.web.ui import views

NOTICES = {
    "action_added": "Action item added.",
    "action_done": "Action item marked done.",
    "action_no_title": "The action item needs a title; nothing was added.",
    "action_bad_owner": "Choose who owns the action item; nothing was added.",
    "action_bad_due": "The due date must be a date such as 2026-12-01; nothing was added.",
}


async def load(app: web.Application, ctx: views.Context, detail: models.IncidentDetail) -> views.IncidentContext:
    inc = detail.incident
    window = await app[keys.MAINTENANCE].get(inc.maintenance_id) if inc.maintenance_id is not None else None
    report = None
    if inc.drill:
        found = await app[keys.DRILLS].record(inc.id)
        if found is not None:
            report = drills.report(found[0], found[1], ctx.cfg, ctx.now)
    saved = None if inc.drill else await app[keys.POSTMORTEMS].saved(inc.id)
    items = await app[keys.ACTIONS].list(None, inc.id)
    return views.incident_context(
        ctx,
        inc,
        drill=report,
        window=window,
        saved_by=saved.updated_by if saved else None,
        saved_at=saved.updated_at if saved else None,
        items=items,
    )
