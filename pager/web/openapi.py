"""`GET /api/v1/openapi.json`: an OpenAPI 3.1 document of every HTTP path pager serves.

Written out by hand, next to the handlers it describes: `tests/daemon/test_openapi.py` fails when
the app registers a route this document does not describe, and a schemathesis run checks that
pager answers nothing the document does not promise (no undocumented status code, no 5xx but the
documented 503). A feature that adds a route adds its operation here.
"""

from __future__ import annotations

import copy
import functools
import importlib.metadata
import typing

from aiohttp import web

from pager.web import jsonout

PATH = "/api/v1/openapi.json"

Json = dict[str, typing.Any]


def _ref(name: str) -> Json:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Json, description: str) -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> Json:
    return _json(_ref("Error"), description)


def _body(schema: Json, *, required: bool = True) -> Json:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


UNAVAILABLE = {"$ref": "#/components/responses/Unavailable"}
UNAUTHORIZED = {"$ref": "#/components/responses/Unauthorized"}
READ_ONLY = {"$ref": "#/components/responses/ReadOnly"}
TOO_LARGE = {"$ref": "#/components/responses/TooLarge"}
BAD_REQUEST = {"$ref": "#/components/responses/BadRequest"}
NOT_FOUND = {"$ref": "#/components/responses/NotFound"}
API_AUTH = [{"bearer": []}]
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}, "description": "incident id"}

_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_PRIORITY = {"type": "string", "enum": ["P0", "P1", "P2", "P3"]}

SCHEMAS: Json = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "string", "description": "what is wrong and where"},
            "errors": {"type": "array", "items": {"type": "string"}},
            "detail": {"type": "string"},
            "incident": _ref("Incident"),
        },
    },
    "Incident": {
        "type": "object",
        "required": ["id", "number", "service", "priority", "status", "dedup_key", "summary", "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "number": {"type": "integer", "description": "short and human: what the SMS shows"},
            "service": {"type": "string"},
            "priority": _PRIORITY,
            "status": {"type": "string", "enum": ["triggered", "acknowledged", "resolved"]},
            "dedup_key": {"type": "string"},
            "summary": {"type": "string"},
            "created_at": {"type": "string", "format": "date-time"},
            "acknowledged_at": _TIME,
            "resolved_at": _TIME,
            "acknowledged_by": {"type": ["string", "null"]},
            "resolved_by": {"type": ["string", "null"]},
            "last_seen_at": _TIME,
            "integration": {"type": ["string", "null"]},
            "alert_count": {"type": "integer"},
            "priority_rule": {"type": ["string", "null"]},
            "labels": _STRING_MAP,
            "annotations": {"type": "object"},
            "escalation": {
                "type": "object",
                "properties": {
                    "policy": {"type": ["string", "null"]},
                    "step": {"type": "integer"},
                    "round": {"type": "integer"},
                    "next_at": _TIME,
                },
            },
            "alerts": {"type": "array", "items": {"type": "object"}},
            "timeline": {"type": "array", "items": _ref("TimelineEntry")},
        },
    },
    "TimelineEntry": {
        "type": "object",
        "required": ["id", "at", "kind", "message"],
        "properties": {
            "id": {"type": "integer"},
            "at": {"type": "string", "format": "date-time"},
            "kind": {"type": "string"},
            "actor": {"type": ["string", "null"], "description": "a user, an integration or an API token's name"},
            "message": {"type": "string"},
            "details": {"type": ["object", "null"]},
        },
    },
    "IncidentList": {
        "type": "object",
        "required": ["incidents", "next_cursor"],
        "properties": {
            "incidents": {"type": "array", "items": _ref("Incident")},
            "next_cursor": {"type": ["string", "null"], "description": "pass as `cursor` for the next page"},
        },
    },
    "NewIncident": {
        "type": "object",
        "required": ["service", "summary"],
        "properties": {
            "service": {"type": "string", "maxLength": 100},
            "summary": {"type": "string", "minLength": 1, "maxLength": 1024},
            "priority": {**_PRIORITY, "default": "P1"},
            "dedup_key": {"type": "string", "maxLength": 255},
            "labels": _STRING_MAP,
            "details": _STRING_MAP,
            "user": {"type": "string", "description": "the configured user acting"},
        },
    },
    "Actor": {
        "type": "object",
        "properties": {"user": {"type": "string", "description": "the configured user acting (default: api)"}},
    },
    "Note": {
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 10000}, "user": {"type": "string"}},
    },
    "OnCall": {
        "type": "object",
        "required": ["at", "oncall"],
        "properties": {
            "at": {"type": "string", "format": "date-time"},
            "oncall": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "target": {"type": "string", "examples": ["rotation:primary"]},
                        "users": {
                            "type": "array",
                            "items": {"type": "object", "properties": {"id": {"type": "string"}, "name": {}}},
                        },
                        "since": _TIME,
                        "until": _TIME,
                    },
                },
            },
        },
    },
    "AlertmanagerWebhook": {
        "type": "object",
        "description": "Prometheus Alertmanager's webhook payload, version 4",
        "required": ["version", "groupKey", "status", "alerts"],
        "properties": {
            "version": {"type": "string", "const": "4"},
            "groupKey": {"type": "string", "description": "the incident's dedup key"},
            "truncatedAlerts": {"type": "integer"},
            "status": {"type": "string", "enum": ["firing", "resolved"]},
            "receiver": {"type": "string"},
            "groupLabels": _STRING_MAP,
            "commonLabels": _STRING_MAP,
            "commonAnnotations": _STRING_MAP,
            "externalURL": {"type": "string"},
            "alerts": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["status", "labels"],
                    "properties": {
                        "status": {"type": "string", "enum": ["firing", "resolved"]},
                        "labels": _STRING_MAP,
                        "annotations": _STRING_MAP,
                        "startsAt": {"type": "string", "format": "date-time"},
                        "endsAt": {"type": "string", "format": "date-time"},
                        "generatorURL": {"type": "string"},
                        "fingerprint": {"type": "string"},
                    },
                },
            },
        },
    },
    "AlertmanagerAccepted": {
        "type": "object",
        "required": ["status", "incidents"],
        "properties": {
            "status": {"const": "success"},
            "incidents": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": ["integer", "null"]},
                        "dedup_key": {"type": "string"},
                        "service": {"type": "string"},
                        "created": {"type": "boolean"},
                        "status": {"type": "string"},
                    },
                },
            },
        },
    },
    "EventsV2Event": {
        "type": "object",
        "description": "PagerDuty Events API v2: the routing key is an events_v2 integration's token",
        "required": ["routing_key", "event_action"],
        "properties": {
            "routing_key": {"type": "string", "minLength": 32, "maxLength": 32},
            "event_action": {"type": "string", "enum": ["trigger", "acknowledge", "resolve"]},
            "dedup_key": {"type": "string", "maxLength": 255},
            "payload": {
                "type": "object",
                "required": ["summary", "source", "severity"],
                "properties": {
                    "summary": {"type": "string", "maxLength": 1024},
                    "source": {"type": "string"},
                    "severity": {"type": "string", "enum": ["critical", "error", "warning", "info"]},
                    "timestamp": {"type": "string", "format": "date-time"},
                    "component": {"type": "string"},
                    "group": {"type": "string"},
                    "class": {"type": "string"},
                    "custom_details": {},
                },
            },
            "images": {"type": "array"},
            "links": {"type": "array"},
            "client": {"type": "string"},
            "client_url": {"type": "string"},
        },
    },
    "EventsV2Accepted": {
        "type": "object",
        "required": ["status", "message", "dedup_key"],
        "properties": {
            "status": {"const": "success"},
            "message": {"const": "Event processed"},
            "dedup_key": {"type": "string"},
        },
    },
    "EventsV2Invalid": {
        "type": "object",
        "required": ["status", "message", "errors"],
        "properties": {
            "status": {"const": "invalid event"},
            "message": {"type": "string"},
            "errors": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Status": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
}

RESPONSES: Json = {
    "Unavailable": {
        "description": "the database is unreachable now (down, restarting, failing over): nothing was stored; retry",
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
        "content": {"application/json": {"schema": _ref("Error")}},
    },
    "Unauthorized": _error("no bearer token, or one pager does not know"),
    "ReadOnly": _error("a read-only API token (api_read_tokens_env) tried to write"),
    "TooLarge": _error("the body is larger than 1 MiB"),
    "BadRequest": _error("the request will never succeed as sent; the message says what is wrong and where"),
    "NotFound": _error("no such incident (or rotation, schedule, user)"),
}


def _html(description: str) -> Json:
    return {"description": description, "content": {"text/html": {"schema": {"type": "string"}}}}


_TWIML = {"200": {"description": "TwiML", "content": {"text/xml": {"schema": {"type": "string"}}}}}


def _twilio(operation_id: str, summary: str, ok: Json) -> Json:
    return {
        "post": {
            "operationId": operation_id,
            "summary": summary,
            "tags": ["twilio"],
            "description": "Every request must carry a valid X-Twilio-Signature for server.public_url + path.",
            "parameters": [{"name": "X-Twilio-Signature", "in": "header", "schema": {"type": "string"}}],
            "requestBody": {
                "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}},
            },
            "responses": {
                **ok,
                "400": _error("a form body that cannot be read"),
                "403": {"description": "signature missing or wrong, or SMS not configured"},
            },
        }
    }


_UI_ANSWERS = {
    "200": _html("the page"),
    "303": {"description": "done, or sign in first: see Location"},
    "400": _html("a form that will never succeed as sent; the page says why"),
    "401": _html("not signed in"),
    "403": _html("not allowed: no CSRF token on a POST, or not signed in"),
    "404": _html("no such incident or link"),
    "409": _html("the incident's state forbids it"),
    "410": _html("a sign-in link already used or expired"),
    "413": _html("body too large"),
    "503": UNAVAILABLE,
}


def _ui(operation_id: str, summary: str, *, form: bool = False, params: tuple[str, ...] = ()) -> Json:
    """An operation of the web UI (pager/web/ui): HTML for people, signed in by session cookie."""
    op: Json = {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["ui"],
        "responses": copy.deepcopy(_UI_ANSWERS),
    }
    if params:
        op["parameters"] = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in params]
    if form:
        op["requestBody"] = {
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {"type": "object", "properties": {"csrf": {"type": "string"}}}
                }
            }
        }
    return op


def _op(
    operation_id: str,
    summary: str,
    tag: str,
    ok: str = "200",
    *,
    auth: list[Json] | None = None,
    body: str | None = None,
    params: tuple[str, ...] = (),
    content: str = "application/json",
) -> Json:
    """An operation added by a later feature (issues 14, 15): its answers as the handlers give them."""
    writes = body is not None
    responses: Json = {
        ok: {"description": "done", "content": {content: {"schema": {}}}},
        "400": BAD_REQUEST,
        "401": UNAUTHORIZED,
        "404": NOT_FOUND,
        "503": UNAVAILABLE,
    }
    if writes:
        responses |= {"403": READ_ONLY, "409": _error("conflicts with the current state"), "413": TOO_LARGE}
        responses["415"] = _error("a content type this path does not take")
    op: Json = {"operationId": operation_id, "summary": summary, "tags": [tag], "responses": responses}
    op["security"] = API_AUTH if auth is None else auth
    if params:
        op["parameters"] = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in params]
    if body == "json":
        op["requestBody"] = _body({"type": "object"}, required=False)
    elif body is not None:
        op["requestBody"] = {"content": {body: {"schema": {"type": "string"}}}}
    return op


def _incident_action(
    operation_id: str, summary: str, ok: str = "200", body: Json | None = None, conflict: bool = True
) -> Json:
    responses: Json = {
        ok: _json(_ref("Incident"), "the incident afterwards")
        if ok == "200"
        else _json({"type": "object", "properties": {"status": {"type": "string"}}}, "done"),
        "400": BAD_REQUEST,
        "401": UNAUTHORIZED,
        "403": READ_ONLY,
        "404": NOT_FOUND,
        "413": TOO_LARGE,
        "503": UNAVAILABLE,
    }
    if conflict:
        responses["409"] = _error("the incident's state forbids it (already resolved, not triggered, no policy)")
    op: Json = {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["incidents"],
        "security": API_AUTH,
        "parameters": [ID],
        "responses": responses,
    }
    if body is not None:
        op["requestBody"] = body
    return {"post": op}


def _paths() -> Json:
    incidents = {
        "get": {
            "operationId": "listIncidents",
            "summary": "List incidents, newest first",
            "tags": ["incidents"],
            "security": API_AUTH,
            "parameters": [
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"type": "string", "enum": ["triggered", "acknowledged", "resolved", "open"]},
                },
                {"name": "service", "in": "query", "schema": {"type": "string"}},
                {"name": "priority", "in": "query", "schema": _PRIORITY},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "default": 100}},
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
            ],
            "responses": {
                "200": _json(_ref("IncidentList"), "a page of incidents (limit capped at 1000)"),
                "400": BAD_REQUEST,
                "401": UNAUTHORIZED,
                "503": UNAVAILABLE,
            },
        },
        "post": {
            "operationId": "createIncident",
            "summary": "Open an incident by hand",
            "tags": ["incidents"],
            "security": API_AUTH,
            "requestBody": _body(_ref("NewIncident")),
            "responses": {
                "201": {
                    **_json(_ref("Incident"), "opened; paging starts at once"),
                    "headers": {"Location": {"schema": {"type": "string"}}},
                    "links": {
                        name: {"operationId": op, "parameters": {"id": "$response.body#/id"}}
                        for name, op in (
                            ("get", "getIncident"),
                            ("acknowledge", "acknowledgeIncident"),
                            ("resolve", "resolveIncident"),
                            ("note", "addNote"),
                            ("escalate", "escalateIncident"),
                        )
                    },
                },
                "400": BAD_REQUEST,
                "401": UNAUTHORIZED,
                "403": READ_ONLY,
                "409": _error("an open incident on the service already has this dedup_key"),
                "413": TOO_LARGE,
                "503": UNAVAILABLE,
            },
        },
    }
    actor = _body(_ref("Actor"), required=False)
    ingest_common = {"413": TOO_LARGE, "503": UNAVAILABLE}
    enqueue = {
        "post": {
            "operationId": "enqueueEvent",
            "summary": "PagerDuty Events API v2 (Alertmanager's pagerduty_configs work unchanged)",
            "tags": ["ingest"],
            "requestBody": _body(_ref("EventsV2Event")),
            "responses": {
                "202": _json(_ref("EventsV2Accepted"), "committed"),
                **ingest_common,
                "400": _json(_ref("EventsV2Invalid"), "invalid event, or a routing key no integration has"),
            },
        }
    }
    return {
        "/healthz": {
            "get": {
                "operationId": "healthz",
                "summary": "The process is alive",
                "tags": ["health"],
                "responses": {"200": _json(_ref("Status"), "alive")},
            }
        },
        "/readyz": {
            "get": {
                "operationId": "readyz",
                "summary": "The database is reachable (and read-write)",
                "tags": ["health"],
                "responses": {"200": _json(_ref("Status"), "ready"), "503": UNAVAILABLE},
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus exposition of every pager_* metric",
                "tags": ["health"],
                "responses": {
                    "200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}
                },
            }
        },
        "/v1/webhooks/alertmanager": {
            "post": {
                "operationId": "alertmanagerWebhook",
                "summary": "Prometheus Alertmanager webhook; one group is one incident",
                "tags": ["ingest"],
                "security": [{"bearer": []}],
                "requestBody": _body(_ref("AlertmanagerWebhook")),
                "responses": {
                    "200": _json(_ref("AlertmanagerAccepted"), "committed"),
                    **ingest_common,
                    "400": _error("not an Alertmanager v4 payload; `errors` names each problem's JSON path"),
                    "401": _error("no bearer token, or none of an alertmanager integration"),
                },
            }
        },
        "/v2/enqueue": enqueue,
        "/v2/enqueue/": {"post": {**copy.deepcopy(enqueue["post"]), "operationId": "enqueueEventTrailingSlash"}},
        "/a/{token}": {
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {
                "operationId": "showAckPage",
                "summary": "The ack page an SMS links to; only shows (link previewers must not acknowledge)",
                "tags": ["ack"],
                "responses": {"200": _html("the incident and its buttons"), "404": _html("unknown or expired link")},
            },
            "post": {
                "operationId": "actOnAckPage",
                "summary": "Acknowledge or resolve as the person the link was sent to",
                "tags": ["ack"],
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "type": "object",
                                "properties": {"action": {"type": "string", "enum": ["acknowledge", "resolve"]}},
                            }
                        }
                    }
                },
                "responses": {
                    "303": {"description": "done; see the page again"},
                    "400": _html("no such action"),
                    "404": _html("unknown or expired link"),
                    "409": _html("already resolved"),
                    "413": _html("body too large"),
                    "503": UNAVAILABLE,
                },
            },
        },
        "/v1/twilio/sms": _twilio(
            "twilioInboundSms",
            "Twilio's incoming-SMS webhook: `ack 1234`, `res 1234`",
            {"200": {"description": "TwiML reply", "content": {"text/xml": {"schema": {"type": "string"}}}}},
        ),
        "/v1/twilio/voice/status": _twilio(
            "twilioVoiceStatus",
            "Twilio's call status callback: no-answer, busy and failed fall back like an undelivered SMS",
            {"204": {"description": "recorded"}},
        ),
        "/v1/twilio/voice/calls/{token}": {
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": _twilio("voiceCallTwimlGet", "The call's TwiML: what it says and the keypress menu", _TWIML)["post"],
            "post": _twilio("voiceCallTwiml", "The call's TwiML: what it says and the keypress menu", _TWIML)["post"],
        },
        "/v1/twilio/voice/calls/{token}/gather": {
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": _twilio("voiceCallGather", "The key pressed: 1 acknowledge, 2 resolve, 3 escalate now", _TWIML)[
                "post"
            ],
        },
        "/v1/slack/interactive": {
            "post": {
                "operationId": "slackInteractive",
                "summary": "Slack button presses (Acknowledge, Resolve), verified by X-Slack-Signature (v0)",
                "tags": ["slack"],
                "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
                "responses": {
                    "200": {"description": "handled; Slack is told the outcome"},
                    "400": {"description": "no payload, or a button without an incident"},
                    "401": {"description": "signature wrong or timestamp more than 5 minutes off"},
                    "403": {"description": "Slack is not configured"},
                },
            }
        },
        "/api/v1/channels": {
            "get": _op("listChannels", "Each channel and webhook on or off, and numbers that replied STOP", "channels")
        },
        "/v1/twilio/status": _twilio(
            "twilioStatusCallback", "Twilio's delivery status callback", {"204": {"description": "recorded"}}
        ),
        "/": {"get": _ui("uiIncidents", "Incidents, open first, with filters")},
        "/incidents/{id}": {"get": _ui("uiIncident", "One incident: alerts, timeline, actions", params=("id",))},
        "/incidents/{id}/{action}": {
            "post": _ui(
                "uiAct",
                "Acknowledge, resolve, escalate or note, as the signed-in user",
                form=True,
                params=("id", "action"),
            )
        },
        "/oncall": {"get": _ui("uiOncall", "Who is on call now and the next four weeks")},
        # the web UI's screens for issues 14 and 15
        "/maintenance": {
            "get": _ui("uiMaintenance", "Active and upcoming maintenance windows, and the form to start one"),
            "post": _ui(
                "uiMaintenanceStart", "Start or schedule a maintenance window, as the signed-in user", form=True
            ),
        },
        "/maintenance/{id}/end": {
            "post": _ui(
                "uiMaintenanceEnd", "End a maintenance window now, as the signed-in user", form=True, params=("id",)
            )
        },
        "/reports": {
            "get": _ui("uiReports", "The incident report as tables with its picture, for a period and service")
        },
        "/reports/incidents.svg": {
            "get": {
                "operationId": "uiReportPicture",
                "summary": "The incident report's picture for the /reports page (session, not token)",
                "tags": ["ui"],
                "responses": {
                    "200": {"description": "the picture", "content": {"image/svg+xml": {"schema": {}}}},
                    "401": _html("not signed in"),
                    "403": _html("not allowed"),
                    "501": {"description": "matplotlib is not installed (the reports extra)"},
                    "503": UNAVAILABLE,
                },
            }
        },
        "/incidents/{id}/postmortem": {
            "get": _ui(
                "uiPostmortem", "The post-mortem, rendered or as Markdown (saved, else pager's draft)", params=("id",)
            ),
            "post": _ui(
                "uiPostmortemSave", "Save the edited post-mortem, as the signed-in user", form=True, params=("id",)
            ),
        },
        "/incidents/{id}/actions": {
            "post": _ui(
                "uiActionAdd", "Add an action item to the incident, as the signed-in user", form=True, params=("id",)
            )
        },
        "/actions/{id}/done": {
            "post": _ui("uiActionDone", "Mark an action item done, as the signed-in user", form=True, params=("id",))
        },
        "/events": {
            "get": {
                "operationId": "uiEvents",
                "summary": "Server-sent events telling open pages that incidents changed",
                "tags": ["ui"],
                "responses": {
                    "200": {"description": "an event stream", "content": {"text/event-stream": {"schema": {}}}},
                    "401": _html("not signed in"),
                    "403": _html("not allowed"),
                },
            }
        },
        "/signin": {
            "get": _ui("uiSigninForm", "The sign-in form"),
            "post": _ui("uiSigninAsk", "Send a one-time sign-in link by email or SMS", form=True),
        },
        "/signin/{token}": {
            "get": _ui("uiSigninConfirm", "Confirm a one-time sign-in link", params=("token",)),
            "post": _ui("uiSigninRedeem", "Use the link: start a session", form=True, params=("token",)),
        },
        "/signout": {"post": _ui("uiSignout", "Sign out here", form=True)},
        "/signout/{where}": {
            "post": _ui("uiSignoutWhere", "Sign out here or everywhere", form=True, params=("where",))
        },
        "/static/{path}": {
            "get": {
                "operationId": "uiStatic",
                "summary": "The web UI's stylesheet and script",
                "tags": ["ui"],
                "parameters": [{"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": {"description": "the file"},
                    "403": {"description": "refused"},
                    "404": {"description": "no such file"},
                },
            }
        },
        # issue 15: learning from incidents
        "/api/v1/incidents/{id}/postmortem": {
            "get": _op(
                "getPostmortem",
                "The post-mortem (pager's draft until one is saved)",
                "learning",
                params=("id",),
                content="text/markdown",
            ),
            "put": _op(
                "putPostmortem", "Save the post-mortem's Markdown", "learning", params=("id",), body="text/markdown"
            ),
        },
        "/api/v1/incidents/{id}/actions": {
            "get": _op("listIncidentActions", "The incident's action items", "learning", params=("id",)),
            "post": _op("createAction", "Add an action item", "learning", "201", params=("id",), body="json"),
        },
        "/api/v1/actions": {"get": _op("listActions", "Action items across incidents", "learning")},
        "/api/v1/actions/{id}/done": {
            "post": _op("actionDone", "Mark an action item done", "learning", params=("id",), body="json")
        },
        "/api/v1/drills": {
            "post": _op("startDrill", "Start a drill through the real chain", "learning", "201", body="json")
        },
        "/api/v1/drills/{id}": {"get": _op("getDrill", "A drill's report", "learning", params=("id",))},
        "/api/v1/reports/incidents": {"get": _op("incidentReport", "Patterns across incidents", "learning")},
        "/api/v1/reports/incidents.svg": {
            "get": {
                **_op("incidentReportPicture", "The report's picture", "learning", content="image/svg+xml"),
                "responses": {
                    **_op("y", "", "learning", content="image/svg+xml")["responses"],
                    "501": _error("matplotlib (the reports extra) is not installed"),
                },
            }
        },
        # issue 14: more ways in, and alert hygiene
        "/v1/webhooks/grafana": {
            "post": _op(
                "grafanaWebhook", "Grafana unified alerting's webhook", "ingest", auth=[{"bearer": []}, {}], body="json"
            ),
            "put": _op("grafanaWebhookPut", "The same, as PUT", "ingest", auth=[{"bearer": []}, {}], body="json"),
        },
        "/v1/webhooks/generic": {
            "post": _op(
                "genericWebhook", "Generic JSON mapped by JSONPath", "ingest", auth=[{"bearer": []}], body="json"
            )
        },
        "/v2/change/enqueue": {
            "post": _op("enqueueChange", "PagerDuty Events API v2 change events", "ingest", "202", auth=[], body="json")
        },
        "/api/v1/changes": {"get": _op("listChanges", "Change events per service", "hygiene")},
        "/v1/heartbeats/{id}": {
            "get": _op("heartbeatGet", "A heartbeat's beat", "hygiene", auth=[{"bearer": []}, {}], params=("id",)),
            "post": _op(
                "heartbeatPost", "A heartbeat's beat", "hygiene", auth=[{"bearer": []}, {}], params=("id",), body="json"
            ),
        },
        "/api/v1/heartbeats": {"get": _op("listHeartbeats", "Each heartbeat's last beat and state", "hygiene")},
        "/api/v1/maintenance": {
            "get": _op("listMaintenance", "Active and upcoming maintenance windows", "hygiene"),
            "post": _op("startMaintenance", "Start or schedule a maintenance window", "hygiene", "201", body="json"),
        },
        "/api/v1/maintenance/{id}": {
            "delete": {
                **_op("endMaintenance", "End a maintenance window now", "hygiene", params=("id",)),
                "responses": {
                    **_op("x", "", "hygiene", params=("id",), body="json")["responses"],
                    "200": {"description": "ended"},
                },
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "tags": ["meta"],
                "security": [],
                "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1")},
            }
        },
        "/api/v1/incidents": incidents,
        "/api/v1/incidents/{id}": {
            "get": {
                "operationId": "getIncident",
                "summary": "One incident with its alerts and timeline",
                "tags": ["incidents"],
                "security": API_AUTH,
                "parameters": [ID],
                "responses": {
                    "200": _json(_ref("Incident"), "the incident"),
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                    "503": UNAVAILABLE,
                },
            }
        },
        "/api/v1/incidents/{id}/acknowledge": _incident_action(
            "acknowledgeIncident", "Acknowledge: stops every pending page", body=actor
        ),
        "/api/v1/incidents/{id}/resolve": _incident_action("resolveIncident", "Resolve", body=actor),
        "/api/v1/incidents/{id}/notes": _incident_action(
            "addNote", "Add a note to the timeline", ok="201", body=_body(_ref("Note")), conflict=False
        ),
        "/api/v1/incidents/{id}/escalate": _incident_action("escalateIncident", "Page the next step now", body=actor),
        "/api/v1/incidents/{id}/roles": _incident_action(
            "setRoles",
            "Set or clear (null) commander, comms, tech_lead and scribe, as `by`",
            body=_body({"type": "object", "additionalProperties": {"type": ["string", "null"]}}),
            conflict=False,
        ),
        "/api/v1/incidents/{id}/updates": {
            "get": {
                **_op("listUpdates", "The incident's status updates, oldest first", "incidents", params=("id",)),
            },
            "post": {
                **_op(
                    "postUpdate",
                    "A status update (status, known, doing, unknown, next_update_in, by): timeline, stakeholders, /status",
                    "incidents",
                    "201",
                    body="json",
                    params=("id",),
                ),
            },
        },
        "/u/{token}": {
            "parameters": [{"name": "token", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {
                "operationId": "showUpdatePage",
                "summary": "The page a cadence reminder links to: post a status update from a phone",
                "tags": ["ack"],
                "responses": {"200": _html("the incident and the update form"), "404": _html("unknown link")},
            },
            "post": {
                "operationId": "postUpdatePage",
                "summary": "Post the status update as the person the link was sent to",
                "tags": ["ack"],
                "requestBody": {"content": {"application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
                "responses": {
                    "303": {"description": "posted; see the page again"},
                    "400": _html("an update without a status, or an unreadable next update time"),
                    "404": _html("unknown link"),
                    "409": _html("the incident is resolved"),
                },
            },
        },
        "/status": {
            "get": {
                "operationId": "statusPage",
                "summary": "The public status page: status-page services and their incidents' status updates",
                "tags": ["status"],
                "security": [],
                "responses": {"200": _html("the status page"), "503": UNAVAILABLE},
            }
        },
        "/status.json": {
            "get": {
                "operationId": "statusJson",
                "summary": "The public status page as JSON",
                "tags": ["status"],
                "security": [],
                "responses": {
                    "200": _json({"type": "object"}, "services and their open incidents"),
                    "503": UNAVAILABLE,
                },
            }
        },
        "/api/v1/oncall": {
            "get": {
                "operationId": "oncall",
                "summary": "Who is on call at an instant (default now), and until when",
                "tags": ["oncall"],
                "security": API_AUTH,
                "parameters": [
                    {"name": "at", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "rotation", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _json(_ref("OnCall"), "every rotation and schedule"),
                    "400": BAD_REQUEST,
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                },
            }
        },
        "/api/v1/rotations/{id}.ics": {
            "get": {
                "operationId": "rotationCalendar",
                "summary": "A rotation's or schedule's shifts as iCalendar",
                "tags": ["oncall"],
                "security": [{"bearer": []}, {"calendar_token": []}],
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "user", "in": "query", "schema": {"type": "string"}},
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                    {"name": "to", "in": "query", "schema": {"type": "string", "format": "date-time"}},
                ],
                "responses": {
                    "200": {"description": "shifts", "content": {"text/calendar": {"schema": {"type": "string"}}}},
                    "400": BAD_REQUEST,
                    "401": UNAUTHORIZED,
                    "404": NOT_FOUND,
                },
            }
        },
    }


def _version() -> str:
    try:
        return importlib.metadata.version("pager")
    except importlib.metadata.PackageNotFoundError:
        return "0"


@functools.cache
def document() -> Json:
    paths = _paths()
    for item in paths.values():
        for op in item.values():
            if isinstance(op, dict) and "responses" in op and "requestBody" in op and "413" not in op["responses"]:
                op["responses"]["413"] = TOO_LARGE
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "pager",
            "version": _version(),
            "description": "Self-hosted on-call paging. 2xx only after the alert is committed; 4xx for input "
            "that will never succeed, saying what is wrong and where; 503 with Retry-After while the database "
            "is unreachable (retry).",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "responses": RESPONSES,
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an API token (api_tokens_env, or read-only api_read_tokens_env) for /api/v1; "
                    "an alertmanager integration's token for its webhook",
                },
                "calendar_token": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
    }


async def serve(request: web.Request) -> web.Response:
    return jsonout.response(document())


def routes() -> typing.Iterable[web.AbstractRouteDef]:
    return [web.get(PATH, serve)]
