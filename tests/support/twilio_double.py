"""A stand-in for Twilio that speaks its real protocol, for tests.

Outbound: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json` and `.../Calls.json`,
form-encoded, HTTP Basic auth with the account SID and auth token, answering 201
with a Message or Call resource as Twilio does, or Twilio's JSON errors. It can
be told to fail the next requests (500/503/429) or refuse them with a Twilio
error code.

Inbound: it posts status callbacks and incoming SMS to a URL, signed with
`X-Twilio-Signature` exactly as Twilio signs them, for the daemon's webhooks;
for a call it plays Twilio's part: fetches the call's TwiML when "answered"
(`answer`), posts a keypress to the <Gather> action (`press`), and posts the
final call status (`finish`). `route` maps the public URL the daemon gives
Twilio to where the test's daemon listens; the signature is always over the
public URL, as Twilio signs it. `shared_key` signs with a Twilio SharedKey
(HMAC-SHA256, `X-Twilio-Webhooks-Signature-Settings`) instead of the auth token.

    async with twilio_double.running() as twilio:
        notifier = sms.TwilioSms(account_sid=twilio.account_sid, auth_token=twilio.auth_token,
                                 from_number="+15005550006", api_base=twilio.url)
"""

from __future__ import annotations

import asyncio
import collections
import collections.abc
import contextlib
import dataclasses
import datetime
import email.utils
import re
import secrets

import aiohttp
from aiohttp import web
from twilio import request_validator

ACCOUNT_SID = "AC" + "3f" * 16
AUTH_TOKEN = "9e" * 16
API_VERSION = "2010-04-01"

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
_ERRORS = {
    20003: (401, "Authenticate"),
    20404: (404, "The requested resource was not found"),
    20429: (429, "Too Many Requests"),
    20500: (500, "An internal server error has occurred"),
    20503: (503, "Service is unavailable. Please try again"),
    21211: (400, "Invalid 'To' Phone Number"),
    21602: (400, "Message body is required."),
    21603: (400, "A 'From' phone number is required."),
    21604: (400, "A 'To' phone number is required."),
    21610: (400, "Attempt to send to unsubscribed recipient"),
    21614: (400, "'To' number is not a valid mobile number"),
    30006: (400, "Landline or unreachable carrier"),
}
_STATUS_CODES = {429: 20429, 500: 20500, 502: 20500, 503: 20503, 504: 20503}


@dataclasses.dataclass(frozen=True)
class Request:
    """One request as the double received it, whatever it answered."""

    method: str
    path: str
    auth: tuple[str, str] | None
    form: dict[str, str]
    headers: dict[str, str]
    answered: int


@dataclasses.dataclass(frozen=True)
class Message:
    """A message the double accepted (answered 201)."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    body: str
    messaging_service_sid: str | None
    status_callback: str | None


@dataclasses.dataclass(frozen=True)
class Call:
    """A call the double accepted (answered 201)."""

    sid: str
    account_sid: str
    to: str
    from_: str
    url: str
    method: str
    status_callback: str | None
    timeout: str | None


@dataclasses.dataclass(frozen=True)
class Answer:
    """What a webhook under test answered to a post from the double."""

    status: int
    text: str
    headers: dict[str, str]


@dataclasses.dataclass
class _Script:
    status: int
    code: int
    message: str | None = None
    delay: float = 0.0
    retry_after: str | None = None
    answer: bool = False  # after `delay`, answer as usual (a slow Twilio) instead of with the error


class TwilioDouble:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.url = ""  # the api_base to point the twilio client at, set by `running`
        self.requests: list[Request] = []
        self.messages: list[Message] = []
        self.calls: list[Call] = []
        self.route: tuple[str, str] | None = None  # (public URL prefix, where the daemon under test listens)
        self.shared_key: tuple[str, str] | None = None  # (key sid, secret): sign as a Webhooks Rule does
        self._script: collections.deque[_Script] = collections.deque()
        self._call_script: collections.deque[_Script] = collections.deque()

    # -- steering -----------------------------------------------------------------

    def fail_next(self, n: int = 1, status: int = 503, retry_after: str | None = None) -> None:
        """The next `n` sends answer `status` (429, 500, 503, ...) with Twilio's error body (and `Retry-After`)."""
        self._script.extend(
            _Script(status, _STATUS_CODES.get(status, 20500), retry_after=retry_after) for _ in range(n)
        )

    def slow_next(self, n: int = 1, seconds: float = 1.0) -> None:
        """The next `n` sends are accepted as usual, but only after `seconds`."""
        self._script.extend(_Script(201, 0, delay=seconds, answer=True) for _ in range(n))

    def reject_next(self, code: int = 21211, n: int = 1, message: str | None = None) -> None:
        """The next `n` sends are refused with Twilio error `code` (21211, 21610, 21614, 30006, ...)."""
        status = _ERRORS.get(code, (400, ""))[0]
        self._script.extend(_Script(status, code, message) for _ in range(n))

    def stall_next(self, n: int = 1, seconds: float = 30.0) -> None:
        """The next `n` sends get no answer for `seconds` (then a 503); nothing is sent."""
        self._script.extend(_Script(503, 20503, delay=seconds) for _ in range(n))

    def stall_next_call(self, n: int = 1, seconds: float = 30.0) -> None:
        """The next `n` calls (only calls) get no answer for `seconds` (then a 503); no call is placed."""
        self._call_script.extend(_Script(503, 20503, delay=seconds) for _ in range(n))

    # -- the Messages API ---------------------------------------------------------

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", self._create_message)
        app.router.add_post(f"/{API_VERSION}/Accounts/{{account_sid}}/Calls.json", self._create_call)
        return app

    async def _create_call(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        auth = _basic_auth(request.headers.get("Authorization", ""))
        response = await self._answer_call(request, form, auth)
        self.requests.append(Request(request.method, request.path, auth, form, dict(request.headers), response.status))
        return response

    async def _answer_call(
        self, request: web.Request, form: dict[str, str], auth: tuple[str, str] | None
    ) -> web.Response:
        if auth != (self.account_sid, self.auth_token):
            return _error(20003, "Your AccountSid or AuthToken was incorrect.")
        account_sid = request.match_info["account_sid"]
        if account_sid != self.account_sid:
            return _error(20404, f"The requested resource {request.path} was not found")
        script = self._call_script or self._script
        if script:
            step = script.popleft()
            if step.delay:
                await asyncio.sleep(step.delay)
            return _error(step.code, step.message, status=step.status)
        to, from_ = form.get("To", ""), form.get("From", "")
        if not to:
            return _error(21201, "No 'To' number is specified")
        if not from_:
            return _error(21213, "No 'From' number is specified")
        if not form.get("Url") and not form.get("Twiml") and not form.get("ApplicationSid"):
            return _error(21205, "Url parameter is required.")
        if not _E164.match(to):
            return _error(21211, f"Invalid 'To' Phone Number: {to}")
        sid = "CA" + secrets.token_hex(16)
        call = Call(
            sid=sid,
            account_sid=account_sid,
            to=to,
            from_=from_,
            url=form.get("Url", ""),
            method=form.get("Method", "POST"),
            status_callback=form.get("StatusCallback"),
            timeout=form.get("Timeout"),
        )
        self.calls.append(call)
        now = email.utils.format_datetime(datetime.datetime.now(datetime.UTC))
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{sid}.json"
        return web.json_response(
            {
                "account_sid": account_sid,
                "annotation": None,
                "answered_by": None,
                "api_version": API_VERSION,
                "caller_name": None,
                "date_created": now,
                "date_updated": now,
                "direction": "outbound-api",
                "duration": None,
                "end_time": None,
                "forwarded_from": None,
                "from": from_,
                "from_formatted": from_,
                "group_sid": None,
                "parent_call_sid": None,
                "phone_number_sid": "PN" + "0" * 32,
                "price": None,
                "price_unit": "USD",
                "queue_time": "0",
                "sid": sid,
                "start_time": None,
                "status": "queued",
                "subresource_uris": {"notifications": uri.removesuffix(".json") + "/Notifications.json"},
                "to": to,
                "to_formatted": to,
                "trunk_sid": None,
                "uri": uri,
            },
            status=201,
        )

    async def _create_message(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        auth = _basic_auth(request.headers.get("Authorization", ""))
        response = await self._answer(request, form, auth)
        self.requests.append(Request(request.method, request.path, auth, form, dict(request.headers), response.status))
        return response

    async def _answer(self, request: web.Request, form: dict[str, str], auth: tuple[str, str] | None) -> web.Response:
        if auth != (self.account_sid, self.auth_token):
            return _error(20003, "Your AccountSid or AuthToken was incorrect.")
        account_sid = request.match_info["account_sid"]
        if account_sid != self.account_sid:
            return _error(20404, f"The requested resource {request.path} was not found")
        if self._script:
            step = self._script.popleft()
            if step.delay:
                await asyncio.sleep(step.delay)
            if not step.answer:
                response = _error(step.code, step.message, status=step.status)
                if step.retry_after:
                    response.headers["Retry-After"] = step.retry_after
                return response
        to = form.get("To", "")
        if not to:
            return _error(21604)
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(21603)
        if not form.get("Body") and not form.get("MediaUrl"):
            return _error(21602)
        if not _E164.match(to):
            return _error(21211, f"Invalid 'To' Phone Number: {to}")

        sid = "SM" + secrets.token_hex(16)
        message = Message(
            sid=sid,
            account_sid=account_sid,
            to=to,
            from_=form.get("From"),
            body=form["Body"],
            messaging_service_sid=form.get("MessagingServiceSid"),
            status_callback=form.get("StatusCallback"),
        )
        self.messages.append(message)
        now = email.utils.format_datetime(datetime.datetime.now(datetime.UTC))
        uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}.json"
        return web.json_response(
            {
                "account_sid": account_sid,
                "api_version": API_VERSION,
                "body": message.body,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": message.from_,
                "messaging_service_sid": message.messaging_service_sid,
                "num_media": "0",
                "num_segments": str(_segments(message.body)),
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "accepted" if message.messaging_service_sid and not message.from_ else "queued",
                "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
                "to": to,
                "uri": uri,
            },
            status=201,
        )

    # -- webhooks the daemon receives ---------------------------------------------

    def sign(self, url: str, params: collections.abc.Mapping[str, str]) -> str:
        if self.shared_key is not None:
            validator = request_validator.RequestValidator(self.shared_key[1])
            return str(validator.compute_signature(url, params, request_validator.HMAC_SHA256))
        return str(request_validator.RequestValidator(self.auth_token).compute_signature(url, params))

    async def post_signed(
        self, url: str, params: collections.abc.Mapping[str, str], *, signature: str | None = None
    ) -> Answer:
        """POST form `params` to `url` as Twilio does (signed over `url`, sent where `route` says); pass
        `signature` to send a wrong one."""
        headers = {
            "X-Twilio-Signature": self.sign(url, params) if signature is None else signature,
            "User-Agent": "TwilioProxy/1.1",
        }
        if self.shared_key is not None:
            headers["X-Twilio-Webhooks-Signature-Settings"] = f"key={self.shared_key[0]},algorithm=HMAC_SHA256"
        target = url
        if self.route and url.startswith(self.route[0]):
            target = self.route[1] + url[len(self.route[0]) :]
        async with aiohttp.ClientSession() as session:
            async with session.post(target, data=dict(params), headers=headers) as response:
                return Answer(response.status, await response.text(), dict(response.headers))

    def _call_params(self, call: Call, status: str) -> dict[str, str]:
        return {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": "outbound-api",
            "From": call.from_,
            "To": call.to,
        }

    async def answer(self, call: Call, *, signature: str | None = None) -> Answer:
        """The person picks up: Twilio fetches the call's TwiML from its Url."""
        return await self.post_signed(call.url, self._call_params(call, "in-progress"), signature=signature)

    async def press(self, call: Call, action: str, digits: str) -> Answer:
        """A keypress <Gather> collected, posted to its action URL."""
        params = {**self._call_params(call, "in-progress"), "Digits": digits, "FinishedOnKey": ""}
        return await self.post_signed(action, params)

    async def finish(self, call: Call, status: str = "completed", *, duration: int = 20) -> Answer:
        """The call's final status callback: completed, busy, no-answer, failed or canceled."""
        if not call.status_callback:
            raise ValueError(f"call {call.sid} was created without StatusCallback")
        params = {**self._call_params(call, status), "CallDuration": str(duration if status == "completed" else 0)}
        return await self.post_signed(call.status_callback, params)

    async def post_status(
        self,
        sid: str,
        status: str = "delivered",
        *,
        error_code: int | None = None,
        url: str | None = None,
        signature: str | None = None,
    ) -> Answer:
        """A delivery status callback for a message sent through the double (to its StatusCallback)."""
        message = next(m for m in self.messages if m.sid == sid)
        target = url or message.status_callback
        if not target:
            raise ValueError(f"message {sid} was sent without StatusCallback and no url was given")
        params = {
            "AccountSid": message.account_sid,
            "ApiVersion": API_VERSION,
            "From": message.from_ or "",
            "MessageSid": sid,
            "MessageStatus": status,
            "SmsSid": sid,
            "SmsStatus": status,
            "To": message.to,
        }
        if message.messaging_service_sid:
            params["MessagingServiceSid"] = message.messaging_service_sid
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        return await self.post_signed(target, params, signature=signature)

    async def post_inbound_sms(
        self, url: str, *, from_: str, body: str, to: str = "+15005550006", signature: str | None = None
    ) -> Answer:
        """An SMS a person sent to our number, as Twilio's incoming-message webhook delivers it."""
        sid = "SM" + secrets.token_hex(16)
        params = {
            "AccountSid": self.account_sid,
            "ApiVersion": API_VERSION,
            "Body": body,
            "From": from_,
            "FromCity": "",
            "FromCountry": "US",
            "FromState": "",
            "FromZip": "",
            "MessageSid": sid,
            "NumMedia": "0",
            "NumSegments": str(_segments(body)),
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "SmsStatus": "received",
            "To": to,
            "ToCity": "",
            "ToCountry": "US",
            "ToState": "",
            "ToZip": "",
        }
        return await self.post_signed(url, params, signature=signature)


@contextlib.asynccontextmanager
async def running(
    account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN
) -> collections.abc.AsyncIterator[TwilioDouble]:
    """A double listening on 127.0.0.1 (a free port) for the duration of the block."""
    double = TwilioDouble(account_sid, auth_token)
    runner = web.AppRunner(double.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    double.url = f"http://{host}:{port}"
    try:
        yield double
    finally:
        await runner.cleanup()


def _error(code: int, message: str | None = None, *, status: int | None = None) -> web.Response:
    default_status, default_message = _ERRORS.get(code, (400, "Error"))
    status = status or default_status
    return web.json_response(
        {
            "code": code,
            "message": message or default_message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status=status,
    )


def _basic_auth(header: str) -> tuple[str, str] | None:
    try:
        auth = aiohttp.BasicAuth.decode(header)
    except ValueError:
        return None
    return auth.login, auth.password


def _segments(body: str) -> int:
    """Roughly as Twilio counts: 160/153 for plain text, 70/67 otherwise."""
    single, part = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else -(-len(body) // part)
