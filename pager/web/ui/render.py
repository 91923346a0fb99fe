"""Templates and the headers every UI page shares.

Jinja2 autoescapes everything: alert text is hostile input, so a label `<script>` is shown as
text. Pages load only the package's own CSS and JS (no CDN, no build step), which the CSP says.
Links carry the path prefix of `server.public_url`, so a proxy may mount pager under a path.
"""

from __future__ import annotations

import typing
import urllib.parse

import aiohttp_jinja2
import jinja2
from aiohttp import web

from pager.web import keys

STATIC_ROUTE = "pager-ui-static"

HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def prefix(app: web.Application) -> str:
    public = app[keys.SETTINGS].config.server.public_url
    return urllib.parse.urlsplit(public).path.rstrip("/") if public else ""


def secure_cookies(app: web.Application) -> bool:
    public = app[keys.SETTINGS].config.server.public_url
    return bool(public and public.lower().startswith("https://"))


def setup(app: web.Application) -> None:
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.PackageLoader("pager.web.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        default_helpers=False,
    )
    base = prefix(app)

    def url(path: str, **query: typing.Any) -> str:
        wanted = {k: v for k, v in query.items() if v not in (None, "")}
        return base + path + (f"?{urllib.parse.urlencode(wanted)}" if wanted else "")

    def static(name: str) -> str:
        return base + str(app.router[STATIC_ROUTE].url_for(filename=name))

    env.globals.update(url=url, static=static)


def url(request: web.Request, path: str, **query: typing.Any) -> str:
    return aiohttp_jinja2.get_env(request.app).globals["url"](path, **query)


def page(request: web.Request, template: str, context: dict[str, typing.Any], status: int = 200) -> web.Response:
    context.setdefault("viewer", None)
    context.setdefault("notice", "")
    context.setdefault("nav", ())
    resp = aiohttp_jinja2.render_template(template, request, context, status=status)
    resp.headers.update(HEADERS)
    return resp


def fragment(request: web.Request, template: str, context: dict[str, typing.Any]) -> str:
    return aiohttp_jinja2.get_env(request.app).get_template(template).render(context)


def see_other(request: web.Request, path: str, **query: typing.Any) -> web.Response:
    """303 to a page of ours (POST, then GET: a reload never repeats the action)."""
    return web.Response(status=303, headers={"Location": url(request, path, **query), "Cache-Control": "no-store"})
