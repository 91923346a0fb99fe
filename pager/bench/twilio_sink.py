"""A minimal Twilio-compatible sink for `pager bench`: it accepts every message and notes when it arrived.

It speaks just enough of Twilio's Messages API for pager's SMS notifier (the
twilio library's async client) to count a page as sent:
`POST /2010-04-01/Accounts/{AccountSid}/Messages.json`, form-encoded, HTTP
Basic auth with the account SID and auth token, answered 201 with a Message
resource. A wrong SID or token is answered 401 with Twilio's error 20003, so
a misconfigured daemon shows up as failed pages rather than as silence.

The arrival time is taken when the request reaches the handler, on the
monotonic clock of the bench process (`time.perf_counter`), so it can be
compared directly with the instant the bench sent the alert.
"""

from __future__ import annotations

import dataclasses
import datetime
import email.utils
import itertools
import re
import time
import typing

import aiohttp
from aiohttp import web

from pager.bench import voice

ACCOUNT_SID = "AC" + "be" * 16
AUTH_TOKEN = "5e" * 16
API_VERSION = "2010-04-01"

_NUMBER = re.compile(r"#(\d+)")


@dataclasses.dataclass(frozen=True, slots=True)
class Arrival:
    """One accepted message: when it reached the sink, to whom, and what it said."""

    at: float  # time.perf_counter() in the bench process
    to: str
    body: str

    def incident_numbers(self) -> list[int]:
        """Every incident number the page names: its own (`#12`) and bundled ones (`+2 more: #13 #14`)."""
        return [int(n) for n in _NUMBER.findall(self.body)]


class TwilioSink:
    def __init__(self, account_sid: str = ACCOUNT_SID, auth_token: str = AUTH_TOKEN) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.url = ""  # api_base for the daemon's sms notifier, set by `start`
        self.arrivals: list[Arrival] = []
        self.calls: list[Arrival] = []  # Calls API requests (the voice phase), `body` holding the TwiML Url
        self.rejected = 0
        self._sids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self._listeners: list[typing.Callable[[Arrival], None]] = []

    def subscribe(self, listener: typing.Callable[[Arrival], None]) -> typing.Callable[[], None]:
        """Call `listener` for every accepted message until the returned function is called."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", self._create_message)
        app.router.add_post(f"/{API_VERSION}/Accounts/{{account_sid}}/Calls.json", lambda r: voice.create_call(self, r))
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_host, bound_port = self._runner.addresses[0][:2]
        self.url = f"http://{bound_host}:{bound_port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _create_message(self, request: web.Request) -> web.Response:
        at = time.perf_counter()
        form = await request.post()
        try:
            auth = aiohttp.BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            auth = None
        if (
            auth is None
            or (auth.login, auth.password) != (self.account_sid, self.auth_token)
            or request.match_info["account_sid"] != self.account_sid
        ):
            self.rejected += 1
            return _error(401, 20003, "Authenticate")
        to, body = str(form.get("To", "")), str(form.get("Body", ""))
        if not to or not body:
            self.rejected += 1
            return _error(400, 21604 if not to else 21602, "A 'To' phone number and a 'Body' are required.")
        arrival = Arrival(at, to, body)
        self.arrivals.append(arrival)
        for listener in list(self._listeners):
            listener(arrival)
        sid = f"SM{next(self._sids):032x}"
        now = email.utils.format_datetime(datetime.datetime.now(datetime.UTC))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
        return web.json_response(
            {
                "account_sid": self.account_sid,
                "api_version": API_VERSION,
                "body": body,
                "date_created": now,
                "date_sent": None,
                "date_updated": now,
                "direction": "outbound-api",
                "error_code": None,
                "error_message": None,
                "from": form.get("From"),
                "messaging_service_sid": form.get("MessagingServiceSid"),
                "num_media": "0",
                "num_segments": "1",
                "price": None,
                "price_unit": "USD",
                "sid": sid,
                "status": "queued",
                "subresource_uris": {"media": uri.removesuffix(".json") + "/Media.json"},
                "to": to,
                "uri": uri,
            },
            status=201,
        )


def _error(status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {"code": code, "message": message, "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status},
        status=status,
    )
