"""A hand-built set of 50 incidents (and 3 drills) and 6 changes whose report is worked out by hand.

The period is the 30 days before Monday 2026-11-23 00:00 UTC (from Saturday
2026-10-24: 20 weekdays, 10 weekend days); the previous period is the 30 before.

This period, 40 incidents:
- checkout P0 x10, Tue 2026-11-17 08:00 UTC (09:00 in Berlin, checkout's zone), acknowledged by alice after
  60, 120, ... 600 s (MTTA 330 s), resolved after 1800 s; each one alert HighErrorRate with 3 events; alice
  paged once each (SMS and email, one page) at 09:00:05 Berlin: daytime.
- checkout P1 x10, Sat 2026-11-21 23:00 UTC (Sunday 00:00 in Berlin), acknowledged by alice after 300 s,
  5 resolved after 3600 s and 5 still open; each one alert DiskFull with 2 events; alice paged at 00:00:05
  Berlin: a night page each.
- search P2 x20, Wed 2026-11-18 14:00 UTC (search has no zone: UTC), 10 acknowledged by bob after 600 s,
  all resolved after 7200 s; each one alert SlowQueries with 1 event; bob paged by email at 09:00:05 in
  New York; two of them paged carol too, at step 2.
Previous period, 10 incidents: checkout P0 x5 (MTTA 600, MTTR 3600), search P2 x5 (none acknowledged, MTTR 3600).
Two checkout P1 drills in this period (one acknowledged, one paging alice at night) count nowhere but in `drills`.

Changes (`seed_changes`; an incident follows a change of its own service made at most 2 h before it opened):
- checkout Tue 07:00 (1 h before the ten P0s: all ten follow it), Tue 08:30 (followed only by a third drill,
  at 09:00, which is no incident), Sat 20:59:59 (2 h 1 s before the P1s: none follows it);
- search Wed 14:00, the very instant the twenty P2s opened (all twenty follow it);
- web Wed 13:00 (web has no incidents; search's do not follow another service's change);
- previous period: checkout 2026-10-06 07:30, half an hour before its five P0s (search's five follow nothing).
So 30 of 40 incidents opened after a change (75%: checkout 10 of 20, search 20 of 20; P0 10 of 10, P1 0 of
10, P2 20 of 20), 5 of 10 in the previous period; of the 5 changes in this period, 2 were followed.
"""

from __future__ import annotations

import datetime

UNTIL = datetime.datetime(2026, 11, 23, 0, 0, tzinfo=datetime.UTC)
S = datetime.timedelta(seconds=1)

CONFIG = """
users:
  - {id: alice, name: Alice, phone: "+15551230001", email: alice@example.com, time_zone: Europe/Berlin}
  - {id: bob, name: Bob, phone: "+15551230002", email: bob@example.com, time_zone: America/New_York}
  - {id: carol, name: Carol, phone: "+15551230003", email: carol@example.com}
services:
  - {id: checkout, escalation_policy: web, time_zone: Europe/Berlin}
  - {id: search, escalation_policy: web}
  - {id: web}
"""


async def incident(pool, service, priority, created, ack=None, by=None, resolved=None, drill=False) -> int:
    return await pool.fetchval(
        "INSERT INTO incidents (service, dedup_key, priority, summary, status, created_at, last_seen_at,"
        " acknowledged_at, acknowledged_by, resolved_at, resolved_by, drill)"
        " VALUES ($1, gen_random_uuid()::text, $2, 's', $3, $4, $4, $5, $6, $7, $8, $9) RETURNING id",
        service,
        priority,
        "resolved" if resolved else "acknowledged" if ack else "triggered",
        created,
        None if ack is None else created + ack * S,
        by,
        None if resolved is None else created + resolved * S,
        None if resolved is None else "alertmanager",
        drill,
    )


async def alert(pool, inc, name, created, events):
    await pool.execute(
        "INSERT INTO alerts (incident_id, fingerprint, status, priority, summary, labels, first_seen_at, last_seen_at)"
        " VALUES ($1, 'fp', 'firing', 0, $2, $3, $4, $4)",
        inc,
        f"{name} fired",
        {"alertname": name},
        created,
    )
    for _ in range(events):
        await pool.execute(
            "INSERT INTO alert_events (incident_id, received_at, dedup_key, events) VALUES ($1, $2, 'k', $3)",
            inc,
            created,
            [{"f": "fp", "a": "trigger", "s": "s", "l": {"alertname": name}}],
        )


async def page(pool, inc, user, channel, at, step=0):
    await pool.execute(
        "INSERT INTO notifications (incident_id, round, step, user_id, channel, address, status, created_at,"
        " not_before, sent_at, priority) VALUES ($1, 0, $2, $3, $4, 'x', 'sent', $5, $5, $5, 1)",
        inc,
        step,
        user,
        channel,
        at,
    )


async def seed(pool) -> None:
    tue = datetime.datetime(2026, 11, 17, 8, 0, tzinfo=datetime.UTC)
    sat = datetime.datetime(2026, 11, 21, 23, 0, tzinfo=datetime.UTC)
    wed = datetime.datetime(2026, 11, 18, 14, 0, tzinfo=datetime.UTC)
    for k in range(1, 11):
        inc = await incident(pool, "checkout", 0, tue, ack=60 * k, by="alice", resolved=1800)
        await alert(pool, inc, "HighErrorRate", tue, 3)
        await page(pool, inc, "alice", "sms", tue + 5 * S)
        await page(pool, inc, "alice", "email", tue + 5 * S)
    for k in range(10):
        inc = await incident(pool, "checkout", 1, sat, ack=300, by="alice", resolved=3600 if k < 5 else None)
        await alert(pool, inc, "DiskFull", sat, 2)
        await page(pool, inc, "alice", "sms", sat + 5 * S)
    for k in range(20):
        inc = await incident(
            pool, "search", 2, wed, ack=600 if k < 10 else None, by="bob" if k < 10 else None, resolved=7200
        )
        await alert(pool, inc, "SlowQueries", wed, 1)
        await page(pool, inc, "bob", "email", wed + 5 * S)
        if k < 2:
            await page(pool, inc, "carol", "email", wed + 300 * S, step=1)
    before = datetime.datetime(2026, 10, 6, 8, 0, tzinfo=datetime.UTC)
    for _ in range(5):
        inc = await incident(pool, "checkout", 0, before, ack=600, by="alice", resolved=3600)
        await alert(pool, inc, "HighErrorRate", before, 9)
        await page(pool, inc, "alice", "sms", before + 5 * S)
        await incident(pool, "search", 2, before + S, resolved=3600)
    await incident(pool, "checkout", 1, sat, ack=30, by="alice", resolved=600, drill=True)
    drill = await incident(pool, "checkout", 1, sat, drill=True)
    await alert(pool, drill, "DrillAlert", sat, 50)
    await page(pool, drill, "alice", "sms", sat + 5 * S)


async def change(pool, service, at, summary="deploy"):
    await pool.execute(
        "INSERT INTO changes (service, integration, summary, at, received_at) VALUES ($1, 'events', $2, $3, $3)",
        service,
        summary,
        at,
    )


async def seed_changes(pool) -> None:
    tue = datetime.datetime(2026, 11, 17, 8, 0, tzinfo=datetime.UTC)
    sat = datetime.datetime(2026, 11, 21, 23, 0, tzinfo=datetime.UTC)
    wed = datetime.datetime(2026, 11, 18, 14, 0, tzinfo=datetime.UTC)
    hour = datetime.timedelta(hours=1)
    await change(pool, "checkout", tue - hour, "deploy checkout v42")
    await change(pool, "checkout", tue + hour / 2, "feature flag new-cart on")
    await incident(pool, "checkout", 0, tue + hour, ack=20, by="alice", resolved=60, drill=True)
    await change(pool, "checkout", sat - 2 * hour - S, "deploy checkout v43")
    await change(pool, "search", wed, "reindex")
    await change(pool, "web", wed - hour, "deploy web")
    await change(pool, "checkout", datetime.datetime(2026, 10, 6, 7, 30, tzinfo=datetime.UTC), "deploy checkout v41")
