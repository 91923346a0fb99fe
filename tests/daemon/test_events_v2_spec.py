"""PagerDuty's published Events v2 OpenAPI document is the contract of /v2/enqueue and /v2/change/enqueue.

Requests are generated from the document's own schemas (hypothesis-jsonschema) and posted to the real
app; `jsonschema` judges each body by the same schemas. A body the schema refuses must be a 400 that
names the offending field; a body it accepts must be a 202 when PagerDuty's documented rules beyond
the schema hold too (a trigger carries a payload, an acknowledge or resolve a dedup_key, summary and
source are not blank, dedup_key fits 255 characters, summary 1024, the routing key is an
integration's), else a 400; nothing is ever a 5xx. The document is
tests/support/samples/pagerduty-events-v2-openapiv3.json (its origin is in that folder's README).
"""

from __future__ import annotations

import asyncio
import copy
import datetime
import http.client
import json
import typing
import urllib.parse

import hypothesis
import hypothesis_jsonschema
import jsonschema
from hypothesis import strategies as st

from tests import support

SPEC = json.loads((support.SAMPLES / "pagerduty-events-v2-openapiv3.json").read_text())
EXAMPLES = 100
"""Generated requests per path and kind (valid by the schema, or broken in one place): 400 in all, ~30 s."""
CASES: dict[str, int] = {}


def _resolve(node: typing.Any) -> typing.Any:
    """The schema with its $refs inlined and OpenAPI's `format: url` (no JSON Schema format) dropped."""
    if isinstance(node, dict):
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            return _resolve(SPEC["components"]["schemas"][name])
        return {
            k: _resolve(v) for k, v in node.items() if not (k == "format" and v == "url") and not k.startswith("x-")
        }
    if isinstance(node, list):
        return [_resolve(v) for v in node]
    return node


def request_schema(path: str) -> dict[str, typing.Any]:
    body = SPEC["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]
    return _resolve(body)


def _json_text(value: typing.Any) -> bool:
    """Only bodies JSON can carry (hypothesis may make floats JSON has no words for)."""
    try:
        json.dumps(value, allow_nan=False)
    except ValueError:
        return False
    return True


def valid_bodies(schema: dict[str, typing.Any]) -> st.SearchStrategy[dict[str, typing.Any]]:
    def with_our_key(body: dict[str, typing.Any], ours: bool) -> dict[str, typing.Any]:
        return {**body, "routing_key": support.EVENTS_KEY} if ours else body

    return st.builds(with_our_key, hypothesis_jsonschema.from_schema(schema).filter(_json_text), st.booleans())


_WRONG = {"string": 42, "object": "not an object", "array": {"not": "an array"}}


def _breakable(schema: dict[str, typing.Any], body: typing.Any, path: tuple[typing.Any, ...] = ()):
    """(path, how) pairs: each required key that can be dropped, each typed or enum field that can be made wrong."""
    if not isinstance(body, dict) or schema.get("type") not in (None, "object"):
        return
    for key in schema.get("required", ()):
        if key in body:
            yield path + (key,), "drop"
    for key, sub in schema.get("properties", {}).items():
        if key not in body:
            continue
        if "enum" in sub:
            yield path + (key,), "enum"
        elif sub.get("type") in _WRONG:
            yield path + (key,), "type"
        yield from _breakable(sub, body[key], path + (key,))
        if sub.get("type") == "array" and isinstance(body[key], list):
            for i, item in enumerate(body[key]):
                yield from _breakable(sub["items"], item, path + (key, i))


def _schema_at(schema: dict[str, typing.Any], path: tuple[typing.Any, ...]) -> dict[str, typing.Any]:
    node = schema
    for part in path:
        node = node["items"] if isinstance(part, int) else node["properties"][part]
    return node


@st.composite
def broken_bodies(draw: typing.Any, schema: dict[str, typing.Any]) -> tuple[dict[str, typing.Any], str]:
    """A valid body broken in one place, and the field an error must name ('payload.summary', 'links[0].href')."""
    body = draw(valid_bodies(schema))
    where = list(_breakable(schema, body))
    hypothesis.assume(where)
    path, how = draw(st.sampled_from(where))
    broken = copy.deepcopy(body)
    parent = broken
    for part in path[:-1]:
        parent = parent[part]
    if how == "drop":
        del parent[path[-1]]
    elif how == "enum":
        parent[path[-1]] = draw(st.sampled_from(["Trigger", "CRITICAL", "page", ""]))
    else:
        parent[path[-1]] = _WRONG[_schema_at(schema, path)["type"]]
    name = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))
    return broken, name


class _Client:
    """One kept-alive HTTP connection to the app, from the fuzzing thread."""

    def __init__(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        self.path = parts.path
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)

    def post(self, body: dict[str, typing.Any]) -> tuple[int, dict[str, typing.Any]]:
        self.conn.request("POST", self.path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        resp = self.conn.getresponse()
        return resp.status, json.loads(resp.read() or b"{}")


def _beyond_the_schema(path: str, body: dict[str, typing.Any]) -> bool:
    """PagerDuty's documented rules the schema does not spell out."""
    if body.get("routing_key") != support.EVENTS_KEY:
        return False
    payload = body.get("payload")
    if isinstance(payload, dict):
        for key, limit in (("summary", 1024), ("source", None)) if path == "/enqueue" else (("summary", 1024),):
            value = payload.get(key)
            if isinstance(value, str) and (not value.strip() or (limit and len(value) > limit)):
                return False
        stamp = payload.get("timestamp")
        if isinstance(stamp, str):
            try:
                datetime.datetime.fromisoformat(stamp)
            except ValueError:
                return False
    if path == "/change/enqueue":
        return True
    key = body.get("dedup_key")
    if isinstance(key, str) and len(key) > 255:
        return False
    if body["event_action"] == "trigger":
        return payload is not None
    return isinstance(key, str) and bool(key.strip())


def fuzz(base: str, path: str) -> None:
    schema = request_schema(path)
    validator = jsonschema.Draft7Validator(schema)
    client = _Client(base.rstrip("/") + "/v2" + path)
    success = _resolve(SPEC["components"]["responses"]["Success"]["content"]["application/json"]["schema"])
    settings = hypothesis.settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        derandomize=True,
    )

    def answer_shape(status: int, answer: dict[str, typing.Any]) -> None:
        assert status < 500, (status, answer)
        if status == 202:
            jsonschema.validate(answer, success)
            assert answer["status"] == "success"
        else:
            assert status == 400, (status, answer)
            assert answer["status"] == "invalid event" and answer["errors"]
            assert all(isinstance(e, str) for e in answer["errors"])

    @settings
    @hypothesis.given(valid_bodies(schema))
    def schema_valid(body: dict[str, typing.Any]) -> None:
        assert validator.is_valid(body)
        CASES[path] = CASES.get(path, 0) + 1
        status, answer = client.post(body)
        answer_shape(status, answer)
        assert status == (202 if _beyond_the_schema(path, body) else 400), (body, answer)

    @settings
    @hypothesis.given(broken_bodies(schema))
    def schema_broken(case: tuple[dict[str, typing.Any], str]) -> None:
        body, field = case
        assert not validator.is_valid(body)
        CASES[path] = CASES.get(path, 0) + 1
        status, answer = client.post(body)
        answer_shape(status, answer)
        assert status == 400, (body, answer)
        assert any(f"'{field}'" in e for e in answer["errors"]), (field, answer["errors"])

    schema_valid()
    schema_broken()


async def test_both_paths_answer_as_pagerdutys_published_document_says(make_client):
    client = await make_client()
    base = str(client.make_url("/"))
    for path in ("/enqueue", "/change/enqueue"):
        await asyncio.to_thread(fuzz, base, path)
    print(f"spec fuzz: {CASES} ({sum(CASES.values())} requests)")
    assert CASES == {"/enqueue": 2 * EXAMPLES, "/change/enqueue": 2 * EXAMPLES}


async def test_a_body_past_512_kb_is_413_and_a_dedup_key_past_255_characters_400(make_client):
    client = await make_client()
    big = support.event("trigger", summary="disk full", custom=("x" * 600_000))
    resp = await client.post("/v2/enqueue", data=json.dumps(big), headers={"Content-Type": "application/json"})
    assert resp.status == 413
    resp = await client.post("/v2/change/enqueue", data=json.dumps(big), headers={"Content-Type": "application/json"})
    assert resp.status == 413
    long_key = support.event("resolve", dedup_key="k" * 256)
    resp = await client.post("/v2/enqueue", json=long_key)
    assert resp.status == 400
    assert (await resp.json())["errors"] == ["'dedup_key' is too long (256 characters; the maximum is 255)"]
