"""What pager's Slack messages say: the incident's one message (edited on every change), pages, thread replies.

Pure: Block Kit JSON from an incident. The buttons carry the incident number;
whoever presses one acts as the pager user whose `slack_id` they are
(`pager.web.slack_interactive`), so the message itself grants nothing.
"""

from __future__ import annotations

import datetime
import typing

from pager import models

ACTIONS_BLOCK = "pager_incident"
EMOJI = {
    "triggered": ":red_circle:",
    "acknowledged": ":large_orange_circle:",
    "stabilizing": ":large_yellow_circle:",
    "resolved": ":large_green_circle:",
}


def _escape(text: str) -> str:
    """Slack's mrkdwn escapes: &, <, > (so a summary cannot @-mention a channel or forge a link)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _when(at: datetime.datetime | None) -> str:
    return at.astimezone(datetime.UTC).strftime("%H:%M UTC") if at else ""


def _alerts(n: int) -> str:
    return "1 alert" if n == 1 else f"{n} alerts"


def _button(action: str, label: str, number: int, style: str) -> dict[str, typing.Any]:
    return {
        "type": "button",
        "action_id": action,
        "text": {"type": "plain_text", "text": label},
        "value": str(number),
        "style": style,
    }


def buttons(number: int, status: models.IncidentStatus) -> list[dict[str, typing.Any]]:
    """What can still be done: a triggered incident is acknowledged or resolved, an acknowledged one resolved."""
    if status is models.IncidentStatus.TRIGGERED:
        return [
            _button("acknowledge", "Acknowledge", number, "primary"),
            _button("resolve", "Resolve", number, "danger"),
        ]
    if status in (models.IncidentStatus.ACKNOWLEDGED, models.IncidentStatus.STABILIZING):
        return [_button("resolve", "Resolve", number, "danger")]  # resolving skips the stability window
    return []


def page(
    priority: models.Priority, number: int, service: str, summary: str, more: int, prefix: str = ""
) -> tuple[str, list[dict[str, typing.Any]]]:
    """A page by direct message: the incident and its buttons."""
    line = f"{prefix}[{priority.name}] #{number} {service}: {summary}" + (
        f" (+{more} more open for you)" if more else ""
    )
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _escape(line)}},
        {"type": "actions", "block_id": ACTIONS_BLOCK, "elements": buttons(number, models.IncidentStatus.TRIGGERED)},
    ]
    return line, blocks


def text(inc: models.Incident, name: typing.Callable[[str | None], str]) -> str:
    """The notification text (and what clients without blocks show)."""
    drill = "[DRILL] " if inc.drill else ""
    line = f"{drill}[{inc.priority.name}] #{inc.number} {inc.service}: {inc.summary} — {inc.status}"
    if inc.status is models.IncidentStatus.ACKNOWLEDGED:
        line += f" by {name(inc.acknowledged_by)}"
    elif inc.status is models.IncidentStatus.RESOLVED:
        line += f" by {name(inc.resolved_by)}"
    return line


def incident(inc: models.Incident, name: typing.Callable[[str | None], str]) -> list[dict[str, typing.Any]]:
    """The incident's message: what it is, where it stands, and the buttons it still needs."""
    status = str(inc.status)
    state = f"{EMOJI.get(status, '')} *{status.capitalize()}*"
    if inc.status is models.IncidentStatus.ACKNOWLEDGED:
        state += f" by {_escape(name(inc.acknowledged_by))} at {_when(inc.acknowledged_at)}"
    elif inc.status is models.IncidentStatus.RESOLVED:
        state += f" by {_escape(name(inc.resolved_by))} at {_when(inc.resolved_at)}"
    blocks: list[dict[str, typing.Any]] = [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": f"*{'[DRILL] ' if inc.drill else ''}[{inc.priority.name}] #{inc.number} {_escape(inc.service)}*\n"
                f"{_escape(inc.summary)}",
            },
        },
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": f"{state} · opened {_when(inc.created_at)} · {_alerts(inc.alert_count)}"
                    + (f" · commander {_escape(name(inc.roles.commander))}" if inc.roles.commander else ""),
                }
            ],
        },
    ]
    actions = buttons(inc.number, inc.status)
    if actions:
        blocks.append({"type": "actions", "block_id": ACTIONS_BLOCK, "elements": actions})
    return blocks


def thread_reply(entry: models.TimelineEntry, name: typing.Callable[[str | None], str]) -> str:
    """A status update (or any other news) threaded under the incident's message."""
    details = entry.details or {}
    lines = [f"*Status update* from {_escape(name(entry.actor))}: {_escape(entry.message)}"]
    for key in ("status", "known", "doing", "unknown"):
        value = details.get(key)
        if isinstance(value, str) and value.strip() and value.strip() != entry.message.strip():
            lines.append(f"*{key.capitalize()}:* {_escape(value)}")
    return "\n".join(lines)
