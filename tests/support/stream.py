"""A steady stream of Events v2 triggers that retries as Alertmanager does, recording every answer.

Each sender posts a trigger with a fresh dedup key; a 5xx or a refused connection is retried with
the same key (after the answer's Retry-After, capped, as a client would), a 2xx counts the key as
accepted. What was accepted must then be found in the database: nothing 2xx'd may be lost.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import time
import typing

import aiohttp
import yaml

from pager import config
from tests import support


def settings(extra_yaml: str = "", env: typing.Mapping[str, str] | None = None) -> config.Settings:
    """support.settings plus the service `stream` (no escalation policy), which the stream's events go to."""
    data = yaml.safe_load(support.BASE_YAML)
    data.update(yaml.safe_load(extra_yaml) or {})
    data["services"] = [{"id": "stream", "matchers": ['service="stream"']}, *data["services"]]
    return config.resolve(config.parse(data), support.ENV if env is None else env)


@dataclasses.dataclass(frozen=True)
class Answer:
    at: float  # time.monotonic()
    key: str
    status: int  # 0: no HTTP answer (connection refused or reset)
    retry_after: str | None


@dataclasses.dataclass
class Stream:
    base_url: str
    senders: int = 4
    pause: float = 0.02  # between one sender's requests
    retry_cap: float = 0.1  # a test cannot wait Retry-After's whole 5 s; a client backs off at least this
    prefix: str = "stream"
    service: str = "stream"  # routed by custom_details.service; give it no escalation policy to page nobody
    answers: list[Answer] = dataclasses.field(default_factory=list)
    accepted: dict[str, float] = dataclasses.field(default_factory=dict)
    _stop: asyncio.Event = dataclasses.field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = dataclasses.field(default_factory=list)

    async def __aenter__(self) -> Stream:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        counter = itertools.count()
        self._tasks = [asyncio.create_task(self._sender(counter)) for _ in range(self.senders)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def stop(self) -> None:
        self._stop.set()
        if self._tasks:
            await asyncio.gather(*self._tasks)
            self._tasks = []
            await self._session.close()

    async def _sender(self, counter: typing.Iterator[int]) -> None:
        while not self._stop.is_set():
            key = f"{self.prefix}-{next(counter)}"
            while True:  # this key until it is accepted; a stop ends the retries too (an alert not yet sent)
                status, retry_after = await self._post(key)
                self.answers.append(Answer(time.monotonic(), key, status, retry_after))
                if 200 <= status < 300:
                    self.accepted[key] = time.monotonic()
                    break
                if 400 <= status < 500 or self._stop.is_set():
                    break
                wait = float(retry_after) if retry_after and retry_after.isdigit() else self.retry_cap
                await asyncio.sleep(min(wait, self.retry_cap))
            await asyncio.sleep(self.pause)

    async def _post(self, key: str) -> tuple[int, str | None]:
        event = support.event(
            "trigger", key, severity="warning", summary=f"stream {key}", custom_details={"service": self.service}
        )
        body = json.dumps(event).encode()
        try:
            async with self._session.post(
                f"{self.base_url}/v2/enqueue", data=body, headers={"Content-Type": "application/json"}
            ) as resp:
                await resp.read()
                return resp.status, resp.headers.get("Retry-After")
        except (aiohttp.ClientError, TimeoutError):
            return 0, None

    def statuses(self, since: float = 0.0, until: float = float("inf")) -> set[int]:
        return {a.status for a in self.answers if since <= a.at <= until}

    def first_accepted_after(self, t: float) -> float | None:
        return min((a.at for a in self.answers if a.at >= t and 200 <= a.status < 300), default=None)

    async def until_accepted(self, n: int, timeout: float = 20.0) -> None:
        """Until `n` more events than now are accepted (bounded: a stuck stream fails the test)."""
        target = len(self.accepted) + n
        deadline = time.monotonic() + timeout
        while len(self.accepted) < target:
            if time.monotonic() > deadline:
                raise AssertionError(f"stream: {target - len(self.accepted)} of {n} events not accepted in {timeout}s")
            await asyncio.sleep(0.02)

    def server_errors_without_retry_after(self) -> list[Answer]:
        return [a for a in self.answers if a.status >= 500 and not (a.retry_after or "").isdigit()]
