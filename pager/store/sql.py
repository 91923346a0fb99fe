"""Named SQL blocks (`-- name: x`) from the `.sql` files beside this module, read once at import."""

from __future__ import annotations

import importlib.resources
import re


def _load() -> dict[str, str]:
    blocks: dict[str, str] = {}
    for entry in sorted(importlib.resources.files("pager.store").iterdir(), key=lambda e: e.name):
        if not entry.name.endswith(".sql"):
            continue
        text = entry.read_text(encoding="utf-8")
        for m in re.finditer(r"^-- name: (\w+)\n(.*?)(?=^-- name: |\Z)", text, re.M | re.S):
            if m[1] in blocks:
                raise RuntimeError(f"query {m[1]!r} is defined twice ({entry.name})")
            body = "\n".join(line for line in m[2].splitlines() if not line.startswith("--")).strip()
            blocks[m[1]] = body.rstrip(";")
    return blocks


QUERIES = _load()
