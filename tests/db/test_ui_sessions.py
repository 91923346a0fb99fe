"""Sign-in links and web sessions in PostgreSQL: single use under a race, expiry, revocation, limits."""

from __future__ import annotations

import asyncio
import datetime

from pager.store import sessions

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
MIN = datetime.timedelta(minutes=1)


async def test_a_link_opens_one_session_however_many_redeem_it_at_once(pool):
    store = sessions.Sessions(pool)
    token = await store.issue_link("alice", NOW)
    assert token is not None
    results = await asyncio.gather(*(sessions.Sessions(pool).redeem_link(token, NOW + MIN) for _ in range(8)))
    started = [r for r in results if isinstance(r, sessions.Started)]
    assert len(started) == 1 and started[0].session.user_id == "alice"
    assert {r.refusal for r in results if isinstance(r, sessions.LinkState)} == {sessions.Refusal.USED}
    assert await pool.fetchval("SELECT count(*) FROM ui_sessions") == 1


async def test_a_link_is_good_for_fifteen_minutes_and_is_stored_only_as_a_hash(pool):
    store = sessions.Sessions(pool)
    token = await store.issue_link("bob", NOW)
    assert token is not None
    assert (await store.peek_link(token, NOW + 15 * MIN - datetime.timedelta(seconds=1))).refusal is None
    late = await store.redeem_link(token, NOW + 15 * MIN)
    assert late == sessions.LinkState("bob", sessions.Refusal.EXPIRED)
    assert (await store.peek_link("made-up", NOW)).refusal is sessions.Refusal.UNKNOWN
    stored = await pool.fetchval("SELECT token_hash FROM signin_links")
    assert token.encode() not in stored and len(stored) == 32


async def test_asking_again_and_again_sends_at_most_five_links_a_quarter_hour(pool):
    store = sessions.Sessions(pool)
    tokens = [await store.issue_link("carol", NOW + i * MIN) for i in range(7)]
    assert [t is not None for t in tokens] == [True] * 5 + [False] * 2
    assert await store.issue_link("carol", NOW + 16 * MIN) is not None
    assert await store.issue_link("alice", NOW) is not None  # another user is not held back


async def test_a_session_slides_forward_while_used_and_ends_everywhere_at_once(pool):
    store = sessions.Sessions(pool)
    one = await store.start("alice", "link", NOW)
    two = await store.start("alice", "link", NOW)
    bob = await store.start("bob", "link", NOW)
    later = NOW + sessions.SESSION_TTL - MIN
    kept = await store.get(one.token, later)
    assert (
        kept is not None
        and kept.expires_at == later + sessions.SESSION_TTL
        and kept.csrf_token == one.session.csrf_token
    )
    assert await store.get(two.token, later + 2 * MIN) is None  # not used for the whole TTL: gone

    assert await store.end_all("alice") == 2
    assert await store.get(one.token, later) is None
    assert await store.get(bob.token, NOW) is not None
    await store.end(bob.token)
    assert await store.get(bob.token, NOW) is None
