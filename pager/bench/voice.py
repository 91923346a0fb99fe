"""The `voice` phase of `pager bench`: alert → Twilio call request, for P1 incidents paged by voice.

Kept to itself so the rest of the bench stays as it is: `extend_config` adds
the people, services and the P1 → voice rule it pages, `create_call` answers
Twilio's Calls API on the bench's sink (noting when each request arrived),
and `measure` sends one-alert webhooks at a steady rate, round-robin over
`CALL_USERS` people, and matches each person's calls to their incidents in
order. The machine's load average is reported with the figures: the bench
may share the machine with other work.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import typing

from aiohttp import web

from pager.bench import load

if typing.TYPE_CHECKING:
    from pager.bench import runner, twilio_sink

CALL_USERS = 20
RATE = 20.0  # incidents/s: a call storm is rarer than an SMS storm
DURATION = 10.0


def phone(k: int) -> str:
    return f"+1555020{k:04d}"


def extend_config(cfg: dict[str, typing.Any]) -> dict[str, typing.Any]:
    """The daemon config with voice on (sms's account), P1 paged by voice, and the call phase's people."""
    cfg["users"] += [{"id": f"call-{k}", "name": f"call-{k}", "phone": phone(k)} for k in range(CALL_USERS)]
    cfg["escalation_policies"] += [
        {"id": f"bench-call-{k}", "steps": [{"targets": [f"user:call-{k}"], "ack_timeout": "1h"}]}
        for k in range(CALL_USERS)
    ]
    catch_all = cfg["services"].pop()  # the last service has no matchers; keep it last
    cfg["services"] += [
        {"id": f"bench-call-{k}", "escalation_policy": f"bench-call-{k}", "matchers": [f'call="{k}"']}
        for k in range(CALL_USERS)
    ] + [catch_all]
    cfg["classification"].insert(0, {"matchers": ['bench="call"'], "priority": "P1"})
    cfg["priorities"]["P1"] = {"channels": ["voice"]}
    cfg["notifiers"]["voice"] = {}
    return cfg


async def create_call(sink: twilio_sink.TwilioSink, request: web.Request) -> web.Response:
    """Twilio's `POST .../Calls.json`: 201 with a Call resource; the arrival is noted in `sink.calls`."""
    from pager.bench import twilio_sink as sink_mod

    at = time.perf_counter()
    form = await request.post()
    to = str(form.get("To", ""))
    if not to or not form.get("Url"):
        sink.rejected += 1
        return sink_mod._error(400, 21205, "A 'To' number and a 'Url' are required.")
    sink.calls.append(sink_mod.Arrival(at, to, str(form.get("Url"))))
    sid = f"CA{len(sink.calls):032x}"
    return web.json_response(
        {
            "account_sid": sink.account_sid,
            "api_version": sink_mod.API_VERSION,
            "direction": "outbound-api",
            "from": form.get("From"),
            "sid": sid,
            "status": "queued",
            "to": to,
            "uri": f"/{sink_mod.API_VERSION}/Accounts/{sink.account_sid}/Calls/{sid}.json",
        },
        status=201,
    )


async def measure(bench: runner.Bench) -> dict[str, typing.Any]:
    sink = bench.d.sink
    if sink is None or bench.d.mode != "embedded":
        return {"status": "skipped", "reason": "needs the bench's own pager (its config pages P1 by voice)"}
    duration = min(DURATION, bench.o.page_duration)
    count = max(1, int(RATE * duration))
    first = len(sink.calls)
    body = load.alertmanager_body(
        [{"alertname": "BenchCall", "bench": "call", "call": "@@USER@@", "instance": "db-1:9100"}],
        f'{{}}:{{alertname="BenchCall",run="{bench.run_id}",n="@@KEY@@"}}',
    )
    url = f"{bench.d.url}/v1/webhooks/alertmanager"
    headers = {"Authorization": f"Bearer {bench.d.am_token}", "Content-Type": "application/json"}
    sent: dict[int, list[float]] = {k: [] for k in range(CALL_USERS)}
    errors: dict[str, int] = {}

    async def send(i: int) -> None:
        k = i % CALL_USERS
        raw = body(f"{i}").replace(b"@@USER@@", str(k).encode())
        s = await load.post(bench.session, url, raw, headers, keep_body=True)
        if 200 <= s.status < 300 and any(inc["created"] for inc in json.loads(s.body)["incidents"]):
            sent[k].append(s.start)
        else:
            key = f"HTTP {s.status}" if s.status else "connection error"
            errors[key] = errors.get(key, 0) + 1

    load_before = os.getloadavg()
    a = bench.cpu.snapshot()
    lag = await load.open_loop(RATE, count, send)
    b = bench.cpu.snapshot()
    wanted = sum(len(v) for v in sent.values())
    deadline = time.perf_counter() + 10.0
    while len(sink.calls) - first < wanted and time.perf_counter() < deadline:
        await asyncio.sleep(0.05)
    load_after = os.getloadavg()
    calls: dict[str, list[float]] = {}
    for call in sink.calls[first:]:
        calls.setdefault(call.to, []).append(call.at)
    latencies: list[float] = []
    for k, starts in sent.items():
        arrivals = calls.get(phone(k), [])
        latencies += [at - start for start, at in zip(sorted(starts), arrivals)]
    return {
        "rate_per_s": RATE,
        "incidents": wanted,
        "called": len(latencies),
        "unmatched": wanted - len(latencies),
        **load.summary_ms(latencies),
        "errors": errors,
        "schedule_lag_ms": round(lag * 1000, 1),
        "load_avg_1m": [round(load_before[0], 2), round(load_after[0], 2)],
        "cpus": os.cpu_count(),
        "cpu": bench.cpu.share(a, b),
    }
