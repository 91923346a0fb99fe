"""Channel adapters: one module per channel of `pager.channels.REGISTRY`, each with `build(...)`.

Only the enabled channels' adapters are imported, so a channel's library (twilio,
aiosmtplib, ...) is loaded when that channel is configured.
"""

from __future__ import annotations

import importlib

from pager import channels, config
from pager.notify import message


def build(settings: config.Settings) -> dict[str, message.Notifier]:
    """One notifier per enabled channel, in the registry's order (which is also the fallback order)."""
    notifiers: dict[str, message.Notifier] = {}
    for name in settings.enabled_channels():
        found = settings.channel(name)
        assert found is not None
        section, secrets = found
        adapter = importlib.import_module(channels.spec(name).adapter)
        notifiers[name] = adapter.build(section, secrets, settings.config.server)
    return notifiers
