"""Is this request from Twilio? Its signature, classic or new, checked against the channel's secrets.

Twilio signs every webhook in `X-Twilio-Signature`: the full URL it called
followed by the sorted POST parameters, as an HMAC. Classic signatures are
HMAC-SHA1 keyed with the account's auth token. A Twilio Webhooks Rule can sign
with a SharedKey instead (HMAC-SHA256 and whatever algorithms Twilio adds);
such a request says so in `X-Twilio-Webhooks-Signature-Settings:
key=...,algorithm=HMAC_SHA256` and is checked against the configured
`shared_keys_env` secrets, never the auth token. Twilio signs the URL it was
configured with, which behind a proxy is the public one, so that is the URL
checked.
"""

from __future__ import annotations

import typing

from aiohttp import web
from twilio import request_validator

from pager import config

SIGNATURE = request_validator.SIGNATURE_HEADER
SETTINGS = request_validator.SIGNATURE_SETTINGS_HEADER


def verified(request: web.Request, settings: config.Settings, params: typing.Any, channel: str = "sms") -> bool:
    """Whether `request` (with its POST `params`) carries a valid signature for `channel`'s Twilio account."""
    signature = request.headers.get(SIGNATURE)
    found = settings.channel(channel)
    if not signature or found is None:
        return False
    secrets = found[1]
    url = settings.config.server.base_url() + request.path_qs
    scheme = request.headers.get(SETTINGS)
    if scheme:
        algorithm = request_validator.get_signature_algorithm(scheme)
        keys: typing.Iterable[str] = secrets.get("shared_keys", ())
    else:
        algorithm = request_validator.HMAC_SHA1
        keys = (secrets["auth_token"],) if secrets.get("auth_token") else ()
    return any(request_validator.RequestValidator(key).validate(url, params, signature, algorithm) for key in keys)
