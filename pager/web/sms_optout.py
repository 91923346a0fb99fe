"""An inbound STOP opts a number out of SMS pages, START opts it back in (Twilio's inbound SMS webhook).

The opt-out is on the timeline of every open incident the number was paged
for, and logged as a warning: someone just made themselves harder to reach.
While it lasts, the sender fails SMS pages to the number at once and they
fall back to the person's other channels.
"""

from __future__ import annotations

import typing

import structlog
from aiohttp import web
from twilio.twiml import messaging_response

from pager import optout, plan, timeline
from pager.web import keys

log = structlog.get_logger(__name__)


def keyword(params: typing.Mapping[str, typing.Any]) -> optout.Keyword | None:
    return optout.keyword(str(params.get("Body", "")), params.get("OptOutType"))


def _tail(phone: str) -> str:
    return "…" + phone[-4:] if len(phone) > 4 else "?"


async def record(request: web.Request, phone: str, word: optout.Keyword) -> web.Response:
    app = request.app
    cfg = app[keys.SETTINGS].config
    stop = word == "STOP"

    def name(user_id: str) -> str:
        user = cfg.user(user_id)
        return user.display_name if user else user_id

    def lines(paged: list[tuple[int, str]]) -> list[plan.Line]:
        if stop:
            text = "{who}'s number {tail} replied STOP: no SMS to it until it replies START; pages go to {who}'s other channels"
            kind = timeline.Kind.SMS_OPTED_OUT
        else:
            text = "{who}'s number {tail} replied START: SMS pages to it resume"
            kind = timeline.Kind.SMS_OPTED_IN
        return [
            plan.Line(
                incident, kind, text.format(who=name(user), tail=_tail(phone)), actor=user, details={"keyword": word}
            )
            for incident, user in paged
        ]

    changed = await app[keys.OPTOUTS].change(phone, stop, word, app[keys.CLOCK].now(), lines)
    users = [u.id for u in cfg.users if u.phone == phone]
    if stop:
        log.warning(
            "sms opt-out: no SMS pages to this number until it replies START",
            number=_tail(phone),
            users=users,
            new=changed,
        )
    else:
        log.info("sms opt-in: SMS pages to this number resume", number=_tail(phone), users=users, changed=changed)
    reply = messaging_response.MessagingResponse()
    if not stop:  # after STOP nothing may be sent (Twilio answers STOP itself)
        reply.message("pager: SMS pages to this number are back on. Reply STOP to stop them.")
    return web.Response(text=str(reply), content_type="text/xml", charset="utf-8")
