"""Rank an alert P0–P3 by the `classification` rules: the first rule whose matchers all match wins.

A rule with `min_firing: N` is a blast radius: it never ranks one alert alone, but an
incident once N of its firing alerts match it. Such a rule that an alert matches ahead of
the rule that ranks it is carried with the alert (`Classified.blast`), and the store
counts the incident's firing alerts that carry it (pager_ingest).
"""

from __future__ import annotations

import typing

from pager import config, matchers, models, routing

DEFAULT_PRIORITY = models.Priority.P3
DEFAULT_RULE = "default"  # names the fallback when no rule matches (an empty or exhausted list)

Blast = tuple[str, int, models.Priority]
"""(rule name, min_firing, priority): a blast-radius rule an alert matches."""


def classify(labels: typing.Mapping[str, str], rules: typing.Sequence[config.Rule]) -> tuple[models.Priority, str]:
    """The priority and the name of the rule that chose it, e.g. 'classification[1]', for the timeline."""
    priority, rule, _ = classify_with_blast(labels, rules)
    return priority, rule


def classify_with_blast(
    labels: typing.Mapping[str, str], rules: typing.Sequence[config.Rule]
) -> tuple[models.Priority, str, tuple[Blast, ...]]:
    """As `classify`, with the blast-radius rules this alert matches before the one that ranks it."""
    blast: list[Blast] = []
    for i, rule in enumerate(rules):
        if not matchers.matches_all(rule.matchers, labels):
            continue
        if rule.min_firing is None:
            return rule.priority, f"classification[{i}]", tuple(blast)
        blast.append((f"classification[{i}]", rule.min_firing, rule.priority))
    return DEFAULT_PRIORITY, DEFAULT_RULE, tuple(blast)


def classify_alerts(
    alerts: typing.Iterable[models.Alert], integration: config.Integration, cfg: config.Config
) -> list[models.Classified]:
    """Route and rank each alert of one request received by `integration`."""
    out = []
    for alert in alerts:
        priority, rule, blast = classify_with_blast(alert.labels, cfg.classification)
        if alert.action is not models.Action.TRIGGER:
            blast = ()  # only firing alerts count toward a blast radius
        service = routing.route(alert.labels, integration.service, cfg.services)
        out.append(models.Classified(alert=alert, service=service, priority=priority, rule=rule, blast=blast))
    return out
