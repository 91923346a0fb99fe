"""The one registry of channels: what each is called, its settings, how a user is reached on it, its adapter.

Adding a channel is an entry here (with its `notifiers.<name>` settings model)
plus its adapter module under `pager.notify`, which exposes
`build(section, secrets, server) -> message.Notifier`. Everything else —
config validation of `priorities.*.channels`, which channels are enabled,
users' addresses, the sender's throttle, fallback order — reads this registry.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing

import pydantic

from pager import values


@dataclasses.dataclass(frozen=True)
class Throttle:
    """At most `limit` messages per `window` to one contact on a channel (GoAlert: 5 SMS per 15 min)."""

    limit: int = 5
    window: datetime.timedelta = datetime.timedelta(minutes=15)


class Sms(values.Model):
    """Twilio Programmable Messaging, or any server speaking its API at `api_base`.

    `shared_keys_env` names the secrets of Twilio SharedKeys (webhook signing keys, HMAC-SHA256): a
    callback carrying `X-Twilio-Webhooks-Signature-Settings` is checked against them; one without, against
    the auth token (HMAC-SHA1). Two keys let a rotation run without a gap.
    """

    account_sid_env: values.EnvName = "TWILIO_ACCOUNT_SID"
    auth_token_env: values.EnvName = "TWILIO_AUTH_TOKEN"
    from_number: values.Phone | None = pydantic.Field(default=None, alias="from")
    messaging_service_sid: str | None = None
    api_base: str = "https://api.twilio.com"
    shared_keys_env: list[values.EnvName] = []

    @pydantic.model_validator(mode="after")
    def _sender(self) -> Sms:
        if not self.from_number and not self.messaging_service_sid:
            raise ValueError("set `from` (a Twilio number) or `messaging_service_sid`")
        return self


class Voice(values.Model):
    """Twilio Programmable Voice: a call that reads the page and takes a keypress (1 ack, 2 resolve, 3 escalate).

    Every field left out is `notifiers.sms`'s: the same account, token, number and `api_base`.
    """

    account_sid_env: values.EnvName | None = None
    auth_token_env: values.EnvName | None = None
    from_number: values.Phone | None = pydantic.Field(default=None, alias="from")
    api_base: str | None = None
    shared_keys_env: list[values.EnvName] | None = None
    ring_for: values.Duration = datetime.timedelta(seconds=30)  # Twilio's Timeout: then the call is no-answer


class Slack(values.Model):
    """A Slack app's bot (or any server speaking Slack's Web API at `api_base`): incident messages with buttons.

    Buttons post to `/v1/slack/interactive`, checked with the app's signing secret.
    """

    bot_token_env: values.EnvName = "SLACK_BOT_TOKEN"
    signing_secret_env: values.EnvName = "SLACK_SIGNING_SECRET"
    api_base: str = "https://slack.com/api/"


class Email(values.Model):
    """An SMTP relay; STARTTLS or TLS and login when the relay asks for them."""

    host: str = "localhost"
    port: int = pydantic.Field(default=25, gt=0, lt=65536)
    from_address: str = pydantic.Field(default="pager@localhost", alias="from")
    username_env: values.EnvName | None = None
    password_env: values.EnvName | None = None
    starttls: bool = False
    tls: bool = False
    timeout: values.Duration = datetime.timedelta(seconds=10)


class Console(values.Model):
    """Pages printed in the terminal: what a new user sees before Twilio or SMTP is set up."""

    enabled: bool = True


@dataclasses.dataclass(frozen=True)
class Spec:
    name: str
    label: str  # how messages about the channel name it ("SMS disabled")
    settings: type[values.Model]  # the `notifiers.<name>` section
    adapter: str  # module with build(section, secrets, server) -> Notifier
    contact: str | None = None  # the user field holding the address; None: the user id (no contact needed)
    required: tuple[str, ...] = ()  # settings fields naming environment variables that must be set
    default: values.Model | None = None  # the section when the file has none; None: off unless configured
    throttle: Throttle | None = None
    inherits: str | None = None  # a channel whose section fills the fields this one leaves unset (None)

    def section(self, notifiers: typing.Any) -> values.Model | None:
        """This channel's section of `notifiers` (or its default), with unset fields taken from `inherits`'s."""
        own = getattr(notifiers, self.name, None) or self.default
        parent = getattr(notifiers, self.inherits, None) if own is not None and self.inherits else None
        if parent is None:
            return own
        fill = {
            name: getattr(parent, name)
            for name in type(own).model_fields
            if getattr(own, name) is None and getattr(parent, name, None) is not None
        }
        return own.model_copy(update=fill) if fill else own

    def active(self, section: values.Model | None) -> bool:
        """Configured and not switched off (secrets are checked by the caller)."""
        return section is not None and getattr(section, "enabled", True)

    def address(self, user: typing.Any) -> str | None:
        """Where a page on this channel goes for `user`; None when the user has no such contact."""
        if self.contact is None:
            return user.id
        return getattr(user, self.contact, None) or None


REGISTRY: dict[str, Spec] = {
    spec.name: spec
    for spec in (
        Spec(
            "sms",
            "SMS",
            Sms,
            "pager.notify.sms",
            contact="phone",
            required=("account_sid_env", "auth_token_env"),
            throttle=Throttle(),
        ),
        Spec("email", "email", Email, "pager.notify.email", contact="email"),
        Spec("console", "console", Console, "pager.notify.console", default=Console()),
        Spec(
            "voice",
            "voice",
            Voice,
            "pager.notify.voice",
            contact="phone",
            required=("account_sid_env", "auth_token_env"),
            throttle=Throttle(limit=3),
            inherits="sms",
        ),
        Spec(
            "slack",
            "Slack",
            Slack,
            "pager.notify.slack",
            contact="slack_id",
            required=("bot_token_env", "signing_secret_env"),
        ),
    )
}

NAMES = tuple(REGISTRY)
Name = typing.Literal[NAMES]  # type: ignore[valid-type] - the registry decides which names a file may use


def spec(name: str) -> Spec:
    return REGISTRY[name]


def secrets_of(section: values.Model, env: typing.Mapping[str, str]) -> dict[str, typing.Any]:
    """The values of every `*_env` field of `section` that is set in `env`, keyed by the field less `_env`.

    A field naming a list of variables (`shared_keys_env`) gives the tuple of those that are set.
    """
    found: dict[str, typing.Any] = {}
    for field in type(section).model_fields:
        if field.endswith("_env"):
            name = getattr(section, field)
            if isinstance(name, list):
                if values_set := tuple(env[n] for n in name if env.get(n)):
                    found[field.removesuffix("_env")] = values_set
            elif name and env.get(name):
                found[field.removesuffix("_env")] = env[name]
    return found
