"""Who is looking: the signed-in user behind a UI request, and the CSRF check on every form.

A user is signed in by a session cookie (a row in PostgreSQL, opened by a one-time link), or,
when `server.trusted_user_header` is set, by that header from the authenticating proxy in
front of pager (which then also gets a session row, for its CSRF token). Every POST carries a
CSRF token: the session's own, or before sign-in a random one that must match its cookie.
Without it the answer is 403, whatever the form.
"""

from __future__ import annotations

import dataclasses
import functools
import hmac
import typing

import structlog
from aiohttp import web

from pager import config
from pager.store import sessions
from pager.web import keys
from pager.web.ui import render, uikeys

log = structlog.get_logger(__name__)

COOKIE = "pager_session"
CSRF_COOKIE = "pager_csrf"
CSRF_FIELD = "csrf"

Handler = typing.Callable[[web.Request, "Visit"], typing.Awaitable[web.StreamResponse]]
Wrapped = typing.Callable[[web.Request], typing.Awaitable[web.StreamResponse]]


@dataclasses.dataclass(frozen=True, slots=True)
class Viewer:
    user: config.User
    csrf: str
    via: str  # 'link' or 'proxy'
    session_token: str

    @property
    def can_sign_out(self) -> bool:
        return self.via == "link"


class Visit:
    """One request's viewer (None before sign-in) and the cookies its answer sets."""

    def __init__(self, request: web.Request) -> None:
        self.request = request
        self.viewer: Viewer | None = None
        self._cookies: dict[str, tuple[str, int]] = {}

    def set_cookie(self, name: str, value: str, max_age: int) -> None:
        self._cookies[name] = (value, max_age)

    def start_session(self, started: sessions.Started) -> None:
        self.set_cookie(COOKIE, started.token, int(sessions.SESSION_TTL.total_seconds()))

    def end_session(self) -> None:
        self.set_cookie(COOKIE, "", 0)

    @property
    def csrf(self) -> str:
        """The CSRF token this answer's forms carry: the session's, or before sign-in the cookie's (made now if need be)."""
        if self.viewer is not None:
            return self.viewer.csrf
        token = self.request.cookies.get(CSRF_COOKIE) or self._cookies.get(CSRF_COOKIE, ("", 0))[0]
        if not token:
            token = sessions.new_token()
            self.set_cookie(CSRF_COOKIE, token, 24 * 3600)
        return token

    def apply(self, resp: web.StreamResponse) -> None:
        if resp.prepared:  # a stream: its headers are gone already
            return
        app = self.request.app
        path = render.prefix(app) or "/"
        secure = render.secure_cookies(app)
        for name, (value, max_age) in self._cookies.items():
            if max_age <= 0:
                resp.del_cookie(name, path=path, secure=secure, httponly=True, samesite="Lax")
            else:
                resp.set_cookie(name, value, max_age=max_age, path=path, secure=secure, httponly=True, samesite="Lax")


def _by_header(cfg: config.Config, value: str) -> config.User | None:
    """The proxy names the user by pager id or by email address."""
    value = value.strip()
    user = cfg.user(value)
    if user is None and "@" in value:
        user = next((u for u in cfg.users if u.email and u.email.lower() == value.lower()), None)
    return user


class ProxyRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


async def _resolve(visit: Visit) -> Viewer | None:
    request = visit.request
    app = request.app
    cfg = app[keys.SETTINGS].config
    store = app[uikeys.SESSIONS]
    now = app[keys.CLOCK].now()
    token = request.cookies.get(COOKIE)
    session = await store.get(token, now) if token else None
    header = cfg.server.trusted_user_header
    if header:
        claimed = request.headers.get(header)
        if not claimed:
            raise ProxyRefused(
                f"The proxy in front of pager sent no {header} header, so pager cannot tell who you are."
            )
        user = _by_header(cfg, claimed)
        if user is None:
            raise ProxyRefused(f"The proxy says you are {claimed!r}, but pager has no such user (by id or email).")
        if session is None or session.user_id != user.id or session.via != "proxy":
            started = await store.start(user.id, "proxy", now)
            visit.start_session(started)
            token, session = started.token, started.session
        return Viewer(user, session.csrf_token, "proxy", token or "")
    if session is None or token is None:
        if token:
            visit.end_session()  # expired or revoked: drop the stale cookie
        return None
    user = cfg.user(session.user_id)
    if user is None:  # removed from the config since: the session is worthless
        await store.end(token)
        visit.end_session()
        return None
    return Viewer(user, session.csrf_token, session.via, token)


def _safe_next(path: str) -> str:
    return path if path.startswith("/") and not path.startswith("//") and "\\" not in path else "/"


def next_path(value: str | None) -> str:
    """Where to go after sign-in: only a path of this site, never another site."""
    return _safe_next(value or "/")


def refused(request: web.Request, message: str, status: int = 403) -> web.Response:
    return render.page(
        request, "message.html", {"title": "Not allowed", "heading": "Not allowed", "text": message}, status
    )


_NO_CSRF = (
    "This form did not carry pager's security token (it may be old, or come from another site). "
    "Go back, reload the page and try again."
)


def _tokens_match(given: object, expected: str) -> bool:
    return isinstance(given, str) and bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def _guard(*, signed_in: bool, form: bool, redirect: bool = True) -> typing.Callable[[Handler], Wrapped]:
    def decorate(handler: Handler) -> Wrapped:
        @functools.wraps(handler)
        async def wrapped(request: web.Request) -> web.StreamResponse:
            visit = Visit(request)
            try:
                visit.viewer = await _resolve(visit)
            except ProxyRefused as exc:
                return refused(request, exc.message, 401)
            resp: web.StreamResponse
            if form and not _tokens_match((await request.post()).get(CSRF_FIELD), _expected_csrf(visit)):
                log.warning("ui form refused: no or wrong CSRF token", path=request.path)
                resp = refused(request, _NO_CSRF)
            elif signed_in and visit.viewer is None:
                if request.method == "GET" and redirect:
                    target = request.rel_url.path_qs
                    resp = render.see_other(request, "/signin", next=target if target != "/" else None)
                else:
                    resp = refused(request, "You are not signed in. Sign in again and retry.", 403 if form else 401)
            else:
                resp = await handler(request, visit)
            visit.apply(resp)
            return resp

        return wrapped

    return decorate


def _expected_csrf(visit: Visit) -> str:
    if visit.viewer is not None:
        return visit.viewer.csrf
    return visit.request.cookies.get(CSRF_COOKIE, "")


page = _guard(signed_in=True, form=False)
"""A GET for signed-in users; anyone else is sent to sign in and brought back."""

action = _guard(signed_in=True, form=True)
"""A POST by a signed-in user, with the session's CSRF token."""

stream = _guard(signed_in=True, form=False, redirect=False)
"""A GET for signed-in users that is no page (an event stream): 401 for anyone else."""

resource = _guard(signed_in=True, form=False, redirect=False)
"""A GET for signed-in users that is no page (a picture a page shows): 401 for anyone else."""

public = _guard(signed_in=False, form=False)
"""A GET anyone may see (the sign-in pages)."""

public_form = _guard(signed_in=False, form=True)
"""A POST before sign-in (asking for a link, using one), with the CSRF cookie's token."""
