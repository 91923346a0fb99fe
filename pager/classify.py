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
MEMO_MAX = 10_000
"""Decisions remembered per configuration; past this many distinct label sets the memory starts afresh."""

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


class _Decider:
    """Routing and ranking for one configuration, remembered by the values of the labels its matchers read.

    Both are pure functions of those values (a missing label reads as ""), so alerts of one webhook,
    which mostly differ only in labels no matcher names (instance, pod), are decided once.
    """

    def __init__(self, cfg: config.Config) -> None:
        names = {m.name for rule in cfg.classification for m in rule.matchers}
        names |= {m.name for service in cfg.services for m in service.matchers}
        self._cfg = cfg
        self._names = tuple(sorted(names))
        self._memo: dict[tuple[str, ...], tuple[models.Priority, str, tuple[Blast, ...], str | None]] = {}

    def __call__(
        self, labels: typing.Mapping[str, str], default_service: str
    ) -> tuple[models.Priority, str, tuple[Blast, ...], str]:
        key = tuple([labels.get(n, "") for n in self._names])
        found = self._memo.get(key)
        if found is None:
            priority, rule, blast = classify_with_blast(labels, self._cfg.classification)
            service = routing.route(labels, "", self._cfg.services) or None
            if len(self._memo) >= MEMO_MAX:
                self._memo.clear()
            found = self._memo[key] = (priority, rule, blast, service)
        return found[0], found[1], found[2], found[3] or default_service


_deciders: dict[int, tuple[config.Config, _Decider]] = {}


def _decider(cfg: config.Config) -> _Decider:
    entry = _deciders.get(id(cfg))
    if entry is None or entry[0] is not cfg:
        if len(_deciders) >= 8:  # configurations come and go only on reload (and in tests)
            _deciders.clear()
        entry = _deciders[id(cfg)] = (cfg, _Decider(cfg))
    return entry[1]


def classify_alerts(
    alerts: typing.Iterable[models.Alert], integration: config.Integration, cfg: config.Config
) -> list[models.Classified]:
    """Route and rank each alert of one request received by `integration`."""
    decide = _decider(cfg)
    default = integration.service
    out = []
    for alert in alerts:
        priority, rule, blast, service = decide(alert.labels, default)
        if alert.action is not models.Action.TRIGGER:
            blast = ()  # only firing alerts count toward a blast radius
        out.append(models.Classified(alert=alert, service=service, priority=priority, rule=rule, blast=blast))
    return out
