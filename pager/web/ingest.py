"""Webhook handlers: decode, route, classify, commit, and only then answer 2xx."""

from __future__ import annotations

import asyncio
import collections
import typing

import structlog
from aiohttp import web

from pager import classify, config, models
from pager import ingest as ingest_errors
from pager.ingest import alertmanager, events_v2
from pager.store import db
from pager.store import ingest as ingest_store
from pager.web import auth, heartbeats, jsonout, keys, maintenance

log = structlog.get_logger(__name__)

_EVENT_STATUS = {
    models.Action.TRIGGER: "firing",
    models.Action.RESOLVE: "resolved",
    models.Action.ACKNOWLEDGE: "acknowledged",
}


EVENTS_V2_MAX_BODY = 512 * 1024
"""PagerDuty's documented limit for an Events API v2 request (and a change event)."""


async def _body(request: web.Request, integration: str, limit: int | None = None) -> bytes | web.Response:
    limit = limit or request.app._client_max_size
    try:
        if request.content_length is not None and request.content_length > limit:
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
        body = await request.read()
        if len(body) > limit:  # chunked: no Content-Length to refuse it by
            raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=len(body))
        return body
    except web.HTTPRequestEntityTooLarge:
        request.app[keys.METRICS].alerts_rejected.labels(integration, "too_large").inc()
        return jsonout.error(413, f"request body is larger than the {limit // 1024} KiB limit")


async def _commit(
    request: web.Request, integration: config.Integration, alerts: list[models.Alert]
) -> list[ingest_store.IngestResult]:
    app = request.app
    settings, metrics = app[keys.SETTINGS], app[keys.METRICS]
    cfg = settings.config
    alerts = await heartbeats.feed(app, alerts)  # issue 14: an always-firing alert (Watchdog) beats, pages nobody
    classified = classify.classify_alerts(alerts, integration, cfg)
    await maintenance.count_suppressed(app, classified, asyncio.get_running_loop().time())  # issue 14: metric only
    groups = ingest_store.group(classified, lambda service: cfg.service(service).escalation_policy)
    results = await app[keys.STORE].ingest(integration.id, groups, app[keys.CLOCK].now())
    for action, n in collections.Counter(alert.action for alert in alerts).items():
        metrics.alerts_received.labels(integration.id, _EVENT_STATUS[action]).inc(n)
    for g, r in zip(groups, results):
        if r.created:
            top = min(c.priority for c in g.alerts if c.alert.action is models.Action.TRIGGER)
            metrics.incidents_created.labels(g.service, top.name).inc()
            log.info(
                "incident opened",
                incident=r.incident_id,
                service=g.service,
                priority=top.name,
                integration=integration.id,
            )
        if r.deduplicated:
            metrics.alerts_deduplicated.labels(g.service).inc(r.deduplicated)
        if r.notice and r.incident_id is not None and r.priority is not None:
            await app[keys.ENGINE].notify_acknowledger(r.incident_id, r.priority, *r.notice)
    return results


async def alertmanager_webhook(request: web.Request) -> web.Response:
    settings, metrics = request.app[keys.SETTINGS], request.app[keys.METRICS]
    token = auth.bearer(request)
    if token is None:
        metrics.alerts_rejected.labels("unknown", "unauthorized").inc()
        return jsonout.error(
            401,
            "missing bearer token: set http_config.authorization.credentials "
            "in the Alertmanager receiver to the integration's token",
        )
    integration = auth.integration(settings, token, "alertmanager")
    if integration is None:
        metrics.alerts_rejected.labels("unknown", "unauthorized").inc()
        return jsonout.error(401, "bearer token matches no alertmanager integration")
    body = await _body(request, integration.id)
    if isinstance(body, web.Response):
        return body
    try:
        alerts = alertmanager.parse(body)
    except ingest_errors.InvalidPayload as exc:
        metrics.alerts_rejected.labels(integration.id, "invalid").inc()
        return jsonout.error(400, "invalid Alertmanager webhook payload", exc.errors)
    try:
        results = await _commit(request, integration, alerts)
    except db.InvalidInput as exc:
        metrics.alerts_rejected.labels(integration.id, "invalid").inc()
        return jsonout.error(400, "invalid Alertmanager webhook payload", [_unstorable(exc)])
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


def _unstorable(exc: db.InvalidInput) -> str:
    return f"a value in the alert cannot be stored: {exc}"


def _invalid_event(errors: list[str]) -> web.Response:
    return jsonout.response({"status": "invalid event", "message": "Event object is invalid", "errors": errors}, 400)


async def events_v2_enqueue(request: web.Request) -> web.Response:
    """PagerDuty Events API v2: the routing key in the body is the integration token."""
    settings, metrics = request.app[keys.SETTINGS], request.app[keys.METRICS]
    body = await _body(request, "unknown", EVENTS_V2_MAX_BODY)
    if isinstance(body, web.Response):
        return body
    try:
        event = events_v2.parse(body)
    except ingest_errors.InvalidPayload as exc:
        metrics.alerts_rejected.labels("unknown", "invalid").inc()
        return _invalid_event(exc.errors)
    integration = auth.integration(settings, event.routing_key, "events_v2")
    if integration is None:
        metrics.alerts_rejected.labels("unknown", "unknown_routing_key").inc()
        return _invalid_event(["'routing_key' does not match any events_v2 integration"])
    try:
        await _commit(request, integration, [event.alert])
    except db.InvalidInput as exc:
        metrics.alerts_rejected.labels(integration.id, "invalid").inc()
        return _invalid_event([_unstorable(exc)])
    return jsonout.response(
        {"status": "success", "message": "Event processed", "dedup_key": event.alert.dedup_key}, 202
    )


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [
        web.post("/v1/webhooks/alertmanager", alertmanager_webhook),
        web.post("/v2/enqueue", events_v2_enqueue),
        web.post("/v2/enqueue/", events_v2_enqueue),
    ]
