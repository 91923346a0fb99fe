"""Classification: first matching rule sets the priority; the rule's name is kept for the timeline."""

from __future__ import annotations

import pytest

from pager import classify, config, models

P = models.Priority
DEFAULTS = config.Config().classification
CUSTOM = config.parse(
    {
        "classification": [
            {"matchers": ['env="prod"', 'severity="critical"'], "priority": "P0"},
            {"matchers": ['env="prod"', 'team!~"batch|etl"'], "priority": "P1"},
            {"matchers": ['severity!="info"'], "priority": "p2"},
        ]
    }
).classification


@pytest.mark.parametrize(
    "labels, expected",
    [
        ({"severity": "critical"}, (P.P0, "classification[0]")),
        ({"severity": "error"}, (P.P1, "classification[1]")),
        ({"severity": "major"}, (P.P1, "classification[1]")),
        ({"severity": "errors"}, (P.P3, "classification[3]")),  # regex is anchored
        ({"severity": "warning"}, (P.P2, "classification[2]")),
        ({"severity": "Critical"}, (P.P3, "classification[3]")),  # values are case-sensitive, as in Alertmanager
        ({}, (P.P3, "classification[3]")),  # the last default rule has no matchers and matches everything
    ],
)
def test_default_ladder(labels: dict, expected: tuple) -> None:
    assert classify.classify(labels, DEFAULTS) == expected


@pytest.mark.parametrize(
    "labels, expected",
    [
        ({"env": "prod", "severity": "critical", "team": "etl"}, (P.P0, "classification[0]")),  # first match wins
        ({"env": "prod", "severity": "warning"}, (P.P1, "classification[1]")),  # missing team: != / !~ match ""
        ({"env": "prod", "team": "etl", "severity": "warning"}, (P.P2, "classification[2]")),
        ({"env": "prod", "team": "etl-nightly", "severity": "info"}, (P.P1, "classification[1]")),
        ({"env": "dev"}, (P.P2, "classification[2]")),  # severity missing: != "info" matches
        ({"env": "dev", "severity": "info"}, (P.P3, "default")),  # nothing matches
    ],
)
def test_custom_rules(labels: dict, expected: tuple) -> None:
    assert classify.classify(labels, CUSTOM) == expected


def test_no_rules_at_all() -> None:
    assert classify.classify({"severity": "critical"}, []) == (P.P3, "default")


def test_classify_alerts_routes_and_ranks_each_alert() -> None:
    cfg = config.parse(
        {
            "services": [{"id": "checkout", "matchers": ['service="checkout"']}, {"id": "ops"}],
            "integrations": [{"id": "am", "type": "alertmanager", "token_env": "AM_TOKEN", "service": "ops"}],
        }
    )

    def alert(fingerprint: str, **labels: str) -> models.Alert:
        return models.Alert("group", fingerprint, models.Action.TRIGGER, "s", labels)

    alerts = [alert("a", service="checkout", severity="critical"), alert("b", severity="warning"), alert("c")]
    got = classify.classify_alerts(alerts, cfg.integrations[0], cfg)
    assert got == [
        models.Classified(alerts[0], "checkout", P.P0, "classification[0]"),
        models.Classified(alerts[1], "ops", P.P2, "classification[2]"),
        models.Classified(alerts[2], "ops", P.P3, "classification[3]"),
    ]
