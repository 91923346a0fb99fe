"""How a responder acknowledges from a phone: a secret link, or a reply to the SMS.

The link carries a random token that alone grants ack/resolve of one incident
for one person, so only its hash is stored: a leaked database does not leak
working links. A reply names the incident by its short number, which the
sender's phone number (checked by the caller) makes safe enough to act on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import secrets

from pager import models

TOKEN_BYTES = 16  # 128 bits; 22 URL-safe characters keep the ack link inside one SMS segment

_VERBS = {
    "a": models.Action.ACKNOWLEDGE,
    "ack": models.Action.ACKNOWLEDGE,
    "acknowledge": models.Action.ACKNOWLEDGE,
    "r": models.Action.RESOLVE,
    "res": models.Action.RESOLVE,
    "resolve": models.Action.RESOLVE,
    "resolved": models.Action.RESOLVE,
}
_REPLY = re.compile(
    r"^[\W_]*(?:(?P<verb>[a-z]+)[\W_]*)?#?(?P<number>[0-9]{1,18})[\W_]*$",
    re.IGNORECASE,
)


@dataclasses.dataclass(frozen=True, slots=True)
class Reply:
    action: models.Action
    number: int


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def ack_url(base_url: str, token: str) -> str:
    """The link an SMS or email carries: `GET` shows the incident, `POST` acts (see web)."""
    return f"{base_url.rstrip('/')}/a/{token}"


def parse_reply(text: str) -> Reply | None:
    """`1234`, `ack 1234`, `a 1234` acknowledge; `res 1234`, `resolve 1234`, `r 1234` resolve.

    Case, a '#', and whitespace or punctuation around the words are tolerated
    ('Ack #1234!'); anything else is not understood and answers None, so the
    caller can reply with help instead of guessing.
    """
    m = _REPLY.match(text.strip())
    if not m:
        return None
    verb = (m["verb"] or "ack").lower()
    action = _VERBS.get(verb)
    number = int(m["number"])
    if action is None or number <= 0:
        return None
    return Reply(action, number)
