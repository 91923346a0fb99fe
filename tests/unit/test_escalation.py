"""The escalation walker, driven by a fake `now` through policies written as YAML."""

from __future__ import annotations

import datetime

import pytest
import yaml

from pager import config, escalation, models

T0 = datetime.datetime(2026, 3, 2, 12, 0, tzinfo=datetime.UTC)
INCIDENT = 42

CONFIG = config.parse(
    yaml.safe_load(
        """
users:
  - {id: alice, phone: "+15551230001", email: alice@example.com}
  - {id: bob, phone: "+15551230002", email: bob@example.com}
  - {id: carol, phone: "+15551230003", email: carol@example.com}
  - {id: erin, phone: "+15551230005", email: erin@example.com}
  - {id: mail-only, email: mail@example.com}
  - {id: sms-only, phone: "+15551230006"}
  - {id: nocontact}
rotations:
  - {id: web-primary, members: [alice, bob]}
  - {id: web-secondary, members: [carol]}
  - {id: web-empty}
  - {id: db-empty}
escalation_policies:
  - id: web
    repeat: 0
    steps:
      - {targets: ["rotation:web-primary"], ack_timeout: 5m}
      - {targets: ["rotation:web-secondary", "user:erin"], ack_timeout: 10m}
      - {targets: ["user:bob", "rotation:web-primary"], ack_timeout: 15m}
  - id: web-twice
    repeat: 1
    steps:
      - {targets: ["rotation:web-primary"], ack_timeout: 5m}
      - {targets: ["rotation:web-secondary", "user:erin"], ack_timeout: 10m}
      - {targets: ["user:bob", "rotation:web-primary"], ack_timeout: 15m}
  - id: web-thrice
    repeat: 2
    steps:
      - {targets: ["rotation:web-primary"], ack_timeout: 5m}
      - {targets: ["rotation:web-secondary", "user:erin"], ack_timeout: 10m}
      - {targets: ["user:bob", "rotation:web-primary"], ack_timeout: 15m}
  - id: gap-middle
    steps:
      - {targets: ["rotation:web-primary"], ack_timeout: 5m}
      - {targets: ["rotation:web-empty"], ack_timeout: 10m}
      - {targets: ["rotation:web-secondary"], ack_timeout: 15m}
  - id: gap-first
    steps:
      - {targets: ["rotation:web-empty", "rotation:db-empty"], ack_timeout: 5m}
      - {targets: ["user:erin"], ack_timeout: 10m}
  - id: gap-last
    repeat: 1
    steps:
      - {targets: ["user:erin"], ack_timeout: 5m}
      - {targets: ["rotation:web-empty"], ack_timeout: 10m}
  - id: partly-empty
    steps:
      - {targets: ["rotation:web-empty", "user:erin"], ack_timeout: 5m}
  - id: all-empty
    repeat: 3
    steps:
      - {targets: ["rotation:web-empty"], ack_timeout: 5m}
      - {targets: ["rotation:db-empty"], ack_timeout: 10m}
  - id: unreachable
    steps:
      - {targets: ["user:nocontact"], ack_timeout: 5m}
      - {targets: ["user:erin"], ack_timeout: 10m}
priorities:
  P0: {channels: [sms, email]}
  P2: {channels: [email]}
  P3: {channels: [email], escalate: false}
"""
    )
)
ON_CALL = {"rotation:web-primary": ["alice"], "rotation:web-secondary": ["carol"]}


def users_at(target: str, at: datetime.datetime) -> list[str]:
    kind, _, ident = target.partition(":")
    return [ident] if kind == "user" else list(ON_CALL.get(target, []))


def channels_for(user_id: str, enabled: tuple[str, ...] = ("sms", "email")) -> tuple[str, ...]:
    user = CONFIG.user(user_id)
    assert user is not None
    usable = {"sms": user.phone, "email": user.email, "console": True}
    return tuple(c for c in enabled if usable[c])


def run(fn, *args, policy: str = "web", priority: str = "P0", now=T0, who=users_at, reach=channels_for):
    pol = CONFIG.policy(policy)
    assert pol is not None
    pp = CONFIG.priority_policy(models.Priority.parse(priority))
    if fn is escalation.start:
        return fn(INCIDENT, pol, pp, now, who, reach)
    return fn(INCIDENT, *args, pol, pp, now, who, reach)


def minutes(m: float) -> datetime.datetime:
    return T0 + datetime.timedelta(minutes=m)


def paged(decision: escalation.Decision) -> tuple[int, int, tuple[str, ...]] | None:
    """(round, step, users) of the one step a decision paged, or None."""
    if not decision.pages:
        return None
    steps = {(p.round, p.step) for p in decision.pages}
    assert len(steps) == 1, "one call pages one step"
    users = tuple(dict.fromkeys(p.user for p in decision.pages))
    ((round_, step),) = steps
    return round_, step, users


def kinds(decision: escalation.Decision) -> list[str]:
    return [e.kind for e in decision.log]


ROUND = [  # (minute paged, step, users, minute the next timer is due) for one walk of 'web'
    (0, 0, ("alice",), 5),
    (5, 1, ("carol", "erin"), 15),
    (15, 2, ("bob", "alice"), 30),
]


def walk_table(rounds: int) -> list[tuple[float, int, int, tuple[str, ...], float]]:
    return [(at + 30 * r, r, step, users, due + 30 * r) for r in range(rounds) for at, step, users, due in ROUND]


@pytest.mark.parametrize(
    ("policy", "expected", "exhausted_at"),
    [
        ("web", walk_table(1), 30),
        ("web-twice", walk_table(2), 60),
        ("web-thrice", walk_table(3), 90),
    ],
)
def test_walk_pages_each_step_of_each_round_on_time(policy, expected, exhausted_at):
    now = T0
    decision = run(escalation.start, policy=policy, now=now)
    seen = []
    while decision.pages:
        seen.append((now, *paged(decision), decision.state.next_at))
        now = decision.state.next_at
        decision = run(escalation.advance, decision.state, policy=policy, now=now)
    want = [(minutes(at), r, s, u, minutes(due)) for at, r, s, u, due in expected]
    assert seen == want
    assert decision.state.next_at is None
    assert kinds(decision) == [escalation.EXHAUSTED]
    assert decision.log[0].message == "escalation policy exhausted; nobody acknowledged"
    assert (decision.state.round, decision.state.step) == (len(expected) // 3 - 1, 2)
    assert now == minutes(exhausted_at)


def test_new_round_is_written_to_the_timeline():
    first = run(escalation.start, policy="web-twice")
    second = run(escalation.advance, first.state, policy="web-twice", now=minutes(5))
    third = run(escalation.advance, second.state, policy="web-twice", now=minutes(15))
    wrap = run(escalation.advance, third.state, policy="web-twice", now=minutes(30))
    assert kinds(wrap) == [escalation.REPEATED, escalation.ESCALATED]
    assert wrap.log[0].message == "starting round 2 of 2 at step 1"
    assert wrap.log[1].message == "step 1 (round 2): paging alice (sms, email); escalates in 5m unless acknowledged"


def test_pages_name_incident_round_step_user_channel_and_users_are_deduplicated():
    decision = run(escalation.advance, models.EscalationState(1, 0, minutes(15)), now=minutes(15))
    assert decision.pages == (
        models.Page(INCIDENT, "bob", "sms", 0, 2),
        models.Page(INCIDENT, "bob", "email", 0, 2),
        models.Page(INCIDENT, "alice", "sms", 0, 2),
        models.Page(INCIDENT, "alice", "email", 0, 2),
    )


@pytest.mark.parametrize(
    "state",
    [
        models.EscalationState(0, 0, minutes(5)),
        models.EscalationState(0, 0, minutes(4)),
        models.EscalationState(0, 0, None),
        models.EscalationState(2, 0, None),
    ],
    ids=["due-later", "not-yet", "stopped", "exhausted"],
)
def test_advance_before_the_timer_changes_nothing(state):
    now = minutes(3)
    decision = run(escalation.advance, state, now=now)
    assert decision == escalation.Decision(state)
    assert escalation.is_due(state, now) is False


def test_advance_fires_exactly_at_the_due_instant():
    decision = run(escalation.advance, models.EscalationState(0, 0, minutes(5)), now=minutes(5))
    assert paged(decision) == (0, 1, ("carol", "erin"))


@pytest.mark.parametrize(
    ("policy", "fn", "state", "now", "want_paged", "want_next", "want_kinds", "skip_message"),
    [
        (
            "gap-middle",
            escalation.advance,
            models.EscalationState(0, 0, minutes(5)),
            minutes(6),
            (0, 2, ("carol",)),
            minutes(5 + 15),
            [escalation.STEP_SKIPPED, escalation.ESCALATED],
            "step 2: nobody on call for rotation:web-empty; skipped",
        ),
        (
            "gap-first",
            escalation.start,
            None,
            T0,
            (0, 1, ("erin",)),
            minutes(10),
            [escalation.STEP_SKIPPED, escalation.ESCALATED],
            "step 1: nobody on call for rotation:web-empty, rotation:db-empty; skipped",
        ),
        (
            "gap-last",
            escalation.advance,
            models.EscalationState(0, 0, minutes(5)),
            minutes(5),
            (1, 0, ("erin",)),
            minutes(5 + 5),
            [escalation.STEP_SKIPPED, escalation.REPEATED, escalation.ESCALATED],
            "step 2: nobody on call for rotation:web-empty; skipped",
        ),
        (
            "gap-last",
            escalation.advance,
            models.EscalationState(0, 1, minutes(10)),
            minutes(10),
            None,
            None,
            [escalation.STEP_SKIPPED, escalation.EXHAUSTED],
            "step 2 (round 2): nobody on call for rotation:web-empty; skipped",
        ),
    ],
    ids=["middle", "first-at-start", "last-wraps-to-next-round", "last-of-last-round"],
)
def test_step_with_nobody_on_call_is_skipped_at_once(
    policy, fn, state, now, want_paged, want_next, want_kinds, skip_message
):
    decision = run(fn, policy=policy, now=now) if state is None else run(fn, state, policy=policy, now=now)
    assert paged(decision) == want_paged
    assert decision.state.next_at == want_next
    assert kinds(decision) == want_kinds
    assert decision.log[0].message == skip_message


def test_a_step_with_one_empty_target_pages_the_others_and_says_so():
    decision = run(escalation.start, policy="partly-empty")
    assert paged(decision) == (0, 0, ("erin",))
    assert kinds(decision) == [escalation.TARGET_EMPTY, escalation.ESCALATED]
    assert decision.log[0].message == "step 1: nobody on call for rotation:web-empty"


@pytest.mark.parametrize(
    ("fn", "state"),
    [
        (escalation.start, None),
        (escalation.advance, models.EscalationState(1, 2, minutes(40))),
        (escalation.escalate_now, models.EscalationState(0, 0, minutes(45))),
    ],
    ids=["start", "advance", "manual"],
)
def test_a_round_that_pages_nobody_stops_instead_of_looping(fn, state):
    calls = []

    def who(target, at):
        calls.append(target)
        return []

    args = () if state is None else (state,)
    decision = run(fn, *args, policy="all-empty", now=minutes(40), who=who)
    assert decision.pages == ()
    assert decision.state.next_at is None
    assert len(calls) == 2, "each step is tried once, however many repeats the policy has"
    assert kinds(decision)[-1] == escalation.NOBODY_ON_CALL
    assert kinds(decision).count(escalation.STEP_SKIPPED) == 2
    assert "escalation policy all-empty" in decision.log[-1].message


def test_a_walk_where_everyone_went_off_call_stops_after_one_round():
    first = run(escalation.start, policy="web-thrice")
    decision = run(escalation.advance, first.state, policy="web-thrice", now=minutes(5), who=lambda t, at: [])
    assert decision.pages == ()
    assert decision.state.next_at is None
    assert kinds(decision) == [
        escalation.STEP_SKIPPED,
        escalation.STEP_SKIPPED,
        escalation.REPEATED,
        escalation.STEP_SKIPPED,
        escalation.NOBODY_ON_CALL,
    ]


def test_a_priority_that_does_not_escalate_pages_step_one_and_arms_no_timer():
    decision = run(escalation.start, priority="P3")
    assert paged(decision) == (0, 0, ("alice",))
    assert {p.channel for p in decision.pages} == {"email"}
    assert decision.state == models.EscalationState(0, 0, None)
    assert decision.log[-1].message == "step 1: paging alice (email); this priority does not escalate"
    assert run(escalation.advance, decision.state, priority="P3", now=minutes(60)).pages == ()


def test_a_priority_that_does_not_escalate_still_skips_an_empty_first_step():
    decision = run(escalation.start, policy="gap-first", priority="P3")
    assert paged(decision) == (0, 1, ("erin",))
    assert decision.state.next_at is None


def test_a_due_timer_under_a_priority_that_no_longer_escalates_is_cleared():
    state = models.EscalationState(0, 0, minutes(5))
    decision = run(escalation.advance, state, priority="P3", now=minutes(5))
    assert decision.pages == ()
    assert decision.state == models.EscalationState(0, 0, None)
    assert kinds(decision) == [escalation.NOT_ESCALATING]


@pytest.mark.parametrize(
    ("policy", "priority", "state", "want_paged", "want_next", "want_kinds"),
    [
        (
            "web",
            "P0",
            models.EscalationState(0, 0, minutes(5)),
            (0, 1, ("carol", "erin")),
            minutes(2 + 10),
            [escalation.MANUAL, escalation.ESCALATED],
        ),
        (
            "web-twice",
            "P0",
            models.EscalationState(2, 0, minutes(30)),
            (1, 0, ("alice",)),
            minutes(2 + 5),
            [escalation.MANUAL, escalation.REPEATED, escalation.ESCALATED],
        ),
        (
            "web",
            "P0",
            models.EscalationState(2, 0, None),
            (1, 0, ("alice",)),
            minutes(2 + 5),
            [escalation.MANUAL, escalation.REPEATED, escalation.ESCALATED],
        ),
        (
            "web",
            "P3",
            models.EscalationState(0, 0, None),
            (0, 1, ("carol", "erin")),
            None,
            [escalation.MANUAL, escalation.ESCALATED],
        ),
        (
            "gap-middle",
            "P0",
            models.EscalationState(0, 0, minutes(5)),
            (0, 2, ("carol",)),
            minutes(2 + 15),
            [escalation.MANUAL, escalation.STEP_SKIPPED, escalation.ESCALATED],
        ),
    ],
    ids=["next-step", "past-last-step-starts-next-round", "after-exhausted", "non-escalating-priority", "skips-gap"],
)
def test_manual_escalation_pages_the_next_step_now(policy, priority, state, want_paged, want_next, want_kinds):
    decision = run(escalation.escalate_now, state, policy=policy, priority=priority, now=minutes(2))
    assert paged(decision) == want_paged
    assert decision.state.next_at == want_next
    assert kinds(decision) == want_kinds
    assert decision.log[0].message.startswith(f"manual escalation from step {state.step + 1}")


def test_manual_escalation_past_the_repeats_runs_out_after_its_round():
    state = run(escalation.escalate_now, models.EscalationState(2, 0, None), now=minutes(40)).state
    for _ in range(2):
        state = run(escalation.advance, state, now=state.next_at).state
    assert (state.round, state.step) == (1, 2)
    decision = run(escalation.advance, state, now=state.next_at)
    assert kinds(decision) == [escalation.EXHAUSTED]


@pytest.mark.parametrize(
    ("down_until", "fired", "final"),
    [
        (
            120,
            [(5, 0, 1), (15, 0, 2), (30, 1, 0), (35, 1, 1), (45, 1, 2), (60, 2, 0), (65, 2, 1), (75, 2, 2)],
            models.EscalationState(2, 2, None),
        ),
        (
            40,
            [(5, 0, 1), (15, 0, 2), (30, 1, 0), (35, 1, 1)],
            models.EscalationState(1, 1, minutes(45)),
        ),
    ],
    ids=["two-hours", "forty-minutes"],
)
def test_after_an_outage_each_overdue_step_fires_once_in_order_on_the_original_schedule(down_until, fired, final):
    now = minutes(down_until)
    asked_at = []

    def who(target, at):
        asked_at.append(at)
        return users_at(target, at)

    state = run(escalation.start, policy="web-thrice").state
    seen, calls = [], 0
    while escalation.is_due(state, now):
        due = state.next_at
        decision = run(escalation.advance, state, policy="web-thrice", now=now, who=who)
        calls += 1
        if decision.pages:
            round_, step, _ = paged(decision)
            seen.append((due, round_, step))
        assert decision.state.next_at is None or decision.state.next_at > due, "the timer only moves forward"
        state = decision.state
    assert seen == [(minutes(m), r, s) for m, r, s in fired]
    assert calls == len(fired) + (state.next_at is None)
    assert state == final
    assert set(asked_at) == {now}, "on call is asked at the moment the page goes out"


@pytest.mark.parametrize(
    ("user", "priority", "enabled", "want_channels"),
    [
        ("alice", "P0", ("sms", "email"), ["sms", "email"]),
        ("alice", "P0", ("email",), ["email"]),
        ("alice", "P2", ("sms", "email"), ["email"]),
        ("mail-only", "P0", ("sms", "email"), ["email"]),
        ("sms-only", "P0", ("sms", "email"), ["sms"]),
        ("sms-only", "P2", ("sms", "email"), []),
        ("nocontact", "P0", ("sms", "email", "console"), []),
    ],
)
def test_pages_go_only_to_channels_the_priority_wants_and_the_user_can_receive(user, priority, enabled, want_channels):
    decision = run(
        escalation.start,
        policy="partly-empty",
        priority=priority,
        who=lambda target, at: [user, "erin"] if target == "user:erin" else [],
        reach=lambda u: channels_for(u, enabled),
    )
    assert [p.channel for p in decision.pages if p.user == user] == want_channels
    no_channel = [e.message for e in decision.log if e.kind == escalation.NO_CHANNEL]
    if want_channels:
        assert no_channel == []
    else:
        wanted = ", ".join(CONFIG.priority_policy(models.Priority.parse(priority)).channels)
        assert no_channel == [f"step 1: cannot page {user}: no usable channel among {wanted}"]


def test_a_step_whose_only_user_cannot_be_reached_is_skipped_not_waited_out():
    decision = run(escalation.start, policy="unreachable")
    assert paged(decision) == (0, 1, ("erin",))
    assert decision.state.next_at == minutes(10)
    assert kinds(decision) == [escalation.NO_CHANNEL, escalation.STEP_SKIPPED, escalation.ESCALATED]
    assert decision.log[1].message == "step 1: nobody on call can be paged; skipped"


def test_stop_clears_the_timer_and_keeps_the_place():
    state = models.EscalationState(1, 2, minutes(20))
    assert escalation.stop(state) == models.EscalationState(1, 2, None)


def test_outbox_keys_never_repeat_across_a_walk_with_manual_escalations():
    decision = run(escalation.start, policy="web-twice")
    pages = list(decision.pages)
    state, now = decision.state, T0
    for i in range(12):
        now += datetime.timedelta(minutes=1)
        if i % 3 == 0:
            decision = run(escalation.escalate_now, state, policy="web-twice", now=now)
        else:
            now = max(now, state.next_at or now)
            decision = run(escalation.advance, state, policy="web-twice", now=now)
        pages.extend(decision.pages)
        state = decision.state
    keys = [(p.incident_id, p.round, p.step, p.user, p.channel) for p in pages]
    assert len(keys) == len(set(keys))
    assert len({(p.round, p.step) for p in pages}) > 6


def test_a_policy_that_lost_steps_since_the_state_was_written_moves_on_safely():
    decision = run(escalation.advance, models.EscalationState(5, 0, minutes(5)), policy="web-twice", now=minutes(5))
    assert paged(decision) == (1, 0, ("alice",))
    decision = run(escalation.advance, models.EscalationState(5, 1, minutes(5)), policy="web-twice", now=minutes(5))
    assert kinds(decision) == [escalation.EXHAUSTED]
