"""The Alertmanager webhook as Alertmanager 0.25 really sends it, and every way a body can be refused."""

from __future__ import annotations

import datetime
import json

import pytest

from pager import ingest, models
from pager.ingest import alertmanager
from tests import support

GROUP_KEY = '{}:{alertname="HighErrorRate", service="checkout"}'
LABELS = {"alertname": "HighErrorRate", "instance": "web-1", "service": "checkout", "severity": "critical"}
UTC = datetime.UTC


def sample(name: str) -> bytes:
    return json.dumps(support.sample(name)["body"]).encode()


def body(alerts: list[dict] | None = None, **top: object) -> bytes:
    doc = {"version": "4", "groupKey": "g", "status": "firing", "alerts": alerts if alerts is not None else [alert()]}
    doc.update(top)
    return json.dumps({k: v for k, v in doc.items() if v is not ...}).encode()


def alert(**fields: object) -> dict:
    doc = {"status": "firing", "labels": {"alertname": "A"}, "annotations": {}, "fingerprint": "f1"}
    doc.update(fields)
    return {k: v for k, v in doc.items() if v is not ...}


@pytest.mark.parametrize(
    "name, expected",
    [
        (
            "alertmanager-0.25-webhook-firing.json",
            models.Alert(
                dedup_key=GROUP_KEY,
                fingerprint="b1c11497b32ce15e",
                action=models.Action.TRIGGER,
                summary="5xx rate above 5% on checkout",
                labels=LABELS,
                annotations={
                    "runbook_url": "https://runbooks.example.com/checkout-5xx",
                    "summary": "5xx rate above 5% on checkout",
                },
                starts_at=datetime.datetime(2026, 11, 22, 17, 51, 43, 607771, tzinfo=UTC),
                ends_at=None,  # Alertmanager's 0001-01-01T00:00:00Z means "not yet"
                source="http://prom:9090/graph?g0.expr=x",
            ),
        ),
        (
            "alertmanager-0.25-webhook-resolved.json",
            models.Alert(
                dedup_key=GROUP_KEY,
                fingerprint="b1c11497b32ce15e",
                action=models.Action.RESOLVE,
                summary="5xx rate above 5% on checkout",
                labels=LABELS,
                annotations={"summary": "5xx rate above 5% on checkout"},
                starts_at=datetime.datetime(2020, 1, 1, tzinfo=UTC),
                ends_at=datetime.datetime(2020, 1, 1, tzinfo=UTC),
                source="",
            ),
        ),
    ],
)
def test_real_samples_parse(name: str, expected: models.Alert) -> None:
    assert alertmanager.parse(sample(name)) == [expected]


def test_firing_and_resolved_samples_land_in_the_same_incident_and_alert() -> None:
    [firing] = alertmanager.parse(sample("alertmanager-0.25-webhook-firing.json"))
    [resolved] = alertmanager.parse(sample("alertmanager-0.25-webhook-resolved.json"))
    assert (firing.dedup_key, firing.fingerprint) == (resolved.dedup_key, resolved.fingerprint)


def test_computed_fingerprint_equals_alertmanagers_own() -> None:
    assert alertmanager.fingerprint(LABELS) == "b1c11497b32ce15e"
    [a] = alertmanager.parse(body([alert(labels=LABELS, fingerprint=...)]))
    assert a.fingerprint == "b1c11497b32ce15e"


def test_computed_fingerprint_ignores_label_order_and_tells_label_sets_apart() -> None:
    assert alertmanager.fingerprint({"a": "1", "b": "2"}) == alertmanager.fingerprint({"b": "2", "a": "1"})
    assert alertmanager.fingerprint({"a": "1", "b": "2"}) != alertmanager.fingerprint({"a": "12", "b": ""})


def test_every_alert_of_a_group_shares_the_group_key() -> None:
    alerts = alertmanager.parse(
        body(
            [alert(fingerprint="f1"), alert(fingerprint="f2", status="resolved")],
            groupKey='{}/{team="web"}:{alertname="A"}',
        )
    )
    assert [(a.dedup_key, a.fingerprint, a.action) for a in alerts] == [
        ('{}/{team="web"}:{alertname="A"}', "f1", models.Action.TRIGGER),
        ('{}/{team="web"}:{alertname="A"}', "f2", models.Action.RESOLVE),
    ]


def test_an_empty_group_is_accepted() -> None:
    assert alertmanager.parse(body([])) == []


@pytest.mark.parametrize(
    "labels, annotations, summary",
    [
        ({"alertname": "A"}, {"summary": "disk full", "description": "long"}, "disk full"),
        ({"alertname": "A"}, {"summary": "", "description": "long text"}, "long text"),
        ({"alertname": "DiskFull", "instance": "db-1", "severity": "warning"}, {}, "DiskFull (instance=db-1)"),
        (
            {"alertname": "X", "service": "s", "job": "j", "instance": "i", "namespace": "n"},
            {},
            "X (service=s, job=j, instance=i)",
        ),
        ({"alertname": "Watchdog"}, {}, "Watchdog"),
        ({"team": "web", "env": "prod"}, {}, "alert (env=prod, team=web)"),
    ],
)
def test_summary_falls_back_from_annotations_to_labels(labels: dict, annotations: dict, summary: str) -> None:
    [a] = alertmanager.parse(body([alert(labels=labels, annotations=annotations)]))
    assert a.summary == summary


@pytest.mark.parametrize(
    "fields, starts_at, ends_at",
    [
        ({"startsAt": "0001-01-01T00:00:00Z", "endsAt": "0001-01-01T00:00:00Z"}, None, None),
        ({"startsAt": ..., "endsAt": ...}, None, None),
        (
            {"startsAt": "2026-03-01T10:00:00+01:00", "endsAt": "2026-03-01T10:05:00.5Z"},
            datetime.datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
            datetime.datetime(2026, 3, 1, 10, 5, 0, 500000, tzinfo=UTC),
        ),
    ],
)
def test_times(fields: dict, starts_at: datetime.datetime | None, ends_at: datetime.datetime | None) -> None:
    [a] = alertmanager.parse(body([alert(**fields)]))
    assert (a.starts_at, a.ends_at) == (starts_at, ends_at)


def test_fields_alertmanager_adds_later_are_ignored() -> None:
    [a] = alertmanager.parse(body([alert(newField={"x": 1})], futureTopLevel=[1, 2]))
    assert a.fingerprint == "f1"


@pytest.mark.parametrize(
    "raw, message",
    [
        (b"", "$: the request body is empty"),
        (b"not json", "$: the request body is not valid JSON"),
        (b'{"version": "4", ', "$: the request body is not valid JSON"),
        (b"[]", "$: expected an object, got an array"),
        (b'"text"', "$: expected an object, got a string"),
        (body(alerts=...), "$.alerts: required field is missing"),
        (body(groupKey=...), "$.groupKey: required field is missing"),
        (body(groupKey=""), "$.groupKey: must not be empty"),
        (body(version=...), "$.version: required field is missing"),
        (body(version="3"), "$.version: unsupported webhook version '3': expected '4'"),
        (body(version="1"), "unsupported webhook version '1': expected '4' (Alertmanager)"),
        (body(version=4), "$.version: expected a string, got a number"),
        (body(alerts={}), "$.alerts: expected an array, got an object"),
        (body([alert(), "x"]), "$.alerts[1]: expected an object, got a string"),
        (body([alert(labels=...)]), "$.alerts[0].labels: required field is missing"),
        (body([alert(), alert(labels=["a"])]), "$.alerts[1].labels: expected an object, got an array"),
        (body([alert(labels={"code": 500})]), "$.alerts[0].labels.code: expected a string, got a number"),
        (body([alert(labels={"odd key": None})]), '$.alerts[0].labels["odd key"]: expected a string, got null'),
        (body([alert(annotations={"summary": ["x"]})]), "$.alerts[0].annotations.summary: expected a string"),
        (body([alert(status=...)]), "$.alerts[0].status: required field is missing"),
        (body([alert(status="pending")]), """$.alerts[0].status: invalid value 'pending': expected "firing" or"""),
        (body([alert(startsAt="yesterday")]), "$.alerts[0].startsAt: expected an RFC 3339 date and time"),
        (body([alert(fingerprint=7)]), "$.alerts[0].fingerprint: expected a string, got a number"),
    ],
)
def test_bad_bodies_are_refused_with_the_json_path(raw: bytes, message: str) -> None:
    with pytest.raises(ingest.InvalidPayload) as caught:
        alertmanager.parse(raw)
    assert len(caught.value.errors) == 1
    assert message in caught.value.errors[0]
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("disk\u0000full", "disk\ufffdfull"),  # PostgreSQL text cannot hold NUL
        ("\\u0000", "\\u0000"),  # a backslash, then the letters: text, kept as sent
        ("\\\u0000", "\\\ufffd"),
        ("plain", "plain"),
    ],
)
def test_nul_characters_become_replacement_characters(text, stored):
    [a] = alertmanager.parse(body([alert(labels={"alertname": text, "x\u0000": "y"})]))
    assert a.labels["alertname"] == stored
    assert a.labels["x\ufffd"] == "y"
