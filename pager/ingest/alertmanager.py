"""Prometheus Alertmanager's webhook (version 4): one notification is one alert group.

The group's `groupKey` names the incident; each alert's fingerprint names the
alert inside it. This is the hot path, so the body is decoded and validated in
a single msgspec pass straight into typed structs, and the slow work of
explaining a bad body happens only when there is one.
"""

from __future__ import annotations

import datetime
import re
import typing

import msgspec

from pager import ingest, models

VERSION = "4"

_ACTIONS = {"firing": models.Action.TRIGGER, "resolved": models.Action.RESOLVE}
_IDENTIFYING = ("service", "job", "instance", "namespace", "pod", "cluster")  # what tells two alerts of one name apart


class _Alert(msgspec.Struct, gc=False):
    status: typing.Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = {}
    starts_at: datetime.datetime | None = msgspec.field(default=None, name="startsAt")
    ends_at: datetime.datetime | None = msgspec.field(default=None, name="endsAt")
    generator_url: str = msgspec.field(default="", name="generatorURL")
    fingerprint: str = ""


class _Notification(msgspec.Struct, gc=False):
    version: str
    group_key: str = msgspec.field(name="groupKey")
    alerts: list[_Alert]


_decoder = msgspec.json.Decoder(_Notification)


def parse(body: bytes) -> list[models.Alert]:
    """Decode one webhook notification; InvalidPayload names the JSON path of what is wrong."""
    try:
        notification = _decoder.decode(ingest.without_nul(body))
    except msgspec.ValidationError as exc:
        raise ingest.InvalidPayload([_explain(body, str(exc))]) from None
    except msgspec.DecodeError as exc:
        raise ingest.InvalidPayload([_malformed(body, str(exc))]) from None
    if notification.version != VERSION:
        raise ingest.InvalidPayload(
            [f"$.version: unsupported webhook version {notification.version!r}: expected {VERSION!r} (Alertmanager)"]
        )
    key = notification.group_key
    if not key:
        raise ingest.InvalidPayload(["$.groupKey: must not be empty: it names the incident"])
    return [
        models.Alert(
            dedup_key=key,
            fingerprint=a.fingerprint or fingerprint(a.labels),
            action=_ACTIONS[a.status],
            summary=a.annotations.get("summary") or a.annotations.get("description") or _describe(a.labels),
            labels=a.labels,
            annotations=a.annotations,
            starts_at=a.starts_at if a.starts_at is not None and a.starts_at.year > 1 else None,
            ends_at=a.ends_at if a.ends_at is not None and a.ends_at.year > 1 else None,
            source=a.generator_url,
        )
        for a in notification.alerts
    ]


def fingerprint(labels: typing.Mapping[str, str]) -> str:
    """Alertmanager's own fingerprint of a label set (FNV-1a 64 over sorted pairs), so ours agree with its."""
    h = 0xCBF29CE484222325
    for name in sorted(labels):
        for byte in b"%s\xff%s\xff" % (name.encode(), labels[name].encode()):
            h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def _describe(labels: typing.Mapping[str, str]) -> str:
    """A summary for an alert that has none: its name and the labels that say where it fires."""
    where = [f"{k}={labels[k]}" for k in _IDENTIFYING if labels.get(k)][:3]
    if "alertname" not in labels and not where:
        where = [f"{k}={v}" for k, v in sorted(labels.items())]
    name = labels.get("alertname") or "alert"
    return f"{name} ({', '.join(where)})" if where else name


# --- explaining a rejected body (cold path) ---------------------------------------------

_TYPE_NAMES = {
    "object": "an object",
    "array": "an array",
    "str": "a string",
    "int": "a number",
    "float": "a number",
    "bool": "true or false",
    "null": "null",
    "datetime": "an RFC 3339 date and time",
}
_HINTS = {
    "status": 'expected "firing" or "resolved"',
}
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]|(\[\.\.\.\])")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _malformed(body: bytes, detail: str) -> str:
    if not body.strip():
        return "$: the request body is empty: expected an Alertmanager webhook notification (JSON)"
    return f"$: the request body is not valid JSON: {detail.removeprefix('JSON is malformed: ')}"


def _explain(body: bytes, message: str) -> str:
    """Turn msgspec's 'Expected `str`, got `int` - at `$.alerts[0].labels[...]`' into a path-first message."""
    text, _, path = message.partition(" - at `")
    path = _name_dict_keys(body, path.rstrip("`") or "$")
    if text.startswith("Object missing required field"):
        return f"{path}.{text.split('`')[1]}: required field is missing"
    if text.startswith("Expected"):
        expected, _, got = text.removeprefix("Expected ").partition(", got ")
        return f"{path}: expected {_type_name(expected)}, got {_type_name(got)}"
    if text.startswith("Invalid enum value"):
        field = path.rsplit(".", 1)[-1]
        return f"{path}: invalid value {text.removeprefix('Invalid enum value ')}: {_HINTS.get(field, 'not allowed')}"
    if text.startswith("Invalid RFC3339"):
        return f"{path}: expected an RFC 3339 date and time such as 2026-01-05T09:00:00Z"
    return f"{path}: {text.replace('`', '')}"


def _type_name(spec: str) -> str:
    return " or ".join(_TYPE_NAMES.get(t, t) for t in spec.strip("`").split(" | "))


def _name_dict_keys(body: bytes, path: str) -> str:
    """msgspec writes `[...]` for a bad value inside a dict; find which key holds the non-string value."""
    if "[...]" not in path:
        return path
    try:
        node: typing.Any = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return path
    out = "$"
    for m in _PATH_PART.finditer(path):
        field, index, unknown = m.groups()
        if field is not None:
            node = node.get(field) if isinstance(node, dict) else None
            out += f".{field}"
        elif index is not None:
            node = node[int(index)] if isinstance(node, list) and int(index) < len(node) else None
            out += f"[{index}]"
        else:
            bad = next((k for k, v in node.items() if not isinstance(v, str)), None) if isinstance(node, dict) else None
            if bad is None:
                return path
            out += f".{bad}" if _IDENT.fullmatch(bad) else f"[{msgspec.json.encode(bad).decode()}]"
            node = node[bad]
    return out
