"""Which service an alert belongs to: the first service (in config order) whose matchers all match.

A service without matchers is never chosen by labels; it is reached only as an
integration's default, so adding a catch-all service cannot silently steal alerts.
"""

from __future__ import annotations

import typing

from pager import config, matchers


def route(labels: typing.Mapping[str, str], default_service: str, services: typing.Sequence[config.Service]) -> str:
    for service in services:
        if service.matchers and matchers.matches_all(service.matchers, labels):
            return service.id
    return default_service
