"""`GET /api/v1/openapi.json` documents every path pager serves, and pager keeps to it.

The route test fails when a feature registers a route without documenting it (add its operation to
pager/web/openapi.py). schemathesis (from PyPI; `.ci/run` installs it) then fuzzes a real
`pager run` from the document and must find no 5xx and no status code the document does not list.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import tempfile

import pytest
from aiohttp import web

from pager.web import app as web_app
from pager.web import openapi
from tests import support
from tests.support import daemons

METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _documented() -> set[tuple[str, str]]:
    return {
        (path, method.upper())
        for path, item in openapi.document()["paths"].items()
        for method in item
        if method in METHODS
    }


def _registered() -> set[tuple[str, str]]:
    app = web_app.create_app(support.settings())
    routes = {
        (r.resource.canonical + ("/{path}" if isinstance(r.resource, web.StaticResource) else ""), r.method)
        for r in app.router.routes()
        if r.resource is not None
    }
    # aiohttp answers HEAD for every GET by itself; a HEAD of its own would still need documenting
    return {(path, method) for path, method in routes if not (method == "HEAD" and (path, "GET") in routes)}


def test_every_route_the_app_registers_is_documented_and_nothing_else():
    assert sorted(_registered() - _documented()) == [], "document these in pager/web/openapi.py"
    assert sorted(_documented() - _registered()) == [], "documented but not served"


def test_the_document_is_valid_openapi_3_1():
    validator = pytest.importorskip("openapi_spec_validator", reason="openapi-spec-validator (PyPI) is not installed")
    doc = openapi.document()
    assert doc["openapi"].startswith("3.1")
    validator.validate(doc)


async def test_served_without_a_token(make_client):
    client = await make_client()
    resp = await client.get("/api/v1/openapi.json")
    assert resp.status == 200 and resp.content_type == "application/json"
    assert await resp.json() == openapi.document()


CONFIG = """
server: {{listen: "127.0.0.1:{port}", public_url: "http://127.0.0.1:{port}"}}
data_dir: "{data_dir}"
api_tokens_env: [PAGER_API_TOKEN]
users:
  - {{id: alice, name: Alice, phone: "+15551230001", email: alice@example.com}}
rotations:
  - {{id: primary, shift: 1w, handoff: "2026-01-05T09:00", members: [alice]}}
escalation_policies:
  - {{id: web, steps: [{{targets: ["rotation:primary"], ack_timeout: 5m}}]}}
services:
  - {{id: web, escalation_policy: web}}
integrations:
  - {{id: prod-am, type: alertmanager, token_env: PAGER_AM_TOKEN, service: web}}
  - {{id: prod-events, type: events_v2, token_env: PAGER_EVENTS_KEY, service: web}}
priorities:
  P0: {{channels: [console]}}
  P1: {{channels: [console]}}
  P2: {{channels: [console]}}
  P3: {{channels: [console]}}
"""


def _schemathesis(url: str, token: str, *filters: str, report: pathlib.Path) -> subprocess.CompletedProcess[str]:
    st = shutil.which("st", path=str(pathlib.Path(sys.executable).parent)) or shutil.which("st")
    assert st is not None
    argv = [
        st,
        "run",
        f"{url}/api/v1/openapi.json",
        "--checks",
        "not_a_server_error,status_code_conformance",
        "--max-examples",
        "15",
        "--seed",
        "17",
        "--workers",
        "1",  # one thread: with two, hypothesis's ast.parse in both met CPython 3.11's AST recursion-depth bug
        "--header",
        f"Authorization: Bearer {token}",
        "--suppress-health-check",
        "all",
        "--request-timeout",
        "10",
        "--report",
        "junit",
        "--report-junit-path",
        str(report),
        *filters,
    ]
    return subprocess.run(  # in the run's own directory: schemathesis keeps a cache where it runs
        argv, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL, cwd=report.parent
    )


async def test_schemathesis_finds_no_5xx_and_no_undocumented_status(database_url):
    pytest.importorskip("schemathesis", reason="schemathesis (PyPI) is not installed; .ci/run installs it")
    env = {
        "PAGER_DATABASE_URL": database_url,
        "PAGER_API_TOKEN": support.API_TOKEN,
        "PAGER_AM_TOKEN": support.AM_TOKEN,
        "PAGER_EVENTS_KEY": support.EVENTS_KEY,
    }
    with tempfile.TemporaryDirectory(prefix="pager-schemathesis-") as tmp:
        root = pathlib.Path(tmp)
        async with daemons.running(root, 1, CONFIG, env) as [daemon]:
            runs = {
                # the API and everything else with an API token ...
                "api": _schemathesis(
                    daemon.url,
                    support.API_TOKEN,
                    "--exclude-path",
                    "/v1/webhooks/alertmanager",
                    "--exclude-path",
                    "/events",  # a stream that stays open: nothing to fuzz
                    report=root / "api.xml",
                ),
                # ... and the Alertmanager webhook with its integration's token
                "alertmanager": _schemathesis(
                    daemon.url,
                    support.AM_TOKEN,
                    "--include-path",
                    "/v1/webhooks/alertmanager",
                    "--phases",
                    "examples,coverage,fuzzing",  # one operation: no links to follow
                    report=root / "alertmanager.xml",
                ),
            }
            for name, result in runs.items():
                assert result.returncode == 0, (
                    f"schemathesis ({name}):\n{result.stdout[-6000:]}\n{result.stderr[-2000:]}"
                )


@pytest.mark.parametrize("path", ["/signin", "/signout", "/a/some-token", "/v1/twilio/sms"])
async def test_a_form_body_that_cannot_be_read_is_a_400(make_client, path):
    """Found by the schemathesis run: multipart without a boundary was a 500 on every form."""
    client = await make_client()
    resp = await client.post(path, data=b"csrf=", headers={"Content-Type": "multipart/form-data"})
    assert resp.status == 400
    assert "boundary" in (await resp.json())["error"]


async def test_an_api_body_that_is_not_utf8_is_a_400(make_client):
    """Found by the schemathesis run: bytes that are not UTF-8 in a JSON body were a 500."""
    client = await make_client()
    resp = await client.post(
        "/api/v1/incidents", data=b"Q\x04\x11\xff\xfe", headers={**support.API, "Content-Type": "application/json"}
    )
    assert resp.status == 400
    assert "UTF-8" in (await resp.json())["error"]
