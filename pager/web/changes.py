"""GET /api/v1/changes: the change events each service was told of, newest first."""

from __future__ import annotations

import typing

from aiohttp import web

from pager.web import jsonout, keys

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


async def list_changes(request: web.Request) -> web.Response:
    q = request.query
    try:
        limit = min(int(q.get("limit", DEFAULT_LIMIT)), MAX_LIMIT)
        if limit < 1:
            raise ValueError
    except ValueError:
        return jsonout.error(400, f"limit: expected a positive integer, got {q.get('limit')!r}")
    cursor = q.get("cursor") or None
    if cursor is not None and not (cursor.isascii() and cursor.isdigit() and len(cursor) < 19):
        return jsonout.error(400, f"cursor: not a cursor this API returned: {cursor!r}")
    rows = await request.app[keys.CHANGES].list(q.get("service") or None, limit + 1, int(cursor) if cursor else None)
    more = len(rows) > limit
    rows = rows[:limit]
    return jsonout.response(
        {"changes": [jsonout.change(c) for c in rows], "next_cursor": str(rows[-1].id) if more else None}
    )


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [web.get("/api/v1/changes", list_changes)]
