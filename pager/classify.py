"""Rank an alert P0–P3 by the `classification` rules: the first rule whose matchers all match wins."""

from __future__ import annotations

import typing

from pager import config, matchers, models, routing

DEFAULT_PRIORITY = models.Priority.P3
DEFAULT_RULE = "default"  # names the fallback when no rule matches (an empty or exhausted list)


def classify(labels: typing.Mapping[str, str], rules: typing.Sequence[config.Rule]) -> tuple[models.Priority, str]:
    """The priority and the name of the rule that chose it, e.g. 'classification[1]', for the timeline."""
    for i, rule in enumerate(rules):
        if matchers.matches_all(rule.matchers, labels):
            return rule.priority, f"classification[{i}]"
    return DEFAULT_PRIORITY, DEFAULT_RULE


def classify_alerts(
    alerts: typing.Iterable[models.Alert], integration: config.Integration, cfg: config.Config
) -> list[models.Classified]:
    """Route and rank each alert of one request received by `integration`."""
    out = []
    for alert in alerts:
        priority, rule = classify(alert.labels, cfg.classification)
        service = routing.route(alert.labels, integration.service, cfg.services)
        out.append(models.Classified(alert=alert, service=service, priority=priority, rule=rule))
    return out
