"""`POST /v1/slack/interactive`: a press of an incident message's Acknowledge or Resolve button.

Slack signs each request: `X-Slack-Signature: v0=<hex HMAC-SHA256 of
"v0:<X-Slack-Request-Timestamp>:<body>">` with the app's signing secret; a
request that does not verify, or whose timestamp is more than 5 minutes from
now (a replay), is refused and changes nothing. The presser acts as the pager
user whose `slack_id` is theirs; anyone else changes nothing and is told why,
in a message only they see (the interaction's `response_url`). The incident's
message itself is edited by the outbound lane, like every other change.
"""

from __future__ import annotations

import json
import typing
import urllib.parse

import aiohttp
import structlog
from aiohttp import web
from slack_sdk import signature

from pager import config, models
from pager.web import keys

log = structlog.get_logger(__name__)

REPLY_TIMEOUT = 3.0
ACTIONS = {"acknowledge": models.Action.ACKNOWLEDGE, "resolve": models.Action.RESOLVE}


class _Clock(signature.Clock):
    """slack_sdk's replay window on pager's clock (injected, as every clock in pager is)."""

    def __init__(self, now: typing.Callable[[], typing.Any]) -> None:
        self._now = now

    def now(self) -> float:
        return float(self._now().timestamp())


def _refused(reason: str) -> web.Response:
    return web.Response(status=401, text=reason)


def _verified(request: web.Request, body: bytes, secret: str) -> bool:
    stamp = request.headers.get("X-Slack-Request-Timestamp")
    sig = request.headers.get("X-Slack-Signature")
    if not (stamp and stamp.isascii() and stamp.isdigit()):
        return False
    verifier = signature.SignatureVerifier(secret, clock=_Clock(request.app[keys.CLOCK].now))
    return bool(verifier.is_valid(body, stamp, sig))


def _user(cfg: config.Config, slack_id: str) -> config.User | None:
    return next((u for u in cfg.users if u.slack_id and u.slack_id == slack_id), None)


async def _tell(response_url: str | None, text: str) -> None:
    """A reply only the presser sees; best effort, bounded (Slack wants its answer within 3 s)."""
    if not response_url or not response_url.lower().startswith(("https://", "http://")):
        return
    body = {"response_type": "ephemeral", "replace_original": False, "text": text}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REPLY_TIMEOUT)) as session:
            async with session.post(response_url, json=body) as resp:
                await resp.read()
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        log.warning("slack reply failed", error=type(exc).__name__)


async def _act(request: web.Request, user: config.User, action: models.Action, number: int) -> str | None:
    """None when the incident changed (its message will show it); otherwise why it did not."""
    app = request.app
    st = app[keys.STORE]
    do = st.acknowledge if action is models.Action.ACKNOWLEDGE else st.resolve
    changed = await do(number, user.id, "slack", app[keys.CLOCK].now())
    log.info("incident action by slack", incident=number, user=user.id, action=action.value, changed=bool(changed))
    if changed:
        return None
    inc = await st.get_incident(number)
    if inc is None:
        return f"#{number} no longer exists."
    if inc.status is models.IncidentStatus.RESOLVED:
        return f"#{number} is already resolved."
    who = app[keys.SETTINGS].config.user(inc.acknowledged_by or "")
    return f"#{number} is already acknowledged by {who.display_name if who else inc.acknowledged_by}."


async def interactive(request: web.Request) -> web.Response:
    settings = request.app[keys.SETTINGS]
    found = settings.channel("slack")
    if found is None:
        return web.Response(status=403, text="Slack is not configured")
    body = await request.read()
    if not _verified(request, body, found[1]["signing_secret"]):
        log.warning("slack interaction refused: bad signature or stale timestamp")
        return _refused("invalid X-Slack-Signature or a timestamp more than 5 minutes off")
    try:
        form = urllib.parse.parse_qs(body.decode(), strict_parsing=True)
        payload = json.loads(form["payload"][0])
    except (ValueError, KeyError, UnicodeDecodeError):
        return web.Response(status=400, text="expected a form with a `payload` of JSON")
    if payload.get("type") != "block_actions":
        return web.Response(status=200)
    slack_id = str((payload.get("user") or {}).get("id", ""))
    response_url = payload.get("response_url")
    pressed = [a for a in payload.get("actions") or [] if a.get("action_id") in ACTIONS]
    if not pressed:
        return web.Response(status=200)
    action, value = ACTIONS[pressed[0]["action_id"]], str(pressed[0].get("value", ""))
    if not (value.isascii() and value.isdigit()):
        return web.Response(status=400, text="the button carries no incident number")
    user = _user(settings.config, slack_id)
    if user is None:
        log.info("slack press by an unlinked account ignored", slack_id=slack_id)
        await _tell(
            response_url,
            f"Nothing changed: your Slack account ({slack_id}) is not linked to a pager user. "
            "Ask for `slack_id` to be set on your user in pager's configuration.",
        )
        return web.Response(status=200)
    why = await _act(request, user, action, int(value))
    if why is not None:
        await _tell(response_url, f"Nothing changed: {why}")
    return web.Response(status=200)


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [web.post("/v1/slack/interactive", interactive)]
