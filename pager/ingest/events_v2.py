"""PagerDuty Events API v2 (`POST /v2/enqueue`): one event about one incident, named by `dedup_key`.

Errors mimic PagerDuty's 400 answer (one human string per problem, e.g.
"'payload.summary' is missing or blank") so tools written against PagerDuty
show them unchanged. Alertmanager's own `pagerduty_configs` buries the alert's
labels in `custom_details.firing` as text; those are lifted back into labels
(winning over payload fields) so its events route and classify like webhook ones.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing
import uuid

import msgspec

from pager import ingest, models

SUMMARY_MAX = 1024
DEDUP_KEY_MAX = 255
SEVERITIES = ("critical", "error", "warning", "info")

_ACTIONS = {action.value: action for action in models.Action}

_AlertText = tuple[dict[str, str], dict[str, str], str]  # labels, annotations, generator URL


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """`routing_key` is the integration token the sender authenticates with."""

    routing_key: str
    alert: models.Alert


class _Payload(msgspec.Struct):
    summary: typing.Any = None
    source: typing.Any = None
    severity: typing.Any = None
    timestamp: typing.Any = None
    component: typing.Any = None
    group: typing.Any = None
    class_: typing.Any = msgspec.field(default=None, name="class")
    custom_details: typing.Any = None


class _Event(msgspec.Struct):
    """Fields are loosely typed on purpose: checking them by hand reports every problem, not just the first."""

    routing_key: typing.Any = None
    event_action: typing.Any = None
    dedup_key: typing.Any = None
    payload: typing.Any = None
    images: typing.Any = None
    links: typing.Any = None
    client: typing.Any = None
    client_url: typing.Any = None


_decoder = msgspec.json.Decoder(_Event)


def _new_key() -> str:
    return uuid.uuid4().hex


class _Problems(list[str]):
    def text(self, value: object, name: str, *, required: bool = False, limit: int | None = None) -> str:
        """A string field, or '' after noting why it cannot be used."""
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.append(f"'{name}' is missing or blank")
            return ""
        if not isinstance(value, str):
            self.append(f"'{name}' is invalid (must be a string)")
            return ""
        if limit is not None and len(value) > limit:
            self.append(f"'{name}' is too long ({len(value)} characters; the maximum is {limit})")
        return value


def parse(body: bytes, new_key: typing.Callable[[], str] = _new_key) -> Event:
    """Decode one event; InvalidPayload lists every problem, PagerDuty style."""
    try:
        event = _decoder.decode(ingest.without_nul(body))
    except msgspec.ValidationError:
        raise ingest.InvalidPayload(["the request body must be a JSON object (an Events API v2 event)"]) from None
    except msgspec.DecodeError as exc:
        detail = "it is empty" if not body.strip() else str(exc).removeprefix("JSON is malformed: ")
        raise ingest.InvalidPayload([f"the request body is not valid JSON: {detail}"]) from None

    problems = _Problems()
    routing_key = problems.text(event.routing_key, "routing_key", required=True)
    action = _action(event.event_action, problems)
    is_trigger = action is None or action is models.Action.TRIGGER
    dedup_key = problems.text(event.dedup_key, "dedup_key", required=not is_trigger, limit=DEDUP_KEY_MAX)

    # Only a trigger must carry a payload. PagerDuty's published schema (the contract, issue 14:
    # tests/support/samples/pagerduty-events-v2-openapiv3.json) holds for every action, so a
    # payload or extras that violate it are refused whatever the action.
    trigger_problems = _Problems()
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    summary, source, starts_at = "", "", None
    if event.payload is None:
        if is_trigger:
            trigger_problems.append("'payload' is missing or blank")
    elif not isinstance(event.payload, dict):
        trigger_problems.append("'payload' is invalid (must be an object)")
    else:
        payload = msgspec.convert(event.payload, _Payload)
        summary = trigger_problems.text(payload.summary, "payload.summary", required=True, limit=SUMMARY_MAX)
        source = trigger_problems.text(payload.source, "payload.source", required=True)
        fields = {
            "severity": _severity(payload.severity, trigger_problems),
            "source": source,
            "component": trigger_problems.text(payload.component, "payload.component"),
            "group": trigger_problems.text(payload.group, "payload.group"),
            "class": trigger_problems.text(payload.class_, "payload.class"),
        }
        starts_at = _timestamp(payload.timestamp, trigger_problems)
        if payload.custom_details is not None and not isinstance(payload.custom_details, dict):
            trigger_problems.append("'payload.custom_details' is invalid (must be an object)")
        labels, annotations, am_alert = _details(payload.custom_details)
        labels.update((name, value) for name, value in fields.items() if value)
        if am_alert is not None:
            # The alert's own labels win: Alertmanager sends payload.severity "error" unless
            # configured otherwise, and the rules are written against the alert's severity label.
            am_labels, am_annotations, generator_url = am_alert
            labels.update(am_labels)
            annotations.update(am_annotations)
            source = generator_url or source
    for name, value in (("client", event.client), ("client_url", event.client_url)):
        value = trigger_problems.text(value, name)
        if value:
            annotations[name] = value
    for name, value in (("links", event.links), ("images", event.images)):
        found = extras_problems(name, value)
        trigger_problems.extend(found)
        if value and not found:
            annotations[name] = msgspec.json.encode(value).decode()
    problems.extend(trigger_problems)

    if problems:
        raise ingest.InvalidPayload(list(problems))
    assert action is not None
    dedup_key = dedup_key or new_key()
    return Event(
        routing_key=routing_key,
        alert=models.Alert(
            dedup_key=dedup_key,
            fingerprint=dedup_key,
            action=action,
            summary=summary,
            labels=labels,
            annotations=annotations,
            starts_at=starts_at,
            source=source,
        ),
    )


_EXTRA_FIELDS = {"links": ("href", ("href", "text")), "images": ("src", ("src", "href", "alt"))}


def extras_problems(name: str, value: object) -> list[str]:
    """What is wrong with `links` or `images` by PagerDuty's schema: arrays of objects with href (src) a string."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return [f"'{name}' is invalid (must be an array of objects)"]
    required, strings = _EXTRA_FIELDS[name]
    problems = []
    for i, item in enumerate(value):
        if required not in item:
            problems.append(f"'{name}[{i}].{required}' is missing")
        problems += [
            f"'{name}[{i}].{key}' is invalid (must be a string)"
            for key in strings
            if key in item and not isinstance(item[key], str)
        ]
    return problems


def _action(value: object, problems: _Problems) -> models.Action | None:
    if value is None or value == "":
        problems.append("'event_action' is missing or blank")
        return None
    action = _ACTIONS.get(value) if isinstance(value, str) else None
    if action is None:
        problems.append(
            "'event_action' is invalid (must be one of the following: 'trigger', 'acknowledge' or 'resolve')"
        )
    return action


def _severity(value: object, problems: _Problems) -> str:
    text = problems.text(value, "payload.severity", required=True)
    if text and text not in SEVERITIES:  # an enum in PagerDuty's schema: case counts
        problems.append(
            "'payload.severity' is invalid "
            f"(must be one of the following: 'critical', 'warning', 'error' or 'info'; got {text!r})"
        )
        return ""
    return text


def _timestamp(value: object, problems: _Problems) -> datetime.datetime | None:
    text = problems.text(value, "payload.timestamp")
    if not text:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(text)
    except ValueError:
        problems.append(f"'payload.timestamp' is invalid (must be an ISO 8601 date and time; got {text!r})")
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=datetime.UTC)


def _details(details: object) -> tuple[dict[str, str], dict[str, str], _AlertText | None]:
    """custom_details → (labels, annotations, Alertmanager's first alert if its text is there).

    Scalars become labels, anything nested an annotation (as JSON). When
    `firing` or `resolved` holds Alertmanager's alert text, that text is
    returned parsed instead of becoming a label.
    """
    if details is None:
        return {}, {}, None
    if not isinstance(details, dict):
        text = details if isinstance(details, str) else msgspec.json.encode(details).decode()
        return {}, {"custom_details": text}, None
    am_alert = next(
        (parsed for key in ("firing", "resolved") if (parsed := alertmanager_text(details.get(key))) is not None),
        None,
    )
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    for key, value in details.items():
        if value is None or (am_alert is not None and key in ("firing", "resolved")):
            continue
        if isinstance(value, str):
            labels[key] = value
        elif isinstance(value, (bool, int, float)):
            labels[key] = msgspec.json.encode(value).decode()
        else:
            annotations[key] = msgspec.json.encode(value).decode()
    return labels, annotations, am_alert


def alertmanager_text(text: object) -> _AlertText | None:
    """The first alert of Alertmanager's default `__text_alert_list` template: labels, annotations, source.

    The text reads "Labels:\\n - name = value\\n...Annotations:\\n - ...\\nSource: URL\\n" once per
    alert; a line that is not an entry continues the previous value (multi-line annotations).
    None when the text is not in that shape.
    """
    if not isinstance(text, str) or not text.startswith("Labels:\n"):
        return None
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    section, last, source = labels, None, ""
    for line in text[len("Labels:\n") :].split("\n"):
        if line.startswith(" - ") and " = " in line:
            last, _, value = line[3:].partition(" = ")
            section[last] = value
        elif line == "Annotations:":
            section, last = annotations, None
        elif line.startswith("Source:"):
            source = line[len("Source:") :].strip()
            break
        elif line == "Labels:":
            break
        elif last is not None:
            section[last] += "\n" + line
    return labels, annotations, source
