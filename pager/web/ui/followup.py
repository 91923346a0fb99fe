"""After the incident: its post-mortem (read, rendered or as Markdown, edited and saved) and its action items
(added, marked done), each action recorded as the signed-in user.

The Markdown is rendered by cmark-gfm, GitHub's own renderer, in its safe mode: raw HTML in the
text is dropped and links other than http(s), mailto and relative ones are emptied, so nothing in a
post-mortem (alert text, an edit) can run in the page; the page's CSP allows no script anyway.
"""

from __future__ import annotations

import itertools
import re

import cmarkgfm
import structlog
from aiohttp import web

from pager import actions, postmortem
from pager.web import keys, learning
from pager.web.ui import pages, render, viewer, views

log = structlog.get_logger(__name__)

MAX_TITLE = 500
NOTICES = {
    "saved": "Post-mortem saved.",
    "empty": "The post-mortem was empty; nothing was saved.",
    "too_long": f"The post-mortem is longer than {learning.MAX_POSTMORTEM // 1024} KiB; nothing was saved.",
}
_TABLE = re.compile(r"<table>")


def markdown_html(text: str) -> str:
    """GitHub-flavoured Markdown as safe HTML; each table scrolls by itself, so a narrow screen keeps its width.

    cmark-gfm writes `<table>` only for a Markdown table (text that says `<table>` comes out escaped, and raw
    HTML is omitted), so wrapping its tags cannot be steered from the text."""
    html = cmarkgfm.github_flavored_markdown_to_html(text)
    count = itertools.count(1)
    html = _TABLE.sub(
        lambda _: f'<div class="scroll" tabindex="0" role="region" aria-label="Table {next(count)}"><table>', html
    )
    return html.replace("</table>", "</table></div>")


@viewer.page
async def show(request: web.Request, visit: viewer.Visit) -> web.Response:
    ident = pages.incident_id(request)
    found = await request.app[keys.POSTMORTEMS].record(ident) if ident is not None else None
    if found is None:
        return pages.not_found(request, visit, f"There is no incident {request.match_info['id']}.")
    record, saved = found
    ctx = pages.context(request, visit.viewer)
    inc = record.detail.incident
    draft_asked = request.query.get("draft") == "1"
    source = request.query.get("view") == "source"
    body = saved.body if saved is not None and not draft_asked else postmortem.draft(record, ctx.cfg, ctx.now)
    state = views.postmortem_state(ctx, inc, saved.updated_by if saved else None, saved.updated_at if saved else None)
    return pages.show(
        request,
        visit,
        "postmortem.html",
        {
            "title": f"Post-mortem of #{inc.number}",
            "row": views.incident_row(ctx, inc),
            "state": state,
            "showing_draft": saved is None or draft_asked,
            "has_saved": saved is not None,
            "source": source,
            "draft_asked": draft_asked,
            "body": body,
            "html": "" if source else markdown_html(body),
            "editable": saved.body if saved is not None else body,
            "max_bytes": learning.MAX_POSTMORTEM,
            "notice": NOTICES.get(request.query.get("done", ""), ""),
        },
    )


@viewer.action
async def save(request: web.Request, visit: viewer.Visit) -> web.Response:
    """Save the edited Markdown as the incident's post-mortem (what PUT /api/v1/incidents/{id}/postmortem does)."""
    v = visit.viewer
    assert v is not None
    ident = pages.incident_id(request)
    app = request.app
    if ident is None or await app[keys.STORE].get_incident(ident) is None:
        return pages.not_found(request, visit, f"There is no incident {request.match_info['id']}.")
    text = str((await request.post()).get("body", "")).replace("\r\n", "\n").replace("\x00", "\ufffd")
    path = f"/incidents/{ident}/postmortem"
    if not text.strip():
        return render.see_other(request, path, done="empty")
    if len(text.encode()) > learning.MAX_POSTMORTEM:
        return render.see_other(request, path, done="too_long")
    await app[keys.POSTMORTEMS].save(
        ident, text if text.endswith("\n") else text + "\n", v.user.id, app[keys.CLOCK].now()
    )
    log.info("post-mortem saved from the web UI", incident=ident, user=v.user.id)
    return render.see_other(request, path, done="saved")


@viewer.action
async def add_action(request: web.Request, visit: viewer.Visit) -> web.Response:
    """An action item for the incident, owned by whoever the form names, due on its date."""
    v = visit.viewer
    assert v is not None
    ident = pages.incident_id(request)
    app = request.app
    cfg = app[keys.SETTINGS].config
    if ident is None or await app[keys.STORE].get_incident(ident) is None:
        return pages.not_found(request, visit, f"There is no incident {request.match_info['id']}.")
    form = await request.post()
    title = " ".join(str(form.get("title", "")).split())[:MAX_TITLE]
    owner = str(form.get("owner", ""))
    back = f"/incidents/{ident}"
    if not title:
        return render.see_other(request, back, done="action_no_title")
    if cfg.user(owner) is None:
        return render.see_other(request, back, done="action_bad_owner")
    try:
        due = actions.parse_due(str(form.get("due", "")))
    except ValueError:
        return render.see_other(request, back, done="action_bad_due")
    now = app[keys.CLOCK].now()
    item = await app[keys.ACTIONS].add(ident, title, owner, due, actions.remind_at(due, cfg, owner), v.user.id, now)
    if item is None:
        return pages.not_found(request, visit, f"There is no incident {ident}.")
    log.info("action item from the web UI", incident=ident, action=item.id, user=v.user.id)
    return render.see_other(request, back, done="action_added")


@viewer.action
async def action_done(request: web.Request, visit: viewer.Visit) -> web.Response:
    v = visit.viewer
    assert v is not None
    raw = request.match_info["id"]
    if not (raw.isascii() and raw.isdigit() and len(raw) < 19):
        return pages.not_found(request, visit, f"There is no action item {raw}.")
    item = await request.app[keys.ACTIONS].done(int(raw), v.user.id, request.app[keys.CLOCK].now())
    if item is None:
        return pages.not_found(request, visit, f"There is no action item {raw}.")
    log.info("action item done from the web UI", action=item.id, user=v.user.id)
    return render.see_other(request, f"/incidents/{item.incident_id}", done="action_done")
