"""An SMS a person sends to pager's number, posted as Twilio posts it: signed for the public URL Twilio knows."""

from __future__ import annotations

import secrets
import typing
import xml.etree.ElementTree as ET

from tests.support import twilio_double


async def sms(double: twilio_double.TwilioDouble, client: typing.Any, public_url: str, from_: str, body: str) -> str:
    """Post `body` from `from_` to the daemon's inbound-SMS webhook; the text of pager's reply."""
    sid = "SM" + secrets.token_hex(16)
    params = {
        "AccountSid": double.account_sid,
        "ApiVersion": "2010-04-01",
        "Body": body,
        "From": from_,
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": "+15005550006",
    }
    signature = double.sign(f"{public_url}/v1/twilio/sms", params)
    answer = await double.post_signed(str(client.make_url("/v1/twilio/sms")), params, signature=signature)
    assert answer.status == 200, answer.text
    [message] = ET.fromstring(answer.text).findall("Message")
    return message.text or ""
