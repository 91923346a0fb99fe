"""A stand-in for Slack that speaks its real Web API wire format, for tests.

Web API: `POST /api/chat.postMessage` and `/api/chat.update` with the bot
token as `Authorization: Bearer xoxb-...`, bodies as JSON or form-encoded (Block
Kit `blocks` as a JSON string in a form), answering HTTP 200 with `{"ok": true,
"channel": "C...", "ts": "1700000000.000100", "message": {...}}` or `{"ok":
false, "error": "channel_not_found"}` as Slack does (`ratelimited` with 429 and
Retry-After). A channel may be named (`#ops`): the answer gives its id, which
`chat.update` requires. A user id as channel opens a direct message.

Interactivity: `press` posts a `block_actions` payload (form field `payload`)
to the app's request URL, signed as Slack signs it (`X-Slack-Signature: v0=...`
over `v0:<timestamp>:<body>`), and serves the interaction's `response_url`,
keeping what the app replies there.
"""

from __future__ import annotations

import collections
import collections.abc
import contextlib
import dataclasses
import hashlib
import hmac
import itertools
import json
import secrets
import time
import typing
import urllib.parse

import aiohttp
from aiohttp import web

BOT_TOKEN = "xoxb-" + "1" * 12 + "-" + "2" * 13 + "-" + "a" * 24
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM = "T0PAGER01"


@dataclasses.dataclass
class Posted:
    """A message in a channel, as it stands (edited in place by chat.update)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, typing.Any]]
    thread_ts: str | None = None
    edits: int = 0


@dataclasses.dataclass(frozen=True)
class Call:
    method: str
    body: dict[str, typing.Any]
    content_type: str
    answered: dict[str, typing.Any]


@dataclasses.dataclass(frozen=True)
class Answer:
    status: int
    text: str


class SlackDouble:
    def __init__(self, bot_token: str = BOT_TOKEN, signing_secret: str = SIGNING_SECRET) -> None:
        self.bot_token = bot_token
        self.signing_secret = signing_secret
        self.url = ""  # the api_base to point slack_sdk at ("http://host:port/api/")
        self.channels = {"#ops": "C0OPS0001", "#search": "C0SRCH002"}
        self.messages: list[Posted] = []
        self.calls: list[Call] = []
        self.replies: list[dict[str, typing.Any]] = []  # what the app posted to response_url
        self._script: collections.deque[str] = collections.deque()
        self._ts = itertools.count(1)

    def fail_next(self, n: int = 1, error: str = "internal_error") -> None:
        self._script.extend(error for _ in range(n))

    def in_channel(self, name_or_id: str) -> list[Posted]:
        cid = self.channels.get(name_or_id, name_or_id)
        return [m for m in self.messages if m.channel == cid and m.thread_ts is None]

    def thread(self, parent: Posted) -> list[Posted]:
        return [m for m in self.messages if m.channel == parent.channel and m.thread_ts == parent.ts]

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/response/{id}", self._response_url)
        return app

    async def _body(self, request: web.Request) -> dict[str, typing.Any]:
        if request.content_type == "application/json":
            return await request.json()
        form = {k: str(v) for k, v in (await request.post()).items()}
        for key in ("blocks", "attachments"):
            if key in form:
                form[key] = json.loads(form[key])
        return form

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        body = await self._body(request)
        answer, status, headers = self._answer(method, request, body)
        self.calls.append(Call(method, body, request.content_type, answer))
        return web.json_response(answer, status=status, headers=headers)

    def _answer(
        self, method: str, request: web.Request, body: dict[str, typing.Any]
    ) -> tuple[dict[str, typing.Any], int, dict[str, str] | None]:
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else body.get("token")
        if not token:
            return {"ok": False, "error": "not_authed"}, 200, None
        if token != self.bot_token:
            return {"ok": False, "error": "invalid_auth"}, 200, None
        if self._script:
            error = self._script.popleft()
            if error == "ratelimited":
                return {"ok": False, "error": "ratelimited"}, 429, {"Retry-After": "1"}
            return {"ok": False, "error": error}, 500 if error == "internal_error" else 200, None
        if method == "chat.postMessage":
            return self._post(body), 200, None
        if method == "chat.update":
            return self._update(body), 200, None
        if method == "auth.test":
            return {"ok": True, "team_id": TEAM, "user_id": "U0PAGERBOT", "bot_id": "B0PAGER01"}, 200, None
        return {"ok": False, "error": "unknown_method"}, 200, None

    def _channel(self, raw: str) -> str | None:
        if raw in self.channels:
            return self.channels[raw]
        if raw in self.channels.values():
            return raw
        if raw.startswith(("U", "W")):  # a user: their direct-message channel
            return "D" + raw[1:]
        return None

    def _message(self, m: Posted) -> dict[str, typing.Any]:
        out = {"type": "message", "bot_id": "B0PAGER01", "text": m.text, "ts": m.ts, "blocks": m.blocks}
        if m.thread_ts:
            out["thread_ts"] = m.thread_ts
        return out

    def _post(self, body: dict[str, typing.Any]) -> dict[str, typing.Any]:
        channel = self._channel(str(body.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return {"ok": False, "error": "no_text"}
        thread = body.get("thread_ts")
        if thread and not any(m.channel == channel and m.ts == thread for m in self.messages):
            return {"ok": False, "error": "thread_not_found"}
        m = Posted(
            channel, f"{int(time.time())}.{next(self._ts):06d}", body.get("text", ""), body.get("blocks") or [], thread
        )
        self.messages.append(m)
        return {"ok": True, "channel": channel, "ts": m.ts, "message": self._message(m)}

    def _update(self, body: dict[str, typing.Any]) -> dict[str, typing.Any]:
        channel = str(body.get("channel", ""))
        if channel not in self.channels.values() and not channel.startswith("D"):
            return {"ok": False, "error": "channel_not_found"}  # chat.update takes an id, never a #name
        found = next((m for m in self.messages if m.channel == channel and m.ts == body.get("ts")), None)
        if found is None:
            return {"ok": False, "error": "message_not_found"}
        found.text = body.get("text", found.text)
        found.blocks = body.get("blocks", found.blocks)
        found.edits += 1
        return {"ok": True, "channel": channel, "ts": found.ts, "text": found.text, "message": self._message(found)}

    async def _response_url(self, request: web.Request) -> web.Response:
        self.replies.append(await request.json())
        return web.Response(text="ok")

    # -- interactivity ------------------------------------------------------------

    def sign(self, timestamp: int, body: str, secret: str | None = None) -> str:
        base = f"v0:{timestamp}:{body}".encode()
        return "v0=" + hmac.new((secret or self.signing_secret).encode(), base, hashlib.sha256).hexdigest()

    async def press(
        self,
        url: str,
        message: Posted,
        action_id: str,
        *,
        user: str,
        timestamp: int,
        signature: str | None = None,
    ) -> Answer:
        """A person presses a button of `message`: Slack's block_actions interaction, signed."""
        [button] = [
            e
            for b in message.blocks
            if b.get("type") == "actions"
            for e in b["elements"]
            if e["action_id"] == action_id
        ]
        payload = {
            "type": "block_actions",
            "team": {"id": TEAM, "domain": "pager-test"},
            "user": {"id": user, "username": user.lower(), "team_id": TEAM},
            "api_app_id": "A0PAGER01",
            "token": "verification-token-unused",
            "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
            "trigger_id": f"{secrets.randbelow(10**10)}.{secrets.randbelow(10**10)}",
            "channel": {"id": message.channel, "name": "ops"},
            "message": self._message(message),
            "response_url": f"{self.url.removesuffix('/api/')}/response/{secrets.token_hex(8)}",
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": next(b.get("block_id") for b in message.blocks if b.get("type") == "actions"),
                    "text": button["text"],
                    "value": button["value"],
                    "type": "button",
                    "action_ts": f"{timestamp}.000200",
                }
            ],
        }
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature or self.sign(timestamp, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body.encode(), headers=headers) as resp:
                return Answer(resp.status, await resp.text())


@contextlib.asynccontextmanager
async def running() -> collections.abc.AsyncIterator[SlackDouble]:
    double = SlackDouble()
    runner = web.AppRunner(double.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    double.url = f"http://{host}:{port}/api/"
    try:
        yield double
    finally:
        await runner.cleanup()
