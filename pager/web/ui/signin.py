"""Signing in by a one-time link sent to a configured user's email (or phone), and signing out.

Opening the link only shows a button: mail scanners and link previewers fetch every link, and
must not use it up. Pressing the button (a POST) spends the link and opens a session. The
answer to "send me a link" is the same whether or not the address belongs to a user, and the
link is sent in the background, so neither the words nor the timing tell who is a user.
"""

from __future__ import annotations

import asyncio
import email.message
import email.utils
import re
import sys
import typing

import structlog
from aiohttp import web

from pager import config
from pager.notify import console, sms
from pager.notify import email as email_channel
from pager.store import sessions
from pager.web import keys
from pager.web.ui import render, uikeys, viewer

log = structlog.get_logger(__name__)

_SIGNED_OUT = {
    "here": "You are signed out.",
    "everywhere": "You are signed out on every device.",
}


def _find_user(cfg: config.Config, address: str) -> tuple[config.User | None, str]:
    """The user an email address or phone number belongs to, and which channel it names."""
    text = address.strip()
    if "@" in text:
        user = next((u for u in cfg.users if u.email and u.email.lower() == text.lower()), None)
        return user, "email"
    phone = re.sub(r"[\s().-]", "", text)
    user = next((u for u in cfg.users if u.phone and u.phone == phone), None)
    return user, "sms"


def compose(user: config.User, url: str, sender: str) -> email.message.EmailMessage:
    mail = email.message.EmailMessage()
    domain = sender.rpartition("@")[2] or "pager.invalid"
    mail["From"] = sender
    mail["To"] = user.email
    mail["Subject"] = "Your pager sign-in link"
    mail["Date"] = email.utils.formatdate(usegmt=True)
    mail["Message-ID"] = email.utils.make_msgid(domain=domain)
    mail["Auto-Submitted"] = "auto-generated"
    minutes = int(sessions.LINK_TTL.total_seconds() // 60)
    mail.set_content(
        f"Hello {user.display_name},\n\n"
        f"open this link within {minutes} minutes to sign in to pager:\n\n{url}\n\n"
        "It works once. If you did not ask for it, ignore this mail: nobody can sign in without the link.\n"
    )
    return mail


async def _deliver(app: web.Application, user: config.User, url: str, wanted: str) -> None:
    """By the channel the address named, else the other one, else the console (a first run without SMTP)."""
    notifiers = app[keys.SENDER].notifiers
    mailer, texter = notifiers.get("email"), notifiers.get("sms")
    order = ("sms", "email") if wanted == "sms" else ("email", "sms")
    try:
        for channel in order:
            if channel == "email" and isinstance(mailer, email_channel.SmtpEmail) and user.email:
                await mailer.transmit(compose(user, url, mailer.sender))
            elif channel == "sms" and isinstance(texter, sms.TwilioSms) and user.phone:
                minutes = int(sessions.LINK_TTL.total_seconds() // 60)
                await texter.transmit(user.phone, f"pager sign-in link (works once, for {minutes} min): {url}")
            else:
                continue
            log.info("ui sign-in link sent", user=user.id, channel=channel)
            return
        if isinstance(notifiers.get("console"), console.ConsoleNotifier):
            sys.stdout.write(f"=== SIGN-IN LINK for {user.display_name} ({user.id}) ===\n  {url}\n")
            sys.stdout.flush()
            log.info("ui sign-in link printed to the console", user=user.id)
            return
        log.warning("ui sign-in link not sent: no channel reaches this user", user=user.id)
    except Exception as exc:  # noqa: BLE001 - whatever the provider says, the page already answered
        log.warning("ui sign-in link not sent", user=user.id, error=f"{type(exc).__name__}: {exc}")


def _in_background(app: web.Application, coro: typing.Coroutine[typing.Any, typing.Any, None]) -> None:
    tasks = app[uikeys.TASKS]
    task = asyncio.get_running_loop().create_task(coro)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def _proxied(request: web.Request) -> bool:
    return bool(request.app[keys.SETTINGS].config.server.trusted_user_header)


def _form(request: web.Request, visit: viewer.Visit, status: int = 200, **extra: typing.Any) -> web.Response:
    context = {
        "title": "Sign in",
        "csrf": visit.csrf,
        "next": viewer.next_path(request.query.get("next")),
        "minutes": int(sessions.LINK_TTL.total_seconds() // 60),
        "sent": False,
        "notice": _SIGNED_OUT.get(request.query.get("bye", ""), ""),
        **extra,
    }
    return render.page(request, "signin.html", context, status)


@viewer.public
async def form(request: web.Request, visit: viewer.Visit) -> web.Response:
    if visit.viewer is not None:
        return render.see_other(request, viewer.next_path(request.query.get("next")))
    return _form(request, visit)


@viewer.public_form
async def ask(request: web.Request, visit: viewer.Visit) -> web.Response:
    """Send a link to whoever the address belongs to, and say the same thing either way."""
    if _proxied(request):
        return render.see_other(request, "/")
    data = await request.post()
    address = str(data.get("address", ""))[:320]
    nxt = viewer.next_path(str(data.get("next", "")))
    if not address.strip():
        return _form(request, visit, 400, error="Enter the email address (or phone number) pager knows you by.")
    app = request.app
    user, channel = _find_user(app[keys.SETTINGS].config, address)
    if user is not None:
        token = await app[uikeys.SESSIONS].issue_link(user.id, app[keys.CLOCK].now())
        if token is None:
            log.warning("ui sign-in link not sent: too many asked for", user=user.id)
        else:
            base = app[keys.SETTINGS].config.server.base_url()
            url = f"{base}/signin/{token}" + (f"?next={nxt}" if nxt != "/" else "")
            _in_background(app, _deliver(app, user, url, channel))
    return _form(request, visit, sent=True, address=address)


_REFUSALS = {
    sessions.Refusal.UNKNOWN: "This sign-in link is not valid. It may have been cut short; ask for a new one.",
    sessions.Refusal.EXPIRED: "This sign-in link has expired (links last 15 minutes). Ask for a new one.",
    sessions.Refusal.USED: "This sign-in link was already used, and works only once. Ask for a new one.",
}


def _link_refused(request: web.Request, refusal: sessions.Refusal) -> web.Response:
    context = {"title": "Sign-in link refused", "heading": "Sign-in link refused", "text": _REFUSALS[refusal]}
    return render.page(request, "message.html", {**context, "signin_again": True}, 410)


@viewer.public
async def confirm(request: web.Request, visit: viewer.Visit) -> web.Response:
    """Only shows a button: fetching the link (a mail scanner does) does not use it up."""
    app = request.app
    state = await app[uikeys.SESSIONS].peek_link(request.match_info["token"], app[keys.CLOCK].now())
    if state.refusal is not None:
        return _link_refused(request, state.refusal)
    user = app[keys.SETTINGS].config.user(state.user_id or "")
    if user is None:
        return _link_refused(request, sessions.Refusal.UNKNOWN)
    resp = render.page(
        request,
        "signin_confirm.html",
        {
            "title": "Sign in",
            "name": user.display_name,
            "csrf": visit.csrf,
            "next": viewer.next_path(request.query.get("next")),
        },
    )
    resp.headers["Referrer-Policy"] = "no-referrer"
    return resp


@viewer.public_form
async def redeem(request: web.Request, visit: viewer.Visit) -> web.Response:
    app = request.app
    result = await app[uikeys.SESSIONS].redeem_link(request.match_info["token"], app[keys.CLOCK].now())
    if isinstance(result, sessions.LinkState):
        return _link_refused(request, result.refusal or sessions.Refusal.UNKNOWN)
    if visit.viewer is not None and visit.viewer.via == "link":
        await app[uikeys.SESSIONS].end(visit.viewer.session_token)  # the session this browser had is done with
    visit.start_session(result)
    log.info("ui signed in", user=result.session.user_id)
    nxt = viewer.next_path(str((await request.post()).get("next", "")))
    return render.see_other(request, nxt)


@viewer.action
async def sign_out(request: web.Request, visit: viewer.Visit) -> web.Response:
    v = visit.viewer
    assert v is not None
    everywhere = request.match_info.get("where") == "everywhere"
    store = request.app[uikeys.SESSIONS]
    if everywhere:
        ended = await store.end_all(v.user.id)
        log.info("ui signed out everywhere", user=v.user.id, sessions=ended)
    else:
        await store.end(v.session_token)
    visit.end_session()
    if not v.can_sign_out:
        return render.see_other(request, "/")
    return render.see_other(request, "/signin", bye="everywhere" if everywhere else "here")
