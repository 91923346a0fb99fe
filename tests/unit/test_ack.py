from __future__ import annotations

import hashlib
import re

import pytest

from pager import ack, models

ACK = models.Action.ACKNOWLEDGE
RESOLVE = models.Action.RESOLVE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234", (ACK, 1234)),
        ("  1234\n", (ACK, 1234)),
        ("#1234", (ACK, 1234)),
        ("1234.", (ACK, 1234)),
        ("ack 1234", (ACK, 1234)),
        ("ACK 1234", (ACK, 1234)),
        ("Ack #1234!", (ACK, 1234)),
        ("ack: 1234", (ACK, 1234)),
        ("a 1234", (ACK, 1234)),
        ("A1234", (ACK, 1234)),
        ("acknowledge 1234", (ACK, 1234)),
        ("'ack 7'", (ACK, 7)),
        ("ack 1234 👍", (ACK, 1234)),
        ("res 1234", (RESOLVE, 1234)),
        ("Resolve 1234", (RESOLVE, 1234)),
        ("resolved #1234.", (RESOLVE, 1234)),
        ("r 1234", (RESOLVE, 1234)),
        ("R  42 ", (RESOLVE, 42)),
        ("", None),
        ("   ", None),
        ("ack", None),
        ("hello", None),
        ("STOP", None),
        ("yes 1234", None),
        ("ack 12 13", None),
        ("1234 5678", None),
        ("ack 12a", None),
        ("ack -", None),
        ("0", None),
        ("ack 0000", None),
        ("1" * 19, None),
        ("ack 1234 please", None),
    ],
)
def test_parse_reply(text: str, expected: tuple[models.Action, int] | None) -> None:
    reply = ack.parse_reply(text)
    assert (None if reply is None else (reply.action, reply.number)) == expected


def test_tokens_are_long_random_and_url_safe() -> None:
    tokens = {ack.new_token() for _ in range(1000)}
    assert len(tokens) == 1000
    for token in tokens:
        assert re.fullmatch(r"[A-Za-z0-9_-]{22,}", token)


def test_tokens_are_stored_as_sha256() -> None:
    token = ack.new_token()
    assert ack.hash_token(token) == hashlib.sha256(token.encode()).digest()
    assert ack.hash_token(token) != ack.hash_token(ack.new_token())
    assert len(ack.hash_token(token)) == 32


@pytest.mark.parametrize("base", ["https://pager.example.com", "https://pager.example.com/"])
def test_ack_url(base: str) -> None:
    assert ack.ack_url(base, "tok") == "https://pager.example.com/a/tok"
