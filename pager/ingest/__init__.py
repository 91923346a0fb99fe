"""Wire formats in, `models.Alert` out: one pure module per format, all failing the same way.

A body that can never be accepted raises `InvalidPayload`, which the web layer
answers with a 4xx so the sender stops retrying it (Alertmanager drops on 4xx).
"""

from __future__ import annotations

import re

_NUL_ESCAPE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u0000")


class InvalidPayload(Exception):
    """The body is wrong for good; `errors` holds one message per problem, each naming its field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


def without_nul(body: bytes) -> bytes:
    """The JSON body with every escaped U+0000 made U+FFFD.

    JSON may carry NUL in a string, PostgreSQL text may not; refusing the alert for it
    would lose a page over a character nobody reads. An escaped backslash followed by
    "u0000" is text, not NUL, and is left alone.
    """
    if b"\\u0000" not in body:
        return body
    return _NUL_ESCAPE.sub(rb"\1\\ufffd", body)
