"""PagerDuty Events API v2: what Alertmanager's pagerduty_configs really sends, and PagerDuty-style refusals."""

from __future__ import annotations

import datetime
import json

import pytest

from pager import ingest, models
from pager.ingest import events_v2
from tests import support

AM_DEDUP_KEY = "97510b418c30a6bc221ab8cd7f4d49d287215a8f33fc7173ad6f03934114edfb"
MISSING = "'{}' is missing or blank"
NOT_STRING = "'{}' is invalid (must be a string)"
BAD_ACTION = "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
BAD_SEVERITY = (
    "'payload.severity' is invalid (must be one of the following: 'critical', 'warning', 'error' or 'info'; got '{}')"
)
AM_ALERT_LABELS = {"alertname": "HighErrorRate", "instance": "web-1", "service": "checkout", "severity": "critical"}


def sample(name: str) -> bytes:
    return json.dumps(support.sample(name)["body"]).encode()


def event(payload: object = None, **top: object) -> bytes:
    doc: dict = {
        "routing_key": "k" * 32,
        "event_action": "trigger",
        "payload": {"summary": "disk full on db-1", "source": "db-1", "severity": "warning"},
    }
    if payload is not None:
        doc["payload"] = payload
    doc.update(top)
    return json.dumps({k: v for k, v in doc.items() if v is not ...}).encode()


def payload(**fields: object) -> dict:
    doc = {"summary": "disk full on db-1", "source": "db-1", "severity": "warning"}
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not ...}


def parse(raw: bytes) -> events_v2.Event:
    return events_v2.parse(raw, new_key=lambda: "generated-key")


def test_alertmanager_pagerduty_firing_sample() -> None:
    got = parse(sample("alertmanager-0.25-pagerduty-events-v2-firing.json"))
    assert got.routing_key == "abcdefabcdefabcdefabcdefabcdef12"
    assert got.alert == models.Alert(
        dedup_key=AM_DEDUP_KEY,
        fingerprint=AM_DEDUP_KEY,
        action=models.Action.TRIGGER,
        summary="[FIRING:1] HighErrorRate checkout (web-1 critical)",
        labels={**AM_ALERT_LABELS, "source": "Alertmanager", "num_firing": "1", "num_resolved": "0"},
        annotations={
            "runbook_url": "https://runbooks.example.com/checkout-5xx",
            "summary": "5xx rate above 5% on checkout",
            "client": "Alertmanager",
            "client_url": "http://vm:19093/#/alerts?receiver=both",
        },
        source="http://prom:9090/graph?g0.expr=x",
    )


def test_alertmanager_pagerduty_resolved_sample_keeps_labels_for_routing() -> None:
    got = parse(sample("alertmanager-0.25-pagerduty-events-v2-resolved.json"))
    assert got.alert.action is models.Action.RESOLVE
    assert got.alert.dedup_key == AM_DEDUP_KEY
    assert got.alert.summary == "[RESOLVED] HighErrorRate checkout (web-1 critical)"
    assert AM_ALERT_LABELS.items() <= got.alert.labels.items()
    assert got.alert.annotations["summary"] == "5xx rate above 5% on checkout"


def test_alertmanager_alert_labels_win_over_its_default_payload_severity() -> None:
    """Alertmanager sends payload.severity "error" unless configured; the alert's own label is what rules use."""
    doc = json.loads(sample("alertmanager-0.25-pagerduty-events-v2-firing.json"))
    doc["payload"]["severity"] = "error"
    got = parse(json.dumps(doc).encode())
    assert got.alert.labels["severity"] == "critical"


@pytest.mark.parametrize(
    "text, labels, annotations, source",
    [
        ("", None, None, None),
        ("free text from a custom template", None, None, None),
        (
            "Labels:\n - alertname = A\n - team = web\nAnnotations:\nSource: \n",
            {"alertname": "A", "team": "web"},
            {},
            "",
        ),
        (  # only the first alert of several counts
            "Labels:\n - alertname = A\n - pod = p1\nAnnotations:\n - summary = one\nSource: http://p/1\n"
            "Labels:\n - alertname = A\n - pod = p2\nAnnotations:\n - summary = two\nSource: http://p/2\n",
            {"alertname": "A", "pod": "p1"},
            {"summary": "one"},
            "http://p/1",
        ),
        (  # multi-line annotation values and values containing ' = '
            "Labels:\n - alertname = A\n - expr = a = b\n"
            "Annotations:\n - description = line 1\nline 2\n\nline 4\nSource: s\n",
            {"alertname": "A", "expr": "a = b"},
            {"description": "line 1\nline 2\n\nline 4"},
            "s",
        ),
    ],
)
def test_alertmanager_alert_text(text: str, labels: dict | None, annotations: dict | None, source: str | None) -> None:
    expected = None if labels is None else (labels, annotations, source)
    assert events_v2.alertmanager_text(text) == expected


def test_minimal_trigger_gets_a_generated_dedup_key() -> None:
    got = parse(event())
    assert got.alert == models.Alert(
        dedup_key="generated-key",
        fingerprint="generated-key",
        action=models.Action.TRIGGER,
        summary="disk full on db-1",
        labels={"severity": "warning", "source": "db-1"},
        source="db-1",
    )


def test_default_dedup_keys_are_unique() -> None:
    assert events_v2.parse(event()).alert.dedup_key != events_v2.parse(event()).alert.dedup_key


def test_full_trigger_maps_every_field() -> None:
    got = parse(
        event(
            payload(
                severity="critical",
                timestamp="2026-03-01T10:00:00.000+0100",
                component="postgres",
                group="prod-db",
                **{"class": "disk"},
                custom_details={
                    "free_bytes": 0,
                    "mounted": True,
                    "mount": "/var",
                    "ratio": 0.5,
                    "none": None,
                    "tags": ["a"],
                },
            ),
            dedup_key="disk/db-1",
            client="Nagios",
            client_url="https://nagios.example.com",
            links=[{"href": "https://wiki/disk", "text": "runbook"}],
            images=[{"src": "https://img/1.png"}],
        )
    )
    assert got.alert == models.Alert(
        dedup_key="disk/db-1",
        fingerprint="disk/db-1",
        action=models.Action.TRIGGER,
        summary="disk full on db-1",
        labels={
            "severity": "critical",
            "source": "db-1",
            "component": "postgres",
            "group": "prod-db",
            "class": "disk",
            "free_bytes": "0",
            "mounted": "true",
            "mount": "/var",
            "ratio": "0.5",
        },
        annotations={
            "tags": '["a"]',
            "client": "Nagios",
            "client_url": "https://nagios.example.com",
            "links": '[{"href":"https://wiki/disk","text":"runbook"}]',
            "images": '[{"src":"https://img/1.png"}]',
        },
        starts_at=datetime.datetime(2026, 3, 1, 9, 0, tzinfo=datetime.UTC),
        source="db-1",
    )


@pytest.mark.parametrize(
    "details, labels, annotations",
    [
        ({"severity": "info", "service": "checkout"}, {"severity": "warning", "service": "checkout"}, {}),
        ({"n": 3, "nested": {"a": [1]}}, {"n": "3"}, {"nested": '{"a":[1]}'}),
    ],
)
def test_custom_details(details: object, labels: dict, annotations: dict) -> None:
    got = parse(event(payload(custom_details=details))).alert
    assert got.labels == {"source": "db-1", "severity": "warning", **labels}
    assert got.annotations == annotations


@pytest.mark.parametrize("given", ["critical", "error", "warning", "info"])
def test_each_severity_of_the_schema_is_a_label(given: str) -> None:
    assert parse(event(payload(severity=given))).alert.labels["severity"] == given


def test_naive_timestamp_is_utc() -> None:
    got = parse(event(payload(timestamp="2026-03-01T10:00:00"))).alert
    assert got.starts_at == datetime.datetime(2026, 3, 1, 10, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_and_resolve_need_only_a_dedup_key(action: str) -> None:
    got = parse(event(event_action=action, dedup_key="disk/db-1", payload=...))
    assert got.alert == models.Alert(
        dedup_key="disk/db-1", fingerprint="disk/db-1", action=models.Action(action), summary=""
    )


def test_a_resolve_keeps_its_payloads_labels_for_routing() -> None:
    got = parse(event(payload(custom_details={"service": "checkout"}), event_action="resolve", dedup_key="d"))
    assert got.alert.action is models.Action.RESOLVE
    assert got.alert.labels == {"source": "db-1", "severity": "warning", "service": "checkout"}


def test_a_resolve_with_a_payload_that_breaks_the_published_schema_is_refused_too() -> None:
    """PagerDuty's OpenAPI document is the contract for every action (issue 14), not only for triggers."""
    with pytest.raises(ingest.InvalidPayload) as caught:
        parse(event(payload(summary=..., severity="bogus"), event_action="resolve", dedup_key="d", links="x"))
    assert caught.value.errors == [
        "'payload.summary' is missing or blank",
        BAD_SEVERITY.format("bogus"),
        "'links' is invalid (must be an array of objects)",
    ]


@pytest.mark.parametrize(
    "raw, errors",
    [
        (b"", ["the request body is not valid JSON: it is empty"]),
        (b"{oops", ["the request body is not valid JSON"]),
        (b"[1]", ["the request body must be a JSON object"]),
        (b"{}", [MISSING.format("routing_key"), MISSING.format("event_action"), MISSING.format("payload")]),
        (event(routing_key=...), ["'routing_key' is missing or blank"]),
        (event(routing_key="  "), ["'routing_key' is missing or blank"]),
        (event(routing_key=42), ["'routing_key' is invalid (must be a string)"]),
        (event(event_action=...), ["'event_action' is missing or blank"]),
        (event(event_action="Trigger!"), [BAD_ACTION]),
        (event(event_action="resolve", dedup_key=...), ["'dedup_key' is missing or blank"]),
        (event(event_action="acknowledge", dedup_key=""), ["'dedup_key' is missing or blank"]),
        (event(dedup_key="x" * 256), ["'dedup_key' is too long (256 characters; the maximum is 255)"]),
        (event(dedup_key=7), ["'dedup_key' is invalid (must be a string)"]),
        (event(payload=...), ["'payload' is missing or blank"]),
        (event(payload="disk full"), ["'payload' is invalid (must be an object)"]),
        (event(payload(summary=...)), ["'payload.summary' is missing or blank"]),
        (event(payload(summary="")), ["'payload.summary' is missing or blank"]),
        (event(payload(summary="x" * 1025)), ["'payload.summary' is too long (1025 characters; the maximum is 1024)"]),
        (event(payload(source=...)), ["'payload.source' is missing or blank"]),
        (event(payload(severity=...)), ["'payload.severity' is missing or blank"]),
        (event(payload(severity="page")), [BAD_SEVERITY.format("page")]),
        (event(payload(severity=1)), ["'payload.severity' is invalid (must be a string)"]),
        (
            event(payload(timestamp="last tuesday")),
            ["'payload.timestamp' is invalid (must be an ISO 8601 date and time; got 'last tuesday')"],
        ),
        (event(payload(component=["a"])), ["'payload.component' is invalid (must be a string)"]),
        (event(payload(**{"class": 3})), ["'payload.class' is invalid (must be a string)"]),
        (event(client=1, client_url=2), [NOT_STRING.format("client"), NOT_STRING.format("client_url")]),
        (event(links={"href": "x"}), ["'links' is invalid (must be an array of objects)"]),
        (event(images=["x.png"]), ["'images' is invalid (must be an array of objects)"]),
        (event(links=[{"text": "x"}]), ["'links[0].href' is missing"]),
        (event(images=[{"src": 1, "alt": 2}]), ["'images[0].src' is invalid", "'images[0].alt' is invalid"]),
        (event(payload(custom_details="text")), ["'payload.custom_details' is invalid (must be an object)"]),
        (event(payload(severity="CRITICAL")), [BAD_SEVERITY.format("CRITICAL")]),
        (
            event(payload(summary=..., source=..., severity="fatal"), routing_key=..., dedup_key="y" * 300),
            [
                "'routing_key' is missing or blank",
                "'dedup_key' is too long (300 characters; the maximum is 255)",
                "'payload.summary' is missing or blank",
                "'payload.source' is missing or blank",
                BAD_SEVERITY.format("fatal"),
            ],
        ),
    ],
)
def test_bad_events_list_every_problem_pagerduty_style(raw: bytes, errors: list[str]) -> None:
    with pytest.raises(ingest.InvalidPayload) as caught:
        parse(raw)
    assert len(caught.value.errors) == len(errors), caught.value.errors
    for got, expected in zip(caught.value.errors, errors):
        assert got.startswith(expected)
