"""PagerDuty change events (`POST /v2/change/enqueue`): a deploy or other change, told to a service.

A change opens nothing and pages nobody; it is kept for its service (routed as an alert would be,
by its custom details) and shown on incidents that open within 2 h after it. Errors read as
PagerDuty's ("'payload.summary' is missing or blank"), and the body must fit PagerDuty's
published schema (ChangeEventPayload).
"""

from __future__ import annotations

import dataclasses
import datetime
import typing

import msgspec

from pager import ingest
from pager.ingest import events_v2

SUMMARY_MAX = 1024


@dataclasses.dataclass(frozen=True, slots=True)
class ChangeEvent:
    routing_key: str
    summary: str
    source: str | None
    timestamp: datetime.datetime | None
    custom_details: dict[str, typing.Any]
    links: list[dict[str, typing.Any]]
    images: list[dict[str, typing.Any]]

    @property
    def labels(self) -> dict[str, str]:
        """What routes it: its scalar custom details, and its source."""
        out = {
            k: v if isinstance(v, str) else msgspec.json.encode(v).decode()
            for k, v in self.custom_details.items()
            if isinstance(v, (str, int, float, bool))
        }
        if self.source:
            out.setdefault("source", self.source)
        return out


class _Payload(msgspec.Struct):
    summary: typing.Any = None
    source: typing.Any = None
    timestamp: typing.Any = None
    custom_details: typing.Any = None


class _Event(msgspec.Struct):
    routing_key: typing.Any = None
    payload: typing.Any = None
    links: typing.Any = None
    images: typing.Any = None


_decoder = msgspec.json.Decoder(_Event)


def parse(body: bytes) -> ChangeEvent:
    """Decode one change event; InvalidPayload lists every problem, PagerDuty style."""
    try:
        event = _decoder.decode(ingest.without_nul(body))
    except msgspec.ValidationError:
        raise ingest.InvalidPayload(["the request body must be a JSON object (a change event)"]) from None
    except msgspec.DecodeError as exc:
        detail = "it is empty" if not body.strip() else str(exc).removeprefix("JSON is malformed: ")
        raise ingest.InvalidPayload([f"the request body is not valid JSON: {detail}"]) from None
    problems = events_v2._Problems()
    routing_key = problems.text(event.routing_key, "routing_key", required=True)
    summary, source, timestamp, details = "", "", None, {}
    if event.payload is None:
        problems.append("'payload' is missing or blank")
    elif not isinstance(event.payload, dict):
        problems.append("'payload' is invalid (must be an object)")
    else:
        payload = msgspec.convert(event.payload, _Payload)
        summary = problems.text(payload.summary, "payload.summary", required=True, limit=SUMMARY_MAX)
        source = problems.text(payload.source, "payload.source")
        timestamp = events_v2._timestamp(payload.timestamp, problems)
        if payload.custom_details is not None and not isinstance(payload.custom_details, dict):
            problems.append("'payload.custom_details' is invalid (must be an object)")
        elif payload.custom_details is not None:
            details = payload.custom_details
    for name, value in (("links", event.links), ("images", event.images)):
        problems.extend(events_v2.extras_problems(name, value))
    if problems:
        raise ingest.InvalidPayload(list(problems))
    return ChangeEvent(
        routing_key=routing_key,
        summary=summary,
        source=source or None,
        timestamp=timestamp,
        custom_details=details,
        links=event.links or [],
        images=event.images or [],
    )
