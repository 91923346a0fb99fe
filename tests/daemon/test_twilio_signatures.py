"""Both of Twilio's webhook signatures: classic HMAC-SHA1 with the auth token, and a SharedKey's HMAC-SHA256."""

from __future__ import annotations

from tests import support
from tests.support import twilio_double

PUBLIC = "https://pager.example.com"
KEY = ("webhooks_sharedkey_0123456789abcdef", "shared-key-secret-of-32-characters!")


def settings(keys_env: str = "[TWILIO_SHARED_KEY, TWILIO_SHARED_KEY_NEXT]", env_extra: dict | None = None):
    env = {
        **support.ENV,
        "TWILIO_ACCOUNT_SID": twilio_double.ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": twilio_double.AUTH_TOKEN,
        "TWILIO_SHARED_KEY_NEXT": KEY[1],
        **(env_extra or {}),
    }
    return support.settings(
        f"""
server: {{public_url: "{PUBLIC}"}}
notifiers: {{sms: {{from: "+15005550006", api_base: "http://127.0.0.1:9", shared_keys_env: {keys_env}}}}}
""",
        env,
    )


async def reply(client, double, body="hello"):
    double.route = (PUBLIC, str(client.make_url("")).rstrip("/"))
    return await double.post_inbound_sms(f"{PUBLIC}/v1/twilio/sms", from_="+15551230001", body=body)


async def test_a_shared_key_s_hmac_sha256_signature_is_accepted_beside_the_classic_one(make_client):
    client = await make_client(settings())
    classic = twilio_double.TwilioDouble()
    assert (await reply(client, classic)).status == 200
    rule = twilio_double.TwilioDouble()
    rule.shared_key = KEY  # the second key of a rotation: either configured key verifies
    assert (await reply(client, rule)).status == 200


async def test_a_sha256_signature_with_an_unknown_key_or_the_auth_token_is_refused(make_client):
    client = await make_client(settings())
    wrong = twilio_double.TwilioDouble()
    wrong.shared_key = (KEY[0], "some-other-secret")
    assert (await reply(client, wrong)).status == 403
    token_as_key = twilio_double.TwilioDouble()
    token_as_key.shared_key = (KEY[0], twilio_double.AUTH_TOKEN)  # the settings header means: not the auth token
    assert (await reply(client, token_as_key)).status == 403


async def test_without_shared_keys_configured_a_sha256_signature_is_refused(make_client):
    client = await make_client(settings(keys_env="[]"))
    rule = twilio_double.TwilioDouble()
    rule.shared_key = KEY
    assert (await reply(client, rule)).status == 403
    assert (await reply(client, twilio_double.TwilioDouble())).status == 200
