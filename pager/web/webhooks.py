"""Webhooks beyond Alertmanager's and PagerDuty's: Grafana unified alerting and generic JSON.

They share ingest's commit path (`pager.web.ingest`): decode, route, classify, commit, and only
then answer 2xx. Grafana's contact point authenticates with a Bearer token or an HMAC-SHA256
signature of the body; a generic integration with a Bearer token.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import typing

from aiohttp import web

from pager import config, routing
from pager import ingest as ingest_errors
from pager.ingest import change_events, generic, grafana
from pager.store import db
from pager.web import auth, ingest, jsonout, keys

SIGNATURE_MAX_AGE = datetime.timedelta(minutes=5)
"""A signed timestamp (`signature_timestamp_header`) older or newer than this is refused: a replay."""


def _expected(secret: str, body: bytes, timestamp: str | None) -> bytes:
    """Grafana's signature: hex HMAC-SHA256 of the body, or of `timestamp:body` when a timestamp header is set."""
    message = body if timestamp is None else timestamp.encode() + b":" + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().encode()


def _fresh(timestamp: str, now: datetime.datetime) -> bool:
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        return False
    return abs(now.timestamp() - int(timestamp)) <= SIGNATURE_MAX_AGE.total_seconds()


def signed_by(
    settings: config.Settings, headers: typing.Mapping[str, str], body: bytes, now: datetime.datetime
) -> tuple[config.Integration | None, bool]:
    """(the grafana integration whose signature verifies, whether any signature header was present).

    Every configured secret is tried and compared in constant time, so timing tells nothing.
    """
    found, present = None, False
    for integration, secret in settings.signed_integrations("grafana"):
        given = headers.get(integration.signature_header)
        if given is None:
            continue
        present = True
        timestamp = None
        if integration.signature_timestamp_header:
            timestamp = headers.get(integration.signature_timestamp_header)
            if timestamp is None or not _fresh(timestamp, now):
                continue
        ok = hmac.compare_digest(_expected(secret, body, timestamp), given.strip().lower().encode("utf-8", "replace"))
        if ok and found is None:
            found = integration
    return found, present


def _accepted(results: list[typing.Any]) -> web.Response:
    return jsonout.response(
        {
            "status": "success",
            "incidents": [
                {
                    "id": r.incident_id,
                    "dedup_key": r.dedup_key,
                    "service": r.service,
                    "created": r.created,
                    "status": r.status,
                }
                for r in results
            ],
        }
    )


async def grafana_webhook(request: web.Request) -> web.Response:
    """POST or PUT: Grafana's webhook contact point lets either be chosen."""
    app = request.app
    settings, metrics = app[keys.SETTINGS], app[keys.METRICS]
    body = await ingest._body(request, "unknown")
    if isinstance(body, web.Response):
        return body
    token = auth.bearer(request)
    by_token = auth.integration(settings, token, "grafana") if token is not None else None
    by_signature, signature_present = signed_by(settings, request.headers, body, app[keys.CLOCK].now())
    if signature_present and by_signature is None:
        metrics.alerts_rejected.labels("unknown", "bad_signature").inc()
        return jsonout.error(401, "the request's signature does not verify with any grafana integration's secret")
    integration = by_signature or by_token
    if integration is None:
        metrics.alerts_rejected.labels("unknown", "unauthorized").inc()
        why = "bearer token matches no grafana integration" if token else "missing bearer token or signature"
        return jsonout.error(
            401,
            f"{why}: set the contact point's Authorization header (Bearer) to the integration's token, "
            "or its HMAC signature secret to the integration's signing secret",
        )
    try:
        alerts = grafana.parse(body)
    except ingest_errors.InvalidPayload as exc:
        metrics.alerts_rejected.labels(integration.id, "invalid").inc()
        return jsonout.error(400, "invalid Grafana webhook payload", exc.errors)
    try:
        results = await ingest._commit(request, integration, alerts)
    except db.InvalidInput as exc:
        metrics.alerts_rejected.labels(integration.id, "invalid").inc()
        return jsonout.error(400, "invalid Grafana webhook payload", [ingest._unstorable(exc)])
    return _accepted(results)


async def generic_webhook(request: web.Request) -> web.Response:
    app = request.app
    settings, metrics = app[keys.SETTINGS], app[keys.METRICS]
    token = auth.bearer(request)
    integration = auth.integration(settings, token, "generic") if token is not None else None
    if integration is None:
        metrics.alerts_rejected.labels("unknown", "unauthorized").inc()
        return jsonout.error(401, "missing bearer token, or it matches no generic integration")
    body = await ingest._body(request, integration.id)
    if isinstance(body, web.Response):
        return body
    assert integration.fields is not None  # config requires fields of a generic integration
    try:
        alert = generic.parse(body, integration.fields)
    except ingest_errors.InvalidPayload as exc:
        metrics.alerts_rejected.labels(integration.id, "invalid").inc()
        return jsonout.error(400, f"the body does not fit integration {integration.id}'s fields", exc.errors)
    try:
        results = await ingest._commit(request, integration, [alert])
    except db.InvalidInput as exc:
        metrics.alerts_rejected.labels(integration.id, "invalid").inc()
        return jsonout.error(400, "invalid event", [ingest._unstorable(exc)])
    return _accepted(results)


async def change_enqueue(request: web.Request) -> web.Response:
    """PagerDuty's change events: stored for the service they route to; they page nobody."""
    app = request.app
    settings, metrics = app[keys.SETTINGS], app[keys.METRICS]
    body = await ingest._body(request, "unknown", ingest.EVENTS_V2_MAX_BODY)
    if isinstance(body, web.Response):
        return body
    try:
        change = change_events.parse(body)
    except ingest_errors.InvalidPayload as exc:
        metrics.alerts_rejected.labels("unknown", "invalid").inc()
        return ingest._invalid_event(exc.errors)
    integration = auth.integration(settings, change.routing_key, "events_v2")
    if integration is None:
        metrics.alerts_rejected.labels("unknown", "unknown_routing_key").inc()
        return ingest._invalid_event(["'routing_key' does not match any events_v2 integration"])
    now = app[keys.CLOCK].now()
    service = routing.route(change.labels, integration.service, settings.config.services)
    try:
        await app[keys.CHANGES].add(
            service=service,
            integration=integration.id,
            summary=change.summary,
            source=change.source,
            at=change.timestamp or now,
            received_at=now,
            custom_details=change.custom_details,
            links=change.links,
            images=change.images,
        )
    except db.InvalidInput as exc:
        metrics.alerts_rejected.labels(integration.id, "invalid").inc()
        return ingest._invalid_event([ingest._unstorable(exc)])
    metrics.alerts_received.labels(integration.id, "change").inc()
    return jsonout.response({"status": "success", "message": "Change event processed"}, 202)


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [
        web.post("/v2/change/enqueue", change_enqueue),
        web.post("/v1/webhooks/grafana", grafana_webhook),
        web.put("/v1/webhooks/grafana", grafana_webhook),
        web.post("/v1/webhooks/generic", generic_webhook),
    ]
