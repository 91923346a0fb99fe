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


_T = typing.TypeVar("_T")


def _match(candidate: str, tokens: typing.Iterable[tuple[_T, str]]) -> _T | None:
    """What the token equal to `candidate` names; every token is compared, so timing tells nothing."""
    found = None
    given = candidate.encode()
    for owner, token in tokens:
        if hmac.compare_digest(given, token.encode()) and found is None:
            found = owner
    return found


def integration(settings: config.Settings, token: str, kind: str) -> config.Integration | None:
    return _match(token, settings.integrations(kind))


def api_token(settings: config.Settings, token: str | None) -> config.ApiToken | None:
    """The configured API token equal to `token` (its name and scope), or None."""
    if token is None:
        return None
    return _match(token, ((k, k.value) for k in settings.secrets.api_keys))


def api_token_ok(settings: config.Settings, token: str | None) -> bool:
    return api_token(settings, token) is not None


READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def allows(key: config.ApiToken, method: str) -> bool:
    """A read-only token may read, never write (POST, PUT, PATCH, DELETE)."""
    return not key.read_only or method.upper() in READ_METHODS
