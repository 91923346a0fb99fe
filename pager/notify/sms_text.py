"""The text of a page by SMS: the facts, the ack link and the reply number, in one segment.

GSM-7 fits 160 characters in one segment but UCS-2 only 70, and a single
character outside GSM-7 (a curly quote, an emoji, an en dash pasted from a
runbook) switches the whole message to UCS-2 and splits it into several
segments, which carriers deliver late, out of order or not at all. So the
summary, the only free text, is folded into GSM-7 and shortened; the link and
the number are never cut, because they are how the page gets acknowledged.
"""

from __future__ import annotations

import math
import unicodedata

from pager.notify import message

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")  # sent as escape + char: two septets each

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

SUMMARY_MIN = 30
"""The summary keeps at least this much (when it has it) before bundled numbers take room,
and a page goes over one segment rather than cutting the summary below it."""

_FOLD = {
    "…": "...",
    **dict.fromkeys("‘’‚‛′`´", "'"),
    **dict.fromkeys("“”„‟″«»", '"'),
    **dict.fromkeys("‐‑‒–—―−", "-"),
    **dict.fromkeys("•‣∙⁃", "*"),
    "→": "->",
    "⇒": "=>",
    "←": "<-",
    "↔": "<->",
    "≥": ">=",
    "≤": "<=",
    "≠": "!=",
    "≈": "~",
    "×": "x",
    "÷": "/",
    "±": "+/-",
    "°": "",
    "µ": "u",
    "©": "(c)",
    "®": "(R)",
    "™": "TM",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ı": "i",
    "œ": "oe",
    "Œ": "OE",
    "þ": "th",
    "Þ": "Th",
}


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENSION for ch in text)


def _units(text: str, gsm7: bool) -> int:
    """What `text` costs against a segment: septets in GSM-7, UTF-16 code units in UCS-2."""
    if gsm7:
        return sum(2 if ch in GSM7_EXTENSION else 1 for ch in text)
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


def length(text: str) -> int:
    """Septets if `text` is GSM-7, else UTF-16 code units: the length carriers count."""
    return _units(text, is_gsm7(text))


def segments(text: str) -> int:
    """How many SMS segments `text` takes (a concatenated message loses room to its headers)."""
    gsm7 = is_gsm7(text)
    single, part = (GSM7_SINGLE, GSM7_PART) if gsm7 else (UCS2_SINGLE, UCS2_PART)
    units = _units(text, gsm7)
    return 1 if units <= single else math.ceil(units / part)


def _fold_char(ch: str) -> str:
    if ch in _FOLD:
        return _FOLD[ch]
    category = unicodedata.category(ch)
    if ch.isspace() or category.startswith("C"):
        return " "
    if ch in GSM7_BASIC or ch in GSM7_EXTENSION:
        return ch
    base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    if base and base != ch and is_gsm7(base) and not any(c in _FOLD or c.isspace() for c in base):
        return base
    return "?" if category[0] in "LN" else ""


def to_gsm7(text: str) -> str:
    """Fold free text into one line of GSM-7: accents dropped where GSM-7 lacks them,
    typographic punctuation made plain, unknown letters shown as '?', emoji and symbols dropped."""
    return " ".join("".join(_fold_char(ch) for ch in text).split())


def _one_line(text: str) -> str:
    return " ".join("".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in text).split())


def _truncate(text: str, room: int, gsm7: bool) -> str:
    if _units(text, gsm7) <= room:
        return text
    ellipsis = "..." if gsm7 else "…"  # '…' is not in GSM-7; it only costs nothing extra in UCS-2
    budget = room - _units(ellipsis, gsm7)
    out, used = [], 0
    for ch in text:
        cost = _units(ch, gsm7)
        if used + cost > budget:
            break
        out.append(ch)
        used += cost
    return "".join(out).rstrip() + ellipsis


def _bundle(more: tuple[tuple[int, str], ...], room: int, gsm7: bool) -> str:
    """'\\n+3 more: #12 #13 #14', listing as many numbers as fit; the count is always kept."""
    if not more:
        return ""
    count = f"\n+{len(more)} more"
    full = count + ":" + "".join(f" #{number}" for number, _ in more)
    if _units(full, gsm7) <= room:
        return full
    shown = ""
    for number, _ in more:
        candidate = shown + f" #{number}"
        if _units(count + ":" + candidate + " ...", gsm7) > room:
            break
        shown = candidate
    return count + ":" + shown + " ..." if shown else count


CHANGE_MIN = 8
"""The change a page names ("after deploy ...") keeps at least this much of its text, or is left out."""


def _reminder(msg: message.Message) -> str:
    """`[P0] checkout #1234: status update overdue. Post one: https://…/u/Xk3… or reply: update 1234 <status>`."""
    tail = f" #{msg.number}: status update overdue. Post one: {msg.update_url} or reply: update {msg.number} <status>"
    head = f"{msg.prefix}[{msg.priority.name}] "
    service = to_gsm7(msg.service)
    return head + _truncate(service, max(GSM7_SINGLE - _units(head + tail, True), 4), True) + tail


def render(msg: message.Message) -> str:
    """`[P0] checkout: 5xx above 5% #1234 ack: https://pager.example.com/a/Xk3… or reply 1234`.

    Room is given in this order: the link and the number (never cut), the summary's first
    SUMMARY_MIN characters, the bundled count, then, when they fit, Grafana's dashboard link (whole
    or not at all) and the change the incident followed (" (after deploy ...)"), then the rest of
    the summary and the bundled numbers.
    """
    if msg.reminder:
        return _reminder(msg)
    head = f"{msg.prefix}[{msg.priority.name}] {msg.service}:"
    if msg.ack_url:
        tail = f" #{msg.number} ack: {msg.ack_url} or reply {msg.number}"
    else:
        tail = f" #{msg.number} reply {msg.number} to ack"
    numbers = "".join(f" #{number}" for number, _ in msg.more)
    dash = f" dash: {msg.dashboard_url}" if msg.dashboard_url else ""
    gsm7 = is_gsm7(head + tail + numbers + dash)
    summary = to_gsm7(msg.summary) if gsm7 else _one_line(msg.summary)
    change = (to_gsm7(msg.after_change) if gsm7 else _one_line(msg.after_change)) if msg.after_change else ""
    single = GSM7_SINGLE if gsm7 else UCS2_SINGLE

    room = single - _units(head + tail, gsm7)
    summary_keep = min(_units(" " + summary, gsm7), 1 + SUMMARY_MIN) if summary else 0
    bundle = _bundle(msg.more, room - summary_keep, gsm7)
    spare = room - summary_keep - _units(bundle, gsm7)
    if dash and _units(dash, gsm7) <= spare:
        spare -= _units(dash, gsm7)
    else:
        dash = ""
    note = ""
    if change:
        frame = _units(" (after deploy )", gsm7)
        wanted = min(_units(change, gsm7), CHANGE_MIN)
        if frame + wanted <= spare:
            note = f" (after deploy {_truncate(change, spare - frame, gsm7)})"
    summary_room = max(room - _units(bundle + dash + note, gsm7), summary_keep)
    if summary:
        summary = _truncate(summary, summary_room - 1, gsm7)
    return head + (" " + summary if summary else "") + note + tail + dash + bundle
