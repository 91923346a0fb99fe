"""Twilio's inbound SMS webhook: a responder replies `ack 1234` or `res 1234` to a page.

Anyone can POST here, so nothing happens unless Twilio's signature checks out,
the sender's number belongs to a configured user, and that user was paged for
the incident the reply names. Whatever the reply, the answer is TwiML with one
message for the sender: an error page would only reach Twilio's debugger, never
the person holding the phone.
"""

from __future__ import annotations

import typing

import structlog
from aiohttp import web
from twilio.twiml import messaging_response

from pager import ack, config, models, replies
from pager.web import keys, practice, sms_optout, twilio_signature

log = structlog.get_logger(__name__)

SUMMARY_MAX = 80
HELP = "Reply 'ack 1234' or 'res 1234' with the incident number from the page."


def _twiml(text: str) -> web.Response:
    reply = messaging_response.MessagingResponse()
    reply.message(text)
    return web.Response(text=str(reply), content_type="text/xml", charset="utf-8")


def _forbidden(reason: str) -> web.Response:
    return web.Response(status=403, text=reason)


async def _signed_form(request: web.Request, what: str) -> typing.Mapping[str, typing.Any] | web.Response:
    """The form Twilio posted, or the 403 to answer instead: anyone can POST to these webhooks."""
    settings = request.app[keys.SETTINGS]
    if not settings.enabled("sms"):
        return _forbidden("SMS is not configured")
    params = await request.post()
    if not twilio_signature.verified(request, settings, params):
        log.warning(f"{what} rejected: bad or missing X-Twilio-Signature")
        return _forbidden("invalid X-Twilio-Signature")
    return params


def _user_by_phone(cfg: config.Config, phone: str) -> config.User | None:
    number = phone.replace(" ", "").replace("-", "")
    return next((u for u in cfg.users if u.phone and u.phone == number), None)


def _short(summary: str) -> str:
    line = " ".join(summary.split())
    return line if len(line) <= SUMMARY_MAX else line[: SUMMARY_MAX - 3].rstrip() + "..."


def _tail(phone: str) -> str:
    return "…" + phone[-4:] if len(phone) > 4 else "?"


async def _act(request: web.Request, user: config.User, reply: ack.Reply) -> str:
    app = request.app
    number = reply.number
    if not await app[keys.ACKS].was_paged(number, user.id):
        return f"#{number} was not paged to you; nothing changed."
    st = app[keys.STORE]
    acknowledging = reply.action is models.Action.ACKNOWLEDGE
    do = st.acknowledge if acknowledging else st.resolve
    changed = await do(number, user.id, "sms", app[keys.CLOCK].now())
    log.info("incident action by sms", incident=number, user=user.id, action=reply.action.value, changed=changed)
    inc = await st.get_incident(number)
    if inc is None:
        return f"#{number} no longer exists."
    summary = _short(inc.summary)
    if changed:
        return f"{'Acknowledged' if acknowledging else 'Resolved'} #{number}: {summary}"
    if inc.status is models.IncidentStatus.RESOLVED:
        return f"#{number} is already resolved: {summary}"
    if inc.status is models.IncidentStatus.STABILIZING:
        return f"#{number} is stabilizing (its alerts cleared); it resolves by itself unless one fires again."
    who = app[keys.SETTINGS].config.user(inc.acknowledged_by or "")
    by = who.display_name if who else inc.acknowledged_by
    return f"#{number} is already acknowledged by {by}. Reply 'res {number}' to resolve it."


async def inbound(request: web.Request) -> web.Response:
    params = await _signed_form(request, "inbound sms")
    if isinstance(params, web.Response):
        return params
    sender = str(params.get("From", ""))
    keyword = sms_optout.keyword(params)
    if keyword is not None:
        return await sms_optout.record(request, sender, keyword)
    user = _user_by_phone(request.app[keys.SETTINGS].config, sender)
    if user is None:
        log.info("inbound sms from an unknown number ignored", sender=_tail(sender))
        return _twiml("This number is not registered with pager; nothing changed.")
    command = replies.parse(str(params.get("Body", "")))  # issue 12: own 1234, update 1234 <text>
    if command is not None:
        return _twiml(await practice.sms_command(request.app, user, command))
    reply = ack.parse_reply(str(params.get("Body", "")))
    if reply is None:
        return _twiml(HELP)
    return _twiml(await _act(request, user, reply))


_FINAL = frozenset({"delivered", "undelivered", "failed"})  # the reports that settle a page


async def status(request: web.Request) -> web.Response:
    """Twilio's delivery report for a page we sent; undelivered falls back to the user's other channels."""
    params = await _signed_form(request, "status callback")
    if isinstance(params, web.Response):
        return params
    message_status = str(params.get("MessageStatus") or params.get("SmsStatus") or "")
    sid = str(params.get("MessageSid") or params.get("SmsSid") or "")
    if message_status in _FINAL and sid:
        code = params.get("ErrorCode")
        error = f"Twilio error {code}" if code else None
        reports = await request.app[keys.SENDER].delivery(sid, message_status, error)
        log.info("sms delivery report", status=message_status, pages=len(reports))
    return web.Response(status=204)


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [web.post("/v1/twilio/sms", inbound), web.post("/v1/twilio/status", status)]
