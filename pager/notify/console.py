"""Pages printed to the terminal, so a first run with no Twilio or SMTP shows what would be sent."""

from __future__ import annotations

import itertools
import sys
import typing

from pager.notify import message


def render(msg: message.Message) -> str:
    if msg.reminder:
        return (
            f"=== STATUS UPDATE OVERDUE {msg.priority.name} for {msg.user_name} ({msg.user_id}) via {msg.channel} ===\n"
            f"#{msg.number} {msg.service}: {msg.summary}\n  post one: {msg.update_url}\n"
        )
    lines = [
        f"=== {msg.prefix}PAGE {msg.priority.name} for {msg.user_name} ({msg.user_id}) via {msg.channel} ===",
        f"#{msg.number} {msg.service}: {msg.summary}",
    ]
    if msg.ack_url:
        lines.append(f"  acknowledge or resolve: {msg.ack_url}")
    if msg.runbook_url:
        lines.append(f"  runbook: {msg.runbook_url}")
    if msg.dashboard_url:
        lines.append(f"  dashboard: {msg.dashboard_url}")
    if msg.after_change:
        lines.append(f"  after deploy: {msg.after_change}")
    if msg.more:
        lines.append(f"  +{len(msg.more)} more open for you:")
        lines.extend(f"    #{number} {summary}" for number, summary in msg.more)
    return "\n".join(lines) + "\n"


class ConsoleNotifier:
    """Writes each page to `stream` (stdout by default); it always succeeds."""

    def __init__(self, stream: typing.TextIO | None = None) -> None:
        self._stream = stream
        self._ids = itertools.count(1)

    async def send(self, msg: message.Message) -> message.Outcome:
        stream = self._stream or sys.stdout
        stream.write(render(msg))
        stream.flush()
        return message.Outcome.sent(f"console-{next(self._ids)}")

    async def send_mail(self, mail: typing.Any) -> message.Outcome:
        """A stakeholder email, printed as it would be sent."""
        stream = self._stream or sys.stdout
        stream.write(f"=== MAIL to {mail['To']} ===\nSubject: {mail['Subject']}\n\n{mail.get_content()}")
        stream.flush()
        return message.Outcome.sent(f"console-{next(self._ids)}")

    async def aclose(self) -> None:
        return None


def build(section: typing.Any, secrets: typing.Mapping[str, str], server: typing.Any) -> ConsoleNotifier:
    return ConsoleNotifier()
