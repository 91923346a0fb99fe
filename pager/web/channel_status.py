"""`GET /api/v1/channels`: what check-config says of each way out, and what only the database knows (SMS opt-outs).

A number that replied STOP is a person pager can no longer reach by SMS; this
is where an operator sees it, beside which channels and webhooks are on.
"""

from __future__ import annotations

import typing

from aiohttp import web

from pager import channels, config
from pager.store import optouts
from pager.web import jsonout, keys


def _problem(warnings: typing.Sequence[str], prefix: str) -> str | None:
    return next((w.split(": ", 1)[1] for w in warnings if w.startswith(prefix)), None)


def summary(settings: config.Settings, opted_out: typing.Sequence[optouts.OptOut]) -> dict[str, typing.Any]:
    """Each channel and webhook, on or off and why; and the numbers opted out of SMS, with their users."""
    cfg, warnings = settings.config, settings.warnings
    out = []
    for name, spec in channels.REGISTRY.items():
        section = spec.section(cfg.notifiers)
        enabled = settings.enabled(name)
        problem = None if enabled else _problem(warnings, f"notifiers.{name}:")
        if not enabled and problem is None:
            problem = "switched off" if section is not None else "not configured"
        out.append({"name": name, "label": spec.label, "enabled": enabled, "problem": problem})
    hooks = [
        {
            "id": w.id,
            "enabled": w.id in settings.secrets.webhooks,
            "problem": _problem(warnings, f"webhooks[{i}] ({w.id}):"),
            "events": list(w.events),
            "format": w.format,
        }
        for i, w in enumerate(cfg.webhooks)
    ]
    opted = [
        {
            "number": o.phone,
            "users": [u.id for u in cfg.users if u.phone == o.phone],
            "keyword": o.keyword,
            "since": jsonout.timestamp(o.at),
        }
        for o in opted_out
    ]
    return {"channels": out, "webhooks": hooks, "sms_opt_outs": opted}


async def status(request: web.Request) -> web.Response:
    return jsonout.response(summary(request.app[keys.SETTINGS], await request.app[keys.OPTOUTS].list()))


def lines(s: dict[str, typing.Any]) -> list[str]:
    """The summary as `pager channels` prints it, one line each, as check-config words its warnings."""
    out = [f"{c['name']}: {'on' if c['enabled'] else 'off: ' + str(c['problem'])}" for c in s["channels"]]
    out += [f"webhook {w['id']}: {'on' if w['enabled'] else 'off: ' + str(w['problem'])}" for w in s["webhooks"]]
    for o in s["sms_opt_outs"]:
        who = ", ".join(o["users"]) or "no user"
        out.append(f"sms opted out: {o['number']} ({who}) replied {o['keyword']} at {o['since']}; START lifts it")
    return out


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [web.get("/api/v1/channels", status)]
