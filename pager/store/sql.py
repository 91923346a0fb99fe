"""Named SQL blocks from `queries.sql`, read once at import."""

from __future__ import annotations

import importlib.resources
import re


def _load() -> dict[str, str]:
    text = (importlib.resources.files("pager.store") / "queries.sql").read_text(encoding="utf-8")
    blocks: dict[str, str] = {}
    for m in re.finditer(r"^-- name: (\w+)\n(.*?)(?=^-- name: |\Z)", text, re.M | re.S):
        body = "\n".join(line for line in m[2].splitlines() if not line.startswith("--")).strip()
        blocks[m[1]] = body.rstrip(";")
    return blocks


QUERIES = _load()
