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


def test_decisions_remembered_across_requests_depend_only_on_the_labels_the_matchers_read() -> None:
    doc = {
        "classification": [{"matchers": ['severity=~"crit.*"'], "priority": "P0"}, {"priority": "P2"}],
        "services": [{"id": "db", "matchers": ['team="db"']}, {"id": "web", "matchers": ['team="web"']}],
        "integrations": [
            {"id": "am", "type": "alertmanager", "token_env": "A", "service": "db"},
            {"id": "other", "type": "alertmanager", "token_env": "B", "service": "web"},
        ],
    }
    cfg = config.parse(doc)
    am, other = cfg.integrations

    def decide(integration: config.Integration, **labels: str) -> tuple[str, P, str]:
        [c] = classify.classify_alerts([models.Alert("g", "f", models.Action.TRIGGER, "s", labels)], integration, cfg)
        return c.service, c.priority, c.rule

    assert decide(am, team="db", severity="critical", instance="a") == ("db", P.P0, "classification[0]")
    assert decide(am, team="db", severity="critical", instance="b") == ("db", P.P0, "classification[0]")
    assert decide(am, team="db", severity="crit") == ("db", P.P0, "classification[0]")
    assert decide(am, team="db", severity="warning") == ("db", P.P2, "classification[1]")
    assert decide(am, team="web") == ("web", P.P2, "classification[1]")
    assert decide(am, team="db", severity="") == decide(am, team="db")  # a missing label reads as ""
    assert decide(other, team="ops") == ("web", P.P2, "classification[1]")
    # Another configuration is decided by its own rules, not by what was remembered for this one.
    stricter = config.parse({**doc, "classification": [{"priority": "P3"}]})
    [c] = classify.classify_alerts(
        [models.Alert("g", "f", models.Action.TRIGGER, "s", {"team": "db", "severity": "critical"})],
        stricter.integrations[0],
        stricter,
    )
    assert (c.service, c.priority) == ("db", P.P3)
