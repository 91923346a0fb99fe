"""Generic JSON webhooks: any tool that can POST JSON, read through the integration's JSONPath field mapping.

`fields: {summary: "$.title", dedup_key: "$.id", severity: "$.level", status: "$.state",
resolved_when: "ok"}`: one request is one event about one alert. `dedup_key` names the incident
(without it every request opens a new one, as Events v2 does); `severity` becomes the `severity`
label the classification rules read; `status` equal to one of `resolved_when` (any case) resolves.
A mapped field the body lacks is a 400 that names the field and its path.
"""

from __future__ import annotations

import functools
import typing
import uuid

import jsonpath_ng
import jsonpath_ng.ext
import msgspec

from pager import ingest, models

DEDUP_KEY_MAX = 255
SUMMARY_MAX = 1024


class Fields(typing.Protocol):
    """What `parse` reads of an integration's `fields:` (config.GenericFields)."""

    summary: str
    dedup_key: str | None
    severity: str | None
    status: str | None
    resolved_when: typing.Sequence[str]


@functools.lru_cache(maxsize=256)
def _compiled(path: str) -> jsonpath_ng.JSONPath:
    return jsonpath_ng.ext.parse(path)


def _new_key() -> str:
    return uuid.uuid4().hex


def parse(body: bytes, fields: Fields, new_key: typing.Callable[[], str] = _new_key) -> models.Alert:
    """One event from a JSON body; InvalidPayload lists every mapped field that cannot be read."""
    try:
        document = msgspec.json.decode(ingest.without_nul(body))
    except msgspec.DecodeError as exc:
        detail = "it is empty" if not body.strip() else str(exc).removeprefix("JSON is malformed: ")
        raise ingest.InvalidPayload([f"the request body is not valid JSON: {detail}"]) from None
    problems: list[str] = []
    found: dict[str, str] = {}
    for name in ("summary", "dedup_key", "severity", "status"):
        path = getattr(fields, name)
        if path is None:
            continue
        value = _one(document, name, path, problems)
        if value is not None:
            found[name] = value
    summary = found.get("summary", "")
    if "summary" in found and not summary.strip():
        problems.append(f"fields.summary ({fields.summary}): is blank")
    if len(summary) > SUMMARY_MAX:
        problems.append(f"fields.summary ({fields.summary}): is longer than {SUMMARY_MAX} characters")
    key = found.get("dedup_key")
    if key is not None and not key.strip():
        problems.append(f"fields.dedup_key ({fields.dedup_key}): is blank")
    if key is not None and len(key) > DEDUP_KEY_MAX:
        problems.append(f"fields.dedup_key ({fields.dedup_key}): is longer than {DEDUP_KEY_MAX} characters")
    if problems:
        raise ingest.InvalidPayload(problems)
    key = key or new_key()
    resolved = {r.lower() for r in fields.resolved_when}
    status = found.get("status")
    action = models.Action.RESOLVE if status is not None and status.lower() in resolved else models.Action.TRIGGER
    labels = {"severity": found["severity"].lower()} if "severity" in found else {}
    annotations = {"status": status} if status is not None else {}
    return models.Alert(
        dedup_key=key,
        fingerprint=key,
        action=action,
        summary=summary,
        labels=labels,
        annotations=annotations,
        source="generic",
    )


def _one(document: object, name: str, path: str, problems: list[str]) -> str | None:
    """The one scalar at `path`, as text; None after noting why not."""
    where = f"fields.{name} ({path})"
    matches = [m.value for m in _compiled(path).find(document)]
    if not matches:
        problems.append(f"{where}: not found in the body")
        return None
    if len(matches) > 1:
        problems.append(f"{where}: matches {len(matches)} values; expected one")
        return None
    value = matches[0]
    if value is None:
        problems.append(f"{where}: is null")
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    kind = "an object" if isinstance(value, dict) else "an array"
    problems.append(f"{where}: must be a string or a number, got {kind}")
    return None
