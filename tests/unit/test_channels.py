"""The channel registry is the one list of channels: config, users' addresses and adapters all follow it."""

from __future__ import annotations

import importlib
import typing

import pytest

from pager import channels, config
from tests import support


def test_the_names_a_file_may_use_are_the_registry_s():
    assert typing.get_args(channels.Name) == channels.NAMES == tuple(channels.REGISTRY)


@pytest.mark.parametrize("name", channels.NAMES)
def test_every_channel_has_an_adapter_that_builds_it(name):
    adapter = importlib.import_module(channels.spec(name).adapter)
    assert callable(adapter.build)


def test_an_unknown_channel_in_a_priority_is_an_error_naming_the_path():
    with pytest.raises(config.ConfigError) as caught:
        support.settings("priorities: {P0: {channels: [sms, pigeon]}}")
    assert caught.value.errors == [
        "priorities.P0.channels[1]: Input should be 'sms', 'email', 'console', 'voice' or 'slack'"
    ]


def test_users_are_reached_at_the_contact_their_channel_names():
    alice = support.settings().config.user("alice")
    assert alice is not None
    assert [alice.address(c) for c in ("sms", "email", "console", "pigeon")] == [
        "+15551230001",
        "alice@example.com",
        "alice",
        None,
    ]


def test_a_channel_missing_a_secret_is_disabled_with_the_variables_named():
    settings = support.settings('notifiers: {sms: {from: "+15005550006"}, console: {enabled: false}}')
    assert settings.enabled_channels() == ()
    assert "notifiers.sms: $TWILIO_ACCOUNT_SID, $TWILIO_AUTH_TOKEN not set; SMS disabled" in settings.warnings
    env = {**support.ENV, "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t"}
    settings = support.settings('notifiers: {sms: {from: "+15005550006"}}', env)
    assert settings.enabled_channels() == ("sms", "console")
    assert settings.channel("sms")[1] == {"account_sid": "AC1", "auth_token": "t"}
