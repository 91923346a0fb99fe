"""A database outage: pager answers 503 with Retry-After (Alertmanager retries), stays up, and recovers by itself."""

from __future__ import annotations

from tests import support
from tests.support import faults, http


async def test_database_down_answers_503_then_recovers(make_client, database_url):
    async with faults.proxy(database_url) as proxy:
        client = await make_client(database_url=proxy.url)
        first = support.am_payload([("a", "firing", {})], group_key="before")
        assert (await http.post_am(client, first)).status == 200

        await proxy.cut()
        during = support.am_payload([("b", "firing", {})], group_key="during")
        resp = await http.post_am(client, during)
        assert resp.status == 503
        assert resp.headers["Retry-After"].isdigit()
        assert "retry" in (await resp.json())["error"]
        assert (await client.get("/readyz")).status == 503
        assert (await client.get("/healthz")).status == 200
        api = await client.get("/api/v1/incidents", headers=support.API)
        assert api.status == 503

        await proxy.restore()
        assert (await http.post_am(client, during)).status == 200  # Alertmanager's retry lands
        assert (await client.get("/readyz")).status == 200
        assert sorted(i["dedup_key"] for i in await http.incidents(client)) == ["before", "during"]


async def test_the_alert_hygiene_endpoints_answer_503_while_the_database_is_down(make_client, database_url):
    """Grafana, generic JSON, change events, heartbeats and maintenance: nothing half-written, retry later."""
    env = {**support.ENV, "G_TOKEN": "g", "GEN_TOKEN": "gen", "HB_TOKEN": "hb"}
    settings = support.settings(
        """
integrations:
  - {id: prod-events, type: events_v2, token_env: PAGER_EVENTS_KEY, service: web}
  - {id: g, type: grafana, token_env: G_TOKEN, service: web}
  - {id: gen, type: generic, token_env: GEN_TOKEN, service: web, fields: {summary: "$.title"}}
heartbeats:
  - {id: job, service: web, interval: 1h, token_env: HB_TOKEN}
""",
        env,
    )
    grafana = support.grafana_sample("play-grafana-11-firing")
    change = {"routing_key": support.EVENTS_KEY, "payload": {"summary": "deploy v2"}}
    window = {"services": ["web"], "duration": "1h", "reason": "r", "by": "alice"}
    calls = [
        ("POST", "/v1/webhooks/grafana", grafana, {"Authorization": "Bearer g"}),
        ("POST", "/v1/webhooks/generic", {"title": "x"}, {"Authorization": "Bearer gen"}),
        ("POST", "/v2/change/enqueue", change, {}),
        ("POST", "/v1/heartbeats/job", None, {"Authorization": "Bearer hb"}),
        ("POST", "/api/v1/maintenance", window, support.API),
        ("GET", "/api/v1/heartbeats", None, support.API),
    ]
    async with faults.proxy(database_url) as proxy:
        client = await make_client(settings, database_url=proxy.url)
        await proxy.cut()
        for method, path, body, headers in calls:
            resp = await client.request(method, path, json=body, headers=headers)
            assert resp.status == 503, (path, await resp.text())
            assert resp.headers["Retry-After"].isdigit()
        await proxy.restore()
        for method, path, body, headers in calls:
            resp = await client.request(method, path, json=body, headers=headers)
            assert resp.status < 300, (path, await resp.text())
        assert len(await http.incidents(client)) == 2  # the Grafana group and the generic event, once each
