"""Bearer tokens: integration tokens for webhooks, API tokens for /api/v1. Compared in constant time."""

from __future__ import annotations

import hmac
import typing

from aiohttp import web

from pager import config


def bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _match(candidate: str, tokens: typing.Iterable[tuple[str, str]]) -> str | None:
    """The id whose token equals `candidate`; every token is compared, so timing tells nothing."""
    found = None
    given = candidate.encode()
    for ident, token in tokens:
        if hmac.compare_digest(given, token.encode()) and found is None:
            found = ident
    return found


def integration(settings: config.Settings, token: str, kind: str) -> config.Integration | None:
    by_id = {i.id: i for i in settings.config.integrations if i.type == kind}
    tokens = [(ident, t) for ident, t in settings.secrets.integration_tokens.items() if ident in by_id]
    ident = _match(token, tokens)
    return None if ident is None else by_id[ident]


def api_token_ok(settings: config.Settings, token: str | None) -> bool:
    if token is None:
        return False
    return _match(token, (("api", t) for t in settings.secrets.api_tokens)) is not None
