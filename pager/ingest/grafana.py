"""Grafana unified alerting's webhook contact point (body `version: "1"`): Alertmanager's shape and more.

Grafana's notification is Alertmanager's webhook notification (`groupKey`, `alerts[]` with their
`fingerprint`) plus `orgId`, `title`, `state`, `message`, and per alert `values`, `valueString`,
`silenceURL`, `dashboardURL`, `panelURL` and `imageURL`. The group is the incident, as with
Alertmanager; Grafana's extras are kept in the alert's annotations under Grafana's own names, so
the API, the ack page and the SMS can link the dashboard.
"""

from __future__ import annotations

import datetime
import typing

import msgspec

from pager import ingest, models
from pager.ingest import alertmanager

VERSION = "1"

EXTRAS = ("dashboardURL", "panelURL", "silenceURL", "imageURL", "valueString")
"""Per-alert fields Grafana adds to Alertmanager's, kept (when not empty) as annotations by these names."""

_ACTIONS = {"firing": models.Action.TRIGGER, "resolved": models.Action.RESOLVE}


class _Alert(msgspec.Struct):
    status: typing.Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    starts_at: datetime.datetime | None = msgspec.field(default=None, name="startsAt")
    ends_at: datetime.datetime | None = msgspec.field(default=None, name="endsAt")
    generator_url: str = msgspec.field(default="", name="generatorURL")
    fingerprint: str = ""
    dashboard_url: str = msgspec.field(default="", name="dashboardURL")
    panel_url: str = msgspec.field(default="", name="panelURL")
    silence_url: str = msgspec.field(default="", name="silenceURL")
    image_url: str = msgspec.field(default="", name="imageURL")
    value_string: str = msgspec.field(default="", name="valueString")
    values: dict[str, typing.Any] | None = None


class _Notification(msgspec.Struct):
    version: str
    group_key: str = msgspec.field(name="groupKey")
    alerts: list[_Alert]
    org_id: int | None = msgspec.field(default=None, name="orgId")
    title: str = ""
    state: str = ""
    message: str = ""


_decoder = msgspec.json.Decoder(_Notification)


def parse(body: bytes) -> list[models.Alert]:
    """Decode one Grafana notification; InvalidPayload names the JSON path of what is wrong."""
    try:
        notification = _decoder.decode(ingest.without_nul(body))
    except msgspec.ValidationError as exc:
        raise ingest.InvalidPayload([_explain(str(exc))]) from None
    except msgspec.DecodeError as exc:
        if not body.strip():
            raise ingest.InvalidPayload(
                ["$: the request body is empty: expected a Grafana webhook notification"]
            ) from None
        detail = str(exc).removeprefix("JSON is malformed: ")
        raise ingest.InvalidPayload([f"$: the request body is not valid JSON: {detail}"]) from None
    if notification.version != VERSION:
        hint = " (that is Alertmanager's: point it at /v1/webhooks/alertmanager)" if notification.version == "4" else ""
        raise ingest.InvalidPayload(
            [f"$.version: unsupported webhook version {notification.version!r}: expected {VERSION!r} (Grafana){hint}"]
        )
    if not notification.group_key:
        raise ingest.InvalidPayload(["$.groupKey: must not be empty: it names the incident"])
    return [_alert(notification, a) for a in notification.alerts]


def _alert(n: _Notification, a: _Alert) -> models.Alert:
    annotations: dict[str, typing.Any] = dict(a.annotations)
    for name, value in zip(EXTRAS, (a.dashboard_url, a.panel_url, a.silence_url, a.image_url, a.value_string)):
        if value:
            annotations[name] = value
    if a.values:
        annotations["values"] = a.values
    if n.org_id is not None:
        annotations["orgId"] = n.org_id
    summary = a.annotations.get("summary") or a.annotations.get("description") or _describe(a.labels, n.title)
    return models.Alert(
        dedup_key=n.group_key,
        fingerprint=a.fingerprint or alertmanager.fingerprint(a.labels),
        action=_ACTIONS[a.status],
        summary=summary,
        labels=a.labels,
        annotations=annotations,
        starts_at=a.starts_at if a.starts_at is not None and a.starts_at.year > 1 else None,
        ends_at=a.ends_at if a.ends_at is not None and a.ends_at.year > 1 else None,
        source=a.generator_url,
    )


def _describe(labels: typing.Mapping[str, str], title: str) -> str:
    """A summary for an alert without one: its rule's name and where it fires, else the notification's title."""
    name = labels.get("alertname")
    where = [f"{k}={labels[k]}" for k in ("instance", "job", "service", "grafana_folder") if labels.get(k)][:2]
    if name:
        return f"{name} ({', '.join(where)})" if where else name
    return title or "Grafana alert"


def _explain(message: str) -> str:
    """msgspec's 'Expected `str`, got `int` - at `$.alerts[0].status`' as a path-first message."""
    text, _, path = message.partition(" - at `")
    path = path.rstrip("`") or "$"
    if text.startswith("Object missing required field"):
        return f"{path}.{text.split('`')[1]}: required field is missing"
    if text.startswith("Invalid enum value"):
        return f'{path}: invalid value {text.removeprefix("Invalid enum value ")}: expected "firing" or "resolved"'
    if text.startswith("Invalid RFC3339"):
        return f"{path}: expected an RFC 3339 date and time such as 2026-01-05T09:00:00Z"
    return f"{path}: {text.replace('`', '')}"
