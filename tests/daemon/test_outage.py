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
