"""Grafana unified alerting's webhook contact point through the real app: Bearer or HMAC-signed, POST or PUT.

The bodies are real Grafana 11 notifications (tests/support/samples/grafana-11-webhooks.json says
where each came from). Two Grafana instances run side by side send the same notification: it is
one incident, the repeat changing nothing but last-seen, as Alertmanager HA peers' repeats do.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json

import pytest

from pager import clock
from tests import support
from tests.support import http

TOKEN = "grafana-bearer-token"
SECRET = "grafana-hmac-secret"
ENV = {**support.ENV, "PAGER_GRAFANA_TOKEN": TOKEN, "PAGER_GRAFANA_SECRET": SECRET, "PAGER_GRAFANA_TS_SECRET": "ts"}
GRAFANA = """
integrations:
  - {id: grafana-token, type: grafana, token_env: PAGER_GRAFANA_TOKEN, service: web}
  - {id: grafana-signed, type: grafana, signing_secret_env: PAGER_GRAFANA_SECRET, service: search}
  - {id: grafana-ts, type: grafana, signing_secret_env: PAGER_GRAFANA_TS_SECRET, service: web,
     signature_header: X-Sig, signature_timestamp_header: X-Sig-Time}
"""


def settings():
    return support.settings(GRAFANA, ENV)


def body(name: str = "play-grafana-11-firing", **changes: object) -> bytes:
    data = support.grafana_sample(name)
    data.update(changes)
    return json.dumps(data).encode()


def sign(raw: bytes, secret: str = SECRET) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


async def post(client, raw: bytes, headers: dict[str, str], method: str = "POST"):
    return await client.request(method, "/v1/webhooks/grafana", data=raw, headers=headers)


async def test_a_signed_grafana_11_notification_opens_an_incident_with_grafanas_extras(make_client):
    client = await make_client(settings())
    raw = body()
    resp = await post(client, raw, {"X-Grafana-Alerting-Signature": sign(raw)})
    assert resp.status == 200, await resp.text()
    [inc] = await http.incidents(client)
    sample = support.grafana_sample("play-grafana-11-firing")
    assert (inc["service"], inc["integration"], inc["dedup_key"]) == ("search", "grafana-signed", sample["groupKey"])
    assert inc["summary"] == "High memory usage"
    alert = sample["alerts"][0]
    [stored] = (await http.detail(client, inc["id"]))["alerts"]
    assert stored["fingerprint"] == alert["fingerprint"]
    for name in ("dashboardURL", "panelURL", "silenceURL", "valueString", "values"):
        assert stored["annotations"][name] == alert[name]
    assert inc["annotations"]["dashboardURL"] == alert["dashboardURL"]


async def test_an_unsigned_notification_with_the_bearer_token_is_accepted_by_put_too(make_client):
    client = await make_client(settings())
    resp = await post(client, body("grafana-server-integration-test"), {"Authorization": f"Bearer {TOKEN}"}, "PUT")
    assert resp.status == 200, await resp.text()
    [inc] = await http.incidents(client)
    assert (inc["integration"], inc["summary"]) == ("grafana-token", "WebhookAlert (grafana_folder=default)")


async def test_repeats_from_two_grafana_instances_fold_into_one_incident(make_client):
    client = await make_client(settings())
    first = body(externalURL="https://grafana-a.example.com/")
    second = body(externalURL="https://grafana-b.example.com/")  # the HA peer: same group, same fingerprint
    assert (await post(client, first, {"X-Grafana-Alerting-Signature": sign(first)})).status == 200
    assert (await post(client, second, {"X-Grafana-Alerting-Signature": sign(second)})).status == 200
    [inc] = await http.incidents(client)
    detail = await http.detail(client, inc["id"])
    assert detail["alert_count"] == 1
    assert [e["kind"] for e in detail["timeline"]] == ["triggered"]
    metrics = await (await client.get("/metrics")).text()
    assert 'pager_alerts_deduplicated_total{service="search"} 1.0' in metrics

    resolved = body("play-grafana-11-resolved")
    assert (await post(client, resolved, {"X-Grafana-Alerting-Signature": sign(resolved)})).status == 200
    [inc] = await http.incidents(client)
    assert inc["status"] == "resolved"


@pytest.mark.parametrize(
    "headers, why",
    [
        ({}, "missing bearer token or signature"),
        ({"Authorization": "Bearer wrong"}, "bearer token matches no grafana integration"),
        ({"X-Grafana-Alerting-Signature": "00" * 32}, "does not verify"),
        ({"X-Grafana-Alerting-Signature": "not hex ✓"}, "does not verify"),
        # a valid token does not make up for a signature that fails: the body was altered, or the secret is wrong
        ({"Authorization": f"Bearer {TOKEN}", "X-Grafana-Alerting-Signature": "ab" * 32}, "does not verify"),
    ],
)
async def test_without_a_valid_token_or_signature_it_is_401_and_nothing_is_stored(make_client, headers, why):
    client = await make_client(settings())
    resp = await post(client, body(), headers)
    assert resp.status == 401
    assert why in (await resp.json())["error"]
    assert await http.incidents(client) == []


async def test_a_signature_of_another_body_does_not_verify(make_client):
    client = await make_client(settings())
    raw = body()
    resp = await post(
        client, raw.replace(b"High memory usage", b"Low memory usage"), {"X-Grafana-Alerting-Signature": sign(raw)}
    )
    assert resp.status == 401


async def test_a_timestamped_signature_verifies_only_while_fresh(make_client):
    start = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
    client = await make_client(settings(), clock=clock.ManualClock(start))
    raw = body()
    stamp = str(int(start.timestamp()))
    good = {"X-Sig": hmac.new(b"ts", stamp.encode() + b":" + raw, hashlib.sha256).hexdigest(), "X-Sig-Time": stamp}
    assert (await post(client, raw, good)).status == 200
    old = str(int(start.timestamp()) - 3600)
    replayed = {"X-Sig": hmac.new(b"ts", old.encode() + b":" + raw, hashlib.sha256).hexdigest(), "X-Sig-Time": old}
    assert (await post(client, raw, replayed)).status == 401


@pytest.mark.parametrize(
    "raw, error",
    [
        (b"", "$: the request body is empty"),
        (b"{", "$: the request body is not valid JSON"),
        (b'{"version": "4", "groupKey": "g", "alerts": []}', "$.version: unsupported webhook version '4'"),
        (b'{"version": "1", "groupKey": "", "alerts": []}', "$.groupKey: must not be empty"),
        (b'{"version": "1", "groupKey": "g", "alerts": [{"status": "pending", "labels": {}}]}', "$.alerts[0].status"),
    ],
)
async def test_a_body_that_is_not_grafanas_is_400_naming_where(make_client, raw, error):
    client = await make_client(settings())
    resp = await post(client, raw, {"Authorization": f"Bearer {TOKEN}"})
    assert resp.status == 400
    assert (await resp.json())["errors"][0].startswith(error)
    assert await http.incidents(client) == []
