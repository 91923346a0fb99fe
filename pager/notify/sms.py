"""Pages by SMS through Twilio (or any server speaking Twilio's Messages API at `api_base`).

Twilio's own answer decides whether trying again can help: it is overloaded
(429, 5xx) or unreachable, and a retry a moment later will likely get through;
or it refuses this number for good (not a mobile, unsubscribed with STOP,
invalid), and every retry would fail the same way while the escalation
should move on.
"""

from __future__ import annotations

import typing

import aiohttp
import structlog
import twilio.rest
import twilio.rest.api.v2010.account  # noqa: F401 - loaded at start, not by the first page (~40 ms)
from twilio.base import exceptions as twilio_exceptions
from twilio.http import async_http_client

from pager.notify import message, sms_text

log = structlog.get_logger(__name__)

DEFAULT_API_BASE = "https://api.twilio.com"
STATUS_CALLBACK_PATH = "/v1/twilio/status"

PERMANENT_CODES = {
    21211: "invalid 'To' phone number",
    21408: "SMS to this region is not enabled on the Twilio account",
    21610: "the recipient replied STOP and is unsubscribed",
    21612: "Twilio cannot route to this number",
    21614: "the number is not a mobile number",
    30006: "landline or unreachable carrier",
}


class TwilioSms:
    """A `message.Notifier` for the `sms` channel.

    Uses the twilio library's async client; `api_base` replaces
    https://api.twilio.com for every request, so a Twilio-compatible server
    (or a test double) receives the real protocol.
    """

    channel = "sms"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        api_base: str = DEFAULT_API_BASE,
        public_url: str | None = None,
        retry: message.RetryPolicy = message.DEFAULT_RETRY,
    ) -> None:
        if not from_number and not messaging_service_sid:
            raise ValueError("TwilioSms needs from_number or messaging_service_sid")
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._from_number = from_number
        self._messaging_service_sid = messaging_service_sid
        self._api_base = api_base.rstrip("/")
        self._status_callback = f"{public_url.rstrip('/')}{STATUS_CALLBACK_PATH}" if public_url else None
        self._retry = retry
        self._client: twilio.rest.Client | None = None

    def _twilio(self) -> twilio.rest.Client:
        """Built on first use, inside the running loop that owns its aiohttp session."""
        if self._client is None:
            client = twilio.rest.Client(
                self._account_sid,
                self._auth_token,
                http_client=async_http_client.AsyncTwilioHttpClient(),
            )
            client.api.base_url = self._api_base
            client.edge = client.region = None  # api_base alone chooses the host; TWILIO_EDGE would rewrite it
            self._client = client
        return self._client

    def _params(self, to: str, body: str) -> dict[str, str]:
        params: dict[str, str] = {"to": to, "body": body}
        if self._messaging_service_sid:
            params["messaging_service_sid"] = self._messaging_service_sid
        if self._from_number:
            params["from_"] = self._from_number
        return params

    async def transmit(self, to: str, body: str) -> str:
        """One SMS of any text, no delivery callback; raises twilio's errors (the web UI's sign-in link uses it)."""
        created = await self._twilio().messages.create_async(**self._params(to, body))
        return str(created.sid)

    async def send(self, msg: message.Message) -> message.Outcome:
        body = sms_text.render(msg)
        params = self._params(msg.address, body)
        if self._status_callback:
            params["status_callback"] = self._status_callback

        async def once() -> str | None:
            created = await self._twilio().messages.create_async(**params)
            return created.sid

        outcome = await message.deliver(once, self._classify, self._retry, msg)
        log.info(
            "notify.sms",
            incident_id=msg.incident_id,
            user=msg.user_id,
            ok=outcome.ok,
            permanent=outcome.permanent,
            provider_id=outcome.provider_id,
            attempts=outcome.attempts,
            segments=sms_text.segments(body),
            error=outcome.error or None,
        )
        return outcome

    def _classify(self, exc: Exception) -> message.Failure | None:
        if isinstance(exc, (twilio_exceptions.TwilioRestException, twilio_exceptions.TwilioServiceException)):
            status, code, error = _describe(exc)
            return message.Failure(error, temporary=_temporary(status, code))
        if isinstance(exc, (aiohttp.ClientError, OSError)):
            return message.Failure(f"cannot reach Twilio at {self._api_base}: {exc!r}", temporary=True)
        if isinstance(exc, ValueError):  # a 2xx whose body is not Twilio's JSON
            return message.Failure(f"unreadable answer from Twilio: {exc}", temporary=True)
        return None

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.http_client.close()
            self._client = None


def _describe(
    exc: twilio_exceptions.TwilioRestException | twilio_exceptions.TwilioServiceException,
) -> tuple[int, int | None, str]:
    status = int(exc.status)
    code = exc.code if isinstance(exc.code, int) else None
    if isinstance(exc, twilio_exceptions.TwilioServiceException):
        text = exc.detail or exc.title
    else:
        text = exc.msg.removeprefix("Unable to create record: ")
    reason = PERMANENT_CODES.get(code or 0)
    label = f"Twilio error {code}" if code and code != status else f"Twilio HTTP {status}"
    return status, code, f"{label}: {text}" + (f" ({reason})" if reason and reason not in text else "")


def _temporary(status: int, code: int | None) -> bool:
    if code in PERMANENT_CODES:
        return False
    return status in (408, 429) or status >= 500


def build(section: typing.Any, secrets: typing.Mapping[str, str], server: typing.Any) -> TwilioSms:
    """The `sms` channel from `notifiers.sms` (pager.channels.Sms) and its secrets."""
    return TwilioSms(
        account_sid=secrets["account_sid"],
        auth_token=secrets["auth_token"],
        from_number=section.from_number,
        messaging_service_sid=section.messaging_service_sid,
        api_base=section.api_base,
        public_url=server.public_url,
    )
