"""Twilio's voice webhooks: the call's TwiML, the keypress it gathers, and the call's final status.

The TwiML URL holds the page's ack token, so it is unguessable and opens one
incident for the one person called; and like every Twilio callback it must
carry Twilio's signature, so the URL alone (from a leaked log, a proxy) does
nothing. The call reads the priority, service, summary and number, then
gathers one digit: 1 acknowledges, 2 resolves, 3 escalates now.
"""

from __future__ import annotations

import typing

import structlog
from aiohttp import web
from twilio.twiml import voice_response

from pager import config, models
from pager.notify import voice
from pager.store import acks
from pager.web import keys, twilio_signature

log = structlog.get_logger(__name__)

SUMMARY_MAX = 200
MENU = "Press 1 to acknowledge. Press 2 to resolve. Press 3 to escalate now."

# Twilio's final call statuses → (the outbox's report, why it failed); completed means answered.
FINAL = {
    "completed": ("delivered", None),
    "busy": ("undelivered", "busy"),
    "no-answer": ("undelivered", "no answer"),
    "failed": ("failed", "the call failed"),
    "canceled": ("undelivered", "canceled"),
}


def _twiml(reply: voice_response.VoiceResponse) -> web.Response:
    return web.Response(text=str(reply), content_type="text/xml", charset="utf-8")


def _say(reply: typing.Any, text: str) -> None:
    reply.say(text)


async def _signed(request: web.Request) -> typing.Mapping[str, typing.Any] | web.Response:
    """The parameters Twilio sent, or the 403 to answer: every voice callback must be signed."""
    settings = request.app[keys.SETTINGS]
    if not settings.enabled("voice"):
        return web.Response(status=403, text="voice is not configured")
    params = await request.post() if request.method == "POST" else {}
    if not twilio_signature.verified(request, settings, params, channel="voice"):
        log.warning("voice callback rejected: bad or missing X-Twilio-Signature", path=request.path)
        return web.Response(status=403, text="invalid X-Twilio-Signature")
    return params


async def _link(request: web.Request) -> acks.Link | web.Response:
    link = await request.app[keys.ACKS].lookup(request.match_info["token"])
    if link is None:
        reply = voice_response.VoiceResponse()
        _say(reply, "This call is about an incident pager does not know. Goodbye.")
        reply.hangup()
        return _twiml(reply)
    return link


def _name(cfg: config.Config, user_id: str | None) -> str:
    user = cfg.user(user_id) if user_id else None
    return user.display_name if user else (user_id or "someone")


def _spoken(summary: str) -> str:
    line = " ".join(summary.split())
    return line if len(line) <= SUMMARY_MAX else line[: SUMMARY_MAX - 3].rstrip() + "..."


def script(inc: models.Incident, user_name: str, cfg: config.Config, gather_url: str) -> voice_response.VoiceResponse:
    """What the call says: the page, where the incident stands, and the menu inside one <Gather>."""
    reply = voice_response.VoiceResponse()
    gather = reply.gather(num_digits=1, action=gather_url, method="POST", timeout=8)
    _say(
        gather,
        f"Hello {user_name}, this is pager.{' This is a drill.' if inc.drill else ''} "
        f"Priority {inc.priority.name} incident {inc.number} on {inc.service}: "
        f"{_spoken(inc.summary)}.",
    )
    if inc.status is models.IncidentStatus.ACKNOWLEDGED:
        _say(gather, f"It is acknowledged by {_name(cfg, inc.acknowledged_by)}.")
    elif inc.status is models.IncidentStatus.RESOLVED:
        _say(gather, "It is already resolved.")
    _say(gather, f"Incident {inc.number}. {MENU}")
    _say(gather, MENU)
    _say(reply, f"No key was pressed. Incident {inc.number} stays as it is. Goodbye.")
    reply.hangup()
    return reply


async def call(request: web.Request) -> web.Response:
    """The TwiML Twilio fetches when the call is answered."""
    params = await _signed(request)
    if isinstance(params, web.Response):
        return params
    link = await _link(request)
    if isinstance(link, web.Response):
        return link
    cfg = request.app[keys.SETTINGS].config
    gather_url = voice.twiml_url(cfg.server.base_url(), request.match_info["token"]) + "/gather"
    log.info("voice call answered", incident=link.incident.id, user=link.user_id)
    return _twiml(script(link.incident, _name(cfg, link.user_id), cfg, gather_url))


async def _act(request: web.Request, link: acks.Link, digit: str) -> str:
    app = request.app
    cfg = app[keys.SETTINGS].config
    number, now = link.incident.id, app[keys.CLOCK].now()
    st = app[keys.STORE]
    if digit == "3":
        result = await app[keys.ENGINE].escalate(number, link.user_id)
        log.info("incident action by voice", incident=number, user=link.user_id, action="escalate", result=result)
        if result == "escalated":
            return f"Incident {number} is escalated: the next step is being paged now. Goodbye."
        if result == "no_policy":
            return f"Incident {number} has no escalation policy; nobody else can be paged. Goodbye."
        inc = await st.get_incident(number)
        return f"Incident {number} is {inc.status if inc else 'gone'}; only a triggered incident escalates. Goodbye."
    acknowledging = digit == "1"
    do = st.acknowledge if acknowledging else st.resolve
    changed = await do(number, link.user_id, "voice", now)
    log.info(
        "incident action by voice", incident=number, user=link.user_id, action="ack" if acknowledging else "resolve"
    )
    if changed:
        return f"Incident {number} is {'acknowledged' if acknowledging else 'resolved'}. Thank you. Goodbye."
    inc = await st.get_incident(number)
    if inc is None or inc.status is models.IncidentStatus.RESOLVED:
        return f"Incident {number} is already resolved. Goodbye."
    return f"Incident {number} is already acknowledged by {_name(cfg, inc.acknowledged_by)}. Goodbye."


async def gather(request: web.Request) -> web.Response:
    """The digit the person pressed (Twilio's <Gather> action)."""
    params = await _signed(request)
    if isinstance(params, web.Response):
        return params
    link = await _link(request)
    if isinstance(link, web.Response):
        return link
    digit = str(params.get("Digits", ""))
    reply = voice_response.VoiceResponse()
    if digit not in ("1", "2", "3"):
        cfg = request.app[keys.SETTINGS].config
        _say(reply, f"Sorry, {digit or 'nothing'} is not an option.")
        reply.redirect(voice.twiml_url(cfg.server.base_url(), request.match_info["token"]), method="POST")
        return _twiml(reply)
    _say(reply, await _act(request, link, digit))
    reply.hangup()
    return _twiml(reply)


async def status(request: web.Request) -> web.Response:
    """The call's final status: answered settles the page; no-answer, busy and failed fall back."""
    params = await _signed(request)
    if isinstance(params, web.Response):
        return params
    sid, call_status = str(params.get("CallSid", "")), str(params.get("CallStatus", ""))
    final = FINAL.get(call_status)
    if final is None or not sid:
        return web.Response(status=204)
    report, why = final
    answered_by = str(params.get("AnsweredBy", ""))
    if report == "delivered" and (answered_by.startswith("machine") or answered_by == "fax"):
        report, why = "undelivered", f"answered by a machine ({answered_by})"
    if why and params.get("ErrorCode"):
        why += f", Twilio error {params['ErrorCode']}"
    pages = await request.app[keys.SENDER].delivery(sid, report, why)
    log.info("voice call status", status=call_status, pages=len(pages))
    return web.Response(status=204)


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [
        web.post(voice.STATUS_CALLBACK_PATH, status),
        web.post(voice.CALLS_PATH + "/{token}", call),
        web.get(voice.CALLS_PATH + "/{token}", call),
        web.post(voice.CALLS_PATH + "/{token}/gather", gather),
    ]
