"""The contract between the engine and every channel: what a page says, what sending it yields.

A channel never raises for a provider's failure; it answers an `Outcome` that
says whether trying again later can help (`permanent=False`) or not. Quick
retries of temporary failures happen here, at the edge (`with_retries`), so the
engine only ever sees a settled answer and reschedules through its outbox.
"""

from __future__ import annotations

import asyncio
import collections.abc
import dataclasses
import datetime
import typing

import structlog
import tenacity

from pager import models

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class Message:
    """One page to one person on one channel, with everything the text shows.

    `ack_url` carries a secret token: render it, never log it. `ack_token` is that token alone, for a
    channel whose provider calls back to act on it (voice: the call's TwiML URL); as secret.
    `more` lists other open incidents bundled into this page as (number, summary).
    `drill`: the page is a drill's; every channel starts its text with `DRILL_PREFIX`.
    A status-update reminder (`reminder`) carries `update_url` (the update page, a secret token too)
    instead of an ack link: the incident needs a status update, not an acknowledgement.
    """

    incident_id: int
    number: int
    priority: models.Priority
    service: str
    summary: str
    user_id: str
    user_name: str
    channel: str
    address: str
    ack_url: str | None = None
    runbook_url: str | None = None
    more: tuple[tuple[int, str], ...] = ()
    ack_token: str | None = None
    dashboard_url: str | None = None  # Grafana's dashboard of the alert
    after_change: str | None = None  # the change (deploy) its service had in the 2 h before it opened
    drill: bool = False
    reminder: bool = False
    update_url: str | None = None

    @property
    def prefix(self) -> str:
        """What every channel's text starts with: `[DRILL] ` for a drill's page, else nothing."""
        return DRILL_PREFIX if self.drill else ""


DRILL_PREFIX = "[DRILL] "


@dataclasses.dataclass(frozen=True, slots=True)
class News:
    """One piece of an incident's news (a timeline entry) for one target: a webhook, or the service's Slack channel.

    Never a page: nobody is paged by it, and it goes out on its own lane. `incident` is as it is when sent;
    `people` names the users it mentions (user id → display name). For Slack, `slack_channel` is where
    the service posts and `slack` the incident's message once posted (channel id, ts).
    """

    delivery_id: int
    event: str  # the entry's timeline kind: triggered, acknowledged, resolved, status_update, ...
    incident: models.Incident
    entry: models.TimelineEntry
    people: typing.Mapping[str, str] = dataclasses.field(default_factory=dict)
    slack_channel: str | None = None
    slack: tuple[str, str] | None = None

    def name(self, user_id: str | None) -> str:
        return self.people.get(user_id or "", user_id or "someone")


@dataclasses.dataclass(frozen=True, slots=True)
class Outcome:
    """What became of a send: delivered to the provider, or failed and whether for good."""

    ok: bool
    provider_id: str | None = None
    permanent: bool = False
    error: str = ""
    attempts: int = 1

    @classmethod
    def sent(cls, provider_id: str | None, attempts: int = 1) -> Outcome:
        return cls(ok=True, provider_id=provider_id, attempts=attempts)

    @classmethod
    def failed(cls, error: str, *, permanent: bool, attempts: int = 1) -> Outcome:
        return cls(ok=False, permanent=permanent, error=error, attempts=attempts)


class Notifier(typing.Protocol):
    async def send(self, message: Message) -> Outcome:
        """Deliver `message` to the provider; classify every provider error into the Outcome."""
        ...

    async def aclose(self) -> None:
        """Release connections; the notifier is not used afterwards."""
        ...


class Poster(typing.Protocol):
    async def post(self, news: News) -> Outcome:
        """Deliver `news` to its target; classify every failure into the Outcome (provider_id: what it made)."""
        ...

    async def aclose(self) -> None: ...


class Temporary(Exception):
    """A failure that may pass: raised by a single attempt so `with_retries` tries again."""


@dataclasses.dataclass(frozen=True, slots=True)
class Failure:
    """A provider's error put into words, and whether trying again may get through."""

    error: str
    temporary: bool


@dataclasses.dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard the edge tries before handing a temporary failure back to the outbox.

    `deadline` bounds the whole send (no new attempt starts after it), so a
    page never sits in a retry loop while its escalation timer runs out.
    """

    attempts: int = 4
    deadline: datetime.timedelta = datetime.timedelta(seconds=30)
    attempt_timeout: datetime.timedelta = datetime.timedelta(seconds=10)
    backoff: datetime.timedelta = datetime.timedelta(milliseconds=500)
    backoff_max: datetime.timedelta = datetime.timedelta(seconds=8)


DEFAULT_RETRY = RetryPolicy()
POST_RETRY = RetryPolicy(attempts=3, deadline=datetime.timedelta(seconds=15))
"""News is retried briefly at the edge, then through its outbox with backoff (it must never hold a lane)."""


async def with_retries(
    attempt: collections.abc.Callable[[], collections.abc.Awaitable[Outcome]],
    policy: RetryPolicy,
    message: Message,
) -> Outcome:
    """Run `attempt` until it answers, retrying `Temporary` and timeouts with exponential backoff.

    A timed-out attempt may still have reached the provider, so a retry can
    deliver a page twice; a duplicate page is better than a missed one.
    """
    tries = 0

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "notify.retry",
            channel=message.channel,
            incident_id=message.incident_id,
            user=message.user_id,
            attempt=state.attempt_number,
            error=str(exc),
            wait_s=round(state.upcoming_sleep, 3),
        )

    retrying = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(policy.attempts) | tenacity.stop_before_delay(policy.deadline.total_seconds()),
        wait=tenacity.wait_exponential(
            multiplier=policy.backoff.total_seconds(), max=policy.backoff_max.total_seconds()
        )
        + tenacity.wait_random(0, policy.backoff.total_seconds()),
        retry=tenacity.retry_if_exception_type(Temporary),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        async for try_ in retrying:
            with try_:
                tries = try_.retry_state.attempt_number
                try:
                    async with asyncio.timeout(policy.attempt_timeout.total_seconds()):
                        outcome = await attempt()
                except TimeoutError:
                    raise Temporary(f"no answer within {policy.attempt_timeout.total_seconds():g}s") from None
        return dataclasses.replace(outcome, attempts=tries)
    except Temporary as exc:
        return Outcome.failed(str(exc), permanent=False, attempts=tries)


async def deliver(
    once: collections.abc.Callable[[], collections.abc.Awaitable[str | None]],
    classify: collections.abc.Callable[[Exception], Failure | None],
    policy: RetryPolicy,
    message: Message,
) -> Outcome:
    """Send with `once`, which answers the provider's id, under `with_retries`.

    Each channel knows only its provider: `classify` turns a provider error
    into a `Failure`, and None marks an error that is no answer of the
    provider's but a bug, which propagates.
    """

    async def attempt() -> Outcome:
        try:
            provider_id = await once()
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            if failure.temporary:
                raise Temporary(failure.error) from exc
            return Outcome.failed(failure.error, permanent=True)
        return Outcome.sent(provider_id)

    return await with_retries(attempt, policy, message)
