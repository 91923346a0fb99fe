"""A small pager configuration for tests, and helpers to build settings from inline YAML."""

from __future__ import annotations

import json
import pathlib
import typing

import yaml

from pager import config

AM_TOKEN = "secret-token-123"
EVENTS_KEY = "abcdefabcdefabcdefabcdefabcdef12"
API_TOKEN = "api-token-for-tests"
API = {"Authorization": f"Bearer {API_TOKEN}"}
AM = {"Authorization": f"Bearer {AM_TOKEN}"}

BASE_YAML = """
api_tokens_env: [PAGER_API_TOKEN]
users:
  - {id: alice, name: Alice, phone: "+15551230001", email: alice@example.com}
  - {id: bob, name: Bob, phone: "+15551230002", email: bob@example.com}
  - {id: carol, name: Carol, phone: "+15551230003", email: carol@example.com}
rotations:
  - {id: primary, shift: 1w, handoff: "2026-01-05T09:00", members: [alice, bob]}
escalation_policies:
  - id: web
    steps:
      - {targets: ["rotation:primary"], ack_timeout: 5m}
      - {targets: ["user:carol"], ack_timeout: 10m}
services:
  - {id: checkout, escalation_policy: web, matchers: ['service="checkout"']}
  - {id: search, escalation_policy: web, matchers: ['service="search"']}
  - {id: web, escalation_policy: web}
integrations:
  - {id: prod-am, type: alertmanager, token_env: PAGER_AM_TOKEN, service: web}
  - {id: prod-events, type: events_v2, token_env: PAGER_EVENTS_KEY, service: web}
"""

ENV = {"PAGER_AM_TOKEN": AM_TOKEN, "PAGER_EVENTS_KEY": EVENTS_KEY, "PAGER_API_TOKEN": API_TOKEN}


def settings(extra_yaml: str = "", env: typing.Mapping[str, str] | None = None) -> config.Settings:
    """BASE_YAML with `extra_yaml`'s top-level sections replacing its own."""
    data = yaml.safe_load(BASE_YAML)
    data.update(yaml.safe_load(extra_yaml) or {})
    return config.resolve(config.parse(data), ENV if env is None else env)


def am_payload(
    alerts: list[tuple[str, str, dict[str, str]]],
    group_key: str = '{}:{alertname="HighErrorRate"}',
) -> bytes:
    """An Alertmanager v4 webhook body; each alert is (fingerprint, status, labels)."""
    body = {
        "receiver": "pager",
        "status": "firing" if any(s == "firing" for _, s, _ in alerts) else "resolved",
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "HighErrorRate", **labels},
                "annotations": {"summary": f"summary of {fp}"},
                "startsAt": "2026-11-22T17:51:43.607770712Z",
                "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-11-22T18:51:43Z",
                "generatorURL": "http://prom:9090/graph",
                "fingerprint": fp,
            }
            for fp, status, labels in alerts
        ],
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate"},
        "commonAnnotations": {},
        "externalURL": "http://am:9093",
        "version": "4",
        "groupKey": group_key,
        "truncatedAlerts": 0,
    }
    return json.dumps(body).encode()


def event(
    action: str,
    dedup_key: str | None = None,
    severity: str = "critical",
    summary: str = "disk full",
    routing_key: str = EVENTS_KEY,
    **payload: object,
) -> dict[str, typing.Any]:
    body: dict[str, typing.Any] = {"routing_key": routing_key, "event_action": action}
    if dedup_key is not None:
        body["dedup_key"] = dedup_key
    if action == "trigger":
        body["payload"] = {"summary": summary, "source": "db-1", "severity": severity, **payload}
    return body


SAMPLES = pathlib.Path(__file__).resolve().parent / "samples"


def sample(name: str) -> dict[str, typing.Any]:
    """A request captured from Alertmanager 0.25 (`tests/support/samples`, copied from `../shared/samples`)."""
    return json.loads((SAMPLES / name).read_text())


def grafana_sample(name: str) -> dict[str, typing.Any]:
    """A Grafana webhook body from `samples/grafana-11-webhooks.json` (each entry says where it came from)."""
    [found] = [s["body"] for s in sample("grafana-11-webhooks.json")["samples"] if s["name"] == name]
    return found
