"""Text from alerts and people, made safe to put inside a Markdown document (GitHub's flavour).

Alert summaries and labels come from monitoring configs anyone can edit; in a
post-mortem they must read as plain text, never as a table border, a heading,
HTML, a link, a GitHub @mention or `$math$`. Every character that could start
inline markup is backslash-escaped (CommonMark allows escaping any ASCII
punctuation), line breaks become spaces, and the text never starts a line, so
block markup (`#`, `-`, `>`, `1.`) cannot begin either: callers put it after a
fixed prefix or inside a table cell.
"""

from __future__ import annotations

import re
import unicodedata

_AUTOLINK = re.compile(r"://|\bwww\.", re.I)
_SPECIAL = re.compile(r"([\\`*_\[\]<>#!|~@$&])")


def text(value: object, limit: int = 500) -> str:
    """`value` as inline Markdown that renders exactly as written, on one line, at most `limit` characters."""
    raw = "".join(" " if unicodedata.category(ch)[0] in "CZ" and ch != " " else ch for ch in str(value))
    raw = " ".join(raw.split())
    if len(raw) > limit:
        raw = raw[: limit - 1].rstrip() + "…"
    escaped = _SPECIAL.sub(r"\\\1", raw)
    # GitHub links bare URLs and www. names by itself (the autolink extension): break the pattern
    return _AUTOLINK.sub(lambda m: m[0].replace(":", "\\:").replace(".", "\\.", 1), escaped)


def code(value: object, limit: int = 200) -> str:
    """A short identifier as inline code; backticks inside are replaced, since code spans cannot escape them."""
    raw = " ".join(str(value).split())[:limit].replace("`", "'")
    return f"`{raw}`" if raw else ""


def row(cells: list[str]) -> str:
    """One table row of cells that are already escaped."""
    return "| " + " | ".join(c if c else " " for c in cells) + " |"


def table(header: list[str], rows: list[list[str]]) -> list[str]:
    return [row(header), "|" + "|".join("---" for _ in header) + "|", *(row(r) for r in rows)]
