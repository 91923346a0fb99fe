"""Routing: the first service whose matchers all match wins; otherwise the integration's own service."""

from __future__ import annotations

import pytest

from pager import config, routing

SERVICES = config.parse(
    {
        "services": [
            {"id": "catch-nothing"},  # no matchers: reachable only as an integration default
            {"id": "checkout", "matchers": ['service="checkout"']},
            {"id": "web", "matchers": ['team=~"web|frontend"', 'env!="staging"']},
            {"id": "web-staging", "matchers": ['team=~"web|frontend"']},
            {"id": "no-owner", "matchers": ['team=""']},
            {"id": "db", "matchers": ['instance=~"db-[0-9]+"']},
        ]
    }
).services


@pytest.mark.parametrize(
    "labels, expected",
    [
        ({"service": "checkout", "team": "web"}, "checkout"),  # config order decides between two matches
        ({"team": "web"}, "web"),
        ({"team": "frontend", "env": "prod"}, "web"),
        ({"team": "web", "env": "staging"}, "web-staging"),
        ({"team": "webby"}, "fallback"),  # =~ is anchored: "web" does not match "webby"
        ({"team": "my-web"}, "fallback"),
        ({"service": "checkout-v2", "team": "x"}, "fallback"),  # = is exact
        ({}, "no-owner"),  # a missing label matches as ""
        ({"team": ""}, "no-owner"),
        ({"instance": "db-12", "team": "x"}, "db"),
        ({"instance": "db-12:9100", "team": "x"}, "fallback"),
    ],
)
def test_route(labels: dict, expected: str) -> None:
    assert routing.route(labels, "fallback", SERVICES) == expected


def test_no_services_means_the_default() -> None:
    assert routing.route({"service": "checkout"}, "fallback", []) == "fallback"


def test_a_service_without_matchers_never_catches_alerts() -> None:
    services = config.parse({"services": [{"id": "everything"}]}).services
    assert routing.route({"anything": "x"}, "fallback", services) == "fallback"
