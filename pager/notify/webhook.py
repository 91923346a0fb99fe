"""Outgoing webhooks: an incident's news POSTed as JSON, signed `X-Pager-Signature: sha256=<hex HMAC of the body>`.

`format: json` is pager's own body; `format: slack` is the incoming-webhook body
Slack and Mattermost both take (`text` and `attachments`), so a channel can
follow incidents without a bot. Each delivery carries `X-Pager-Delivery`, the
same on every retry, for receivers to drop the duplicates at-least-once
delivery may bring. The URL is a secret (a Slack incoming-webhook URL is a
credential): it is never logged, and errors name the webhook's id.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import typing

import aiohttp
import structlog

from pager import models
from pager.notify import message
from pager.web import jsonout

log = structlog.get_logger(__name__)

USER_AGENT = "pager-webhook/1"
TIMEOUT = datetime.timedelta(seconds=10)
COLORS = {"triggered": "#d93025", "acknowledged": "#f9ab00", "resolved": "#1e8e3e"}
VERBS = {
    "triggered": "opened",
    "acknowledged": "acknowledged",
    "resolved": "resolved",
    "status_update": "status update",
    "priority_raised": "priority raised",
}


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def payload(news: message.News, now: datetime.datetime) -> dict[str, typing.Any]:
    """pager's JSON body: the event (a timeline entry) and the incident as the API shows it now."""
    e = news.entry
    return {
        "event": news.event,
        "delivery_id": str(news.delivery_id),
        "occurred_at": jsonout.timestamp(e.at),
        "actor": e.actor,
        "message": e.message,
        "details": e.details,
        "incident": jsonout.incident(news.incident, now),
    }


def headline(news: message.News) -> str:
    inc = news.incident
    verb = VERBS.get(news.event, news.event.replace("_", " "))
    by = ""
    if news.event == "acknowledged" and inc.acknowledged_by:
        by = f" by {news.name(inc.acknowledged_by)}"
    elif news.event == "resolved" and inc.resolved_by:
        by = f" by {news.name(inc.resolved_by)}"
    drill = "[DRILL] " if inc.drill else ""
    return f"{drill}[{inc.priority.name}] #{inc.number} {inc.service} {verb}{by}: {inc.summary}"


def slack_payload(news: message.News) -> dict[str, typing.Any]:
    """Slack's (and Mattermost's) incoming-webhook body: a line of text and one attachment with the facts."""
    inc = news.incident
    text = headline(news)
    fields = [
        {"title": "Status", "value": str(inc.status), "short": True},
        {"title": "Priority", "value": inc.priority.name, "short": True},
        {"title": "Service", "value": inc.service, "short": True},
        {"title": "Incident", "value": f"#{inc.number}", "short": True},
    ]
    attachment: dict[str, typing.Any] = {
        "fallback": text,
        "color": COLORS.get(str(inc.status), "#5f6368"),
        "title": f"#{inc.number} {inc.summary}",
        "text": news.entry.message,
        "fields": fields,
        "footer": "pager",
        "ts": int(news.entry.at.timestamp()),
    }
    return {"text": text, "attachments": [attachment]}


class HttpStatus(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.text = text


class WebhookPoster:
    """A `message.Poster` for one configured webhook."""

    channel = "webhook"

    def __init__(
        self,
        hook_id: str,
        url: str,
        secret: str | None,
        *,
        fmt: str = "json",
        retry: message.RetryPolicy = message.POST_RETRY,
        clock: typing.Callable[[], datetime.datetime] | None = None,
    ) -> None:
        self.id = hook_id
        self._url = url
        self._secret = secret
        self._format = fmt
        self._retry = retry
        self._now = clock or (lambda: datetime.datetime.now(datetime.UTC))
        self._session: aiohttp.ClientSession | None = None

    def body(self, news: message.News) -> bytes:
        data = slack_payload(news) if self._format == "slack" else payload(news, self._now())
        return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str).encode()

    async def post(self, news: message.News) -> message.Outcome:
        body = self.body(news)
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Pager-Event": news.event,
            "X-Pager-Delivery": str(news.delivery_id),
        }
        if self._secret:
            headers["X-Pager-Signature"] = signature(self._secret, body)

        async def once() -> str | None:
            if self._session is None:
                self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT.total_seconds()))
            async with self._session.post(self._url, data=body, headers=headers, allow_redirects=False) as resp:
                if not 200 <= resp.status < 300:
                    raise HttpStatus(resp.status, (await resp.text())[:200])
            return None

        outcome = await message.deliver(once, self._classify, self._retry, _subject(news, self.id))
        log.info(
            "notify.webhook",
            webhook=self.id,
            incident_id=news.incident.id,
            news=news.event,
            ok=outcome.ok,
            attempts=outcome.attempts,
            error=outcome.error or None,
        )
        return outcome

    def _classify(self, exc: Exception) -> message.Failure | None:
        if isinstance(exc, HttpStatus):
            temporary = exc.status in (408, 425, 429) or exc.status >= 500
            why = f"HTTP {exc.status}"
            if 300 <= exc.status < 400:
                why += " (a redirect: point the URL at where it leads)"
            return message.Failure(why, temporary=temporary)
        if isinstance(exc, (aiohttp.ClientError, OSError, TimeoutError)):
            text = str(exc).replace(self._url, "<url>") or type(exc).__name__
            return message.Failure(f"cannot reach webhook {self.id}: {type(exc).__name__}: {text}", temporary=True)
        return None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _subject(news: message.News, hook_id: str) -> message.Message:
    """What with_retries logs a retry about (a Message's fields; no address, no URL)."""
    inc: models.Incident = news.incident
    return message.Message(
        incident_id=inc.id,
        number=inc.number,
        priority=inc.priority,
        service=inc.service,
        summary=inc.summary,
        user_id=f"webhook:{hook_id}",
        user_name=hook_id,
        channel="webhook",
        address="",
    )


def build(
    hook: typing.Any, url: str, secret: str | None, clock: typing.Callable[[], datetime.datetime] | None = None
) -> WebhookPoster:
    """A poster for `webhooks[]` entry `hook` (pager.config.Webhook) with its URL and secret."""
    return WebhookPoster(hook.id, url, secret, fmt=hook.format, clock=clock)
