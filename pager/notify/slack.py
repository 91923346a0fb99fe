"""Slack through its Web API (slack_sdk, at any Slack-compatible `api_base`): one message per incident.

An incident of a service with a `slack_channel` gets one message there, with
Acknowledge and Resolve buttons; every change edits that message in place
(`chat.update`), and status updates are threaded under it. As a page channel
(`priorities.*.channels: [slack]`) it sends the person a direct message with
the same buttons. Slack's own answer says whether trying again can help:
`ratelimited` and 5xx pass, `channel_not_found` or `invalid_auth` do not.
"""

from __future__ import annotations

import typing

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from pager.notify import message, slack_blocks

log = structlog.get_logger(__name__)

DEFAULT_API_BASE = "https://slack.com/api/"
TEMPORARY = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"})
GONE = frozenset({"message_not_found", "cant_update_message"})  # deleted in Slack: post a new one


class SlackNotifier:
    """A `message.Notifier` (direct-message pages) and `message.Poster` (the incident's channel message)."""

    channel = "slack"

    def __init__(
        self,
        *,
        bot_token: str,
        api_base: str = DEFAULT_API_BASE,
        retry: message.RetryPolicy = message.DEFAULT_RETRY,
        post_retry: message.RetryPolicy = message.POST_RETRY,
    ) -> None:
        self._token = bot_token
        self._api_base = api_base.rstrip("/") + "/"
        self._retry = retry
        self._post_retry = post_retry
        self._client: AsyncWebClient | None = None
        self._session: aiohttp.ClientSession | None = None

    def _slack(self) -> AsyncWebClient:
        if self._client is None:
            self._session = aiohttp.ClientSession()
            self._client = AsyncWebClient(token=self._token, base_url=self._api_base, session=self._session, timeout=10)
        return self._client

    async def send(self, msg: message.Message) -> message.Outcome:
        """A page by direct message to the person's `slack_id`, with the incident's buttons."""
        text, blocks = slack_blocks.page(msg.priority, msg.number, msg.service, msg.summary, len(msg.more), msg.prefix)

        async def once() -> str | None:
            answer = await self._slack().chat_postMessage(channel=msg.address, text=text, blocks=blocks)
            return f"{answer['channel']}:{answer['ts']}"

        outcome = await message.deliver(once, self._classify, self._retry, msg)
        log.info(
            "notify.slack", incident_id=msg.incident_id, user=msg.user_id, ok=outcome.ok, error=outcome.error or None
        )
        return outcome

    async def post(self, news: message.News) -> message.Outcome:
        """Post the incident's message (the first time) or edit it; thread a status update under it."""
        inc = news.incident
        text = slack_blocks.text(inc, news.name)
        blocks = slack_blocks.incident(inc, news.name)
        where = news.slack

        async def once() -> str | None:
            nonlocal where
            slack = self._slack()
            if where is not None:
                try:
                    await slack.chat_update(channel=where[0], ts=where[1], text=text, blocks=blocks)
                except SlackApiError as exc:
                    if exc.response.get("error") not in GONE:
                        raise
                    where = None
            if where is None:
                answer = await slack.chat_postMessage(
                    channel=news.slack_channel or "", text=text, blocks=blocks, unfurl_links=False
                )
                where = (answer["channel"], answer["ts"])
            if news.event == "status_update":
                await slack.chat_postMessage(
                    channel=where[0], thread_ts=where[1], text=slack_blocks.thread_reply(news.entry, news.name)
                )
            return f"{where[0]}:{where[1]}"

        subject = message.Message(
            incident_id=inc.id,
            number=inc.number,
            priority=inc.priority,
            service=inc.service,
            summary=inc.summary,
            user_id="slack",
            user_name="slack",
            channel="slack",
            address=news.slack_channel or "",
        )
        outcome = await message.deliver(once, self._classify, self._post_retry, subject)
        log.info("notify.slack.post", incident_id=inc.id, news=news.event, ok=outcome.ok, error=outcome.error or None)
        return outcome

    def _classify(self, exc: Exception) -> message.Failure | None:
        if isinstance(exc, SlackApiError):
            error = str(exc.response.get("error") or "")
            status = exc.response.status_code
            return message.Failure(
                f"Slack error {error or status}", temporary=error in TEMPORARY or status == 429 or status >= 500
            )
        if isinstance(exc, (aiohttp.ClientError, OSError, TimeoutError)):
            return message.Failure(
                f"cannot reach Slack at {self._api_base}: {type(exc).__name__}: {exc}", temporary=True
            )
        return None

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
        self._client = self._session = None


def build(section: typing.Any, secrets: typing.Mapping[str, typing.Any], server: typing.Any) -> SlackNotifier:
    """The `slack` channel from `notifiers.slack` (pager.channels.Slack) and its bot token."""
    return SlackNotifier(bot_token=secrets["bot_token"], api_base=section.api_base)
