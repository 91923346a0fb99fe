"""Pages by phone call through Twilio Programmable Voice (or any server speaking its Calls API at `api_base`).

pager asks Twilio to call; when the person answers, Twilio fetches the call's
TwiML from pager at a URL holding the page's ack token (unguessable, one
incident, one person), which reads the page out and takes a keypress: 1
acknowledges, 2 resolves, 3 escalates now (`pager.web.twilio_voice`). Twilio's
final status callback settles the page: answered is delivered; no-answer,
busy and failed are undelivered and fall back like an undelivered SMS.
"""

from __future__ import annotations

import typing

import aiohttp
import structlog
import twilio.rest
import twilio.rest.api.v2010.account.call  # noqa: F401 - loaded at start, not by the first call
from twilio.base import exceptions as twilio_exceptions
from twilio.http import async_http_client

from pager.notify import message, sms

log = structlog.get_logger(__name__)

CALLS_PATH = "/v1/twilio/voice/calls"
STATUS_CALLBACK_PATH = "/v1/twilio/voice/status"

PERMANENT_CODES = {
    **sms.PERMANENT_CODES,
    13224: "the number cannot be called",
    21215: "calls to this region are not enabled on the Twilio account",
    21217: "the number is not verified (a trial account calls verified numbers only)",
}


def twiml_url(base_url: str, token: str) -> str:
    """Where Twilio fetches the call's TwiML: the token makes it unguessable and one incident's."""
    return f"{base_url.rstrip('/')}{CALLS_PATH}/{token}"


class TwilioVoice:
    """A `message.Notifier` for the `voice` channel; `base_url` is where Twilio reaches pager."""

    channel = "voice"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        base_url: str,
        api_base: str = sms.DEFAULT_API_BASE,
        ring_for: int = 30,
        retry: message.RetryPolicy = message.DEFAULT_RETRY,
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._from_number = from_number
        self._base_url = base_url.rstrip("/")
        self._api_base = api_base.rstrip("/")
        self._ring_for = ring_for
        self._retry = retry
        self._client: twilio.rest.Client | None = None

    def _twilio(self) -> twilio.rest.Client:
        if self._client is None:
            client = twilio.rest.Client(
                self._account_sid, self._auth_token, http_client=async_http_client.AsyncTwilioHttpClient()
            )
            client.api.base_url = self._api_base
            client.edge = client.region = None
            self._client = client
        return self._client

    async def send(self, msg: message.Message) -> message.Outcome:
        if not msg.ack_token:
            return message.Outcome.failed("a call needs the page's ack token for its TwiML URL", permanent=True)
        params = {
            "to": msg.address,
            "from_": self._from_number,
            "url": twiml_url(self._base_url, msg.ack_token),
            "method": "POST",
            "status_callback": f"{self._base_url}{STATUS_CALLBACK_PATH}",
            "status_callback_method": "POST",
            "timeout": self._ring_for,
        }

        async def once() -> str | None:
            created = await self._twilio().calls.create_async(**params)
            return created.sid

        outcome = await message.deliver(once, self._classify, self._retry, msg)
        log.info(
            "notify.voice",
            incident_id=msg.incident_id,
            user=msg.user_id,
            ok=outcome.ok,
            permanent=outcome.permanent,
            provider_id=outcome.provider_id,
            attempts=outcome.attempts,
            error=outcome.error or None,
        )
        return outcome

    def _classify(self, exc: Exception) -> message.Failure | None:
        if isinstance(exc, (twilio_exceptions.TwilioRestException, twilio_exceptions.TwilioServiceException)):
            status, code, error = sms._describe(exc)
            if code in PERMANENT_CODES and PERMANENT_CODES[code] not in error:
                error += f" ({PERMANENT_CODES[code]})"
            return message.Failure(error, temporary=code not in PERMANENT_CODES and sms._temporary(status, code))
        if isinstance(exc, (aiohttp.ClientError, OSError)):
            return message.Failure(f"cannot reach Twilio at {self._api_base}: {exc!r}", temporary=True)
        if isinstance(exc, ValueError):
            return message.Failure(f"unreadable answer from Twilio: {exc}", temporary=True)
        return None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.http_client.close()
            self._client = None


def build(section: typing.Any, secrets: typing.Mapping[str, typing.Any], server: typing.Any) -> TwilioVoice:
    """The `voice` channel from `notifiers.voice` (pager.channels.Voice, filled from notifiers.sms)."""
    return TwilioVoice(
        account_sid=secrets["account_sid"],
        auth_token=secrets["auth_token"],
        from_number=section.from_number,
        base_url=server.base_url(),
        api_base=section.api_base or sms.DEFAULT_API_BASE,
        ring_for=max(5, int(section.ring_for.total_seconds())),
    )
