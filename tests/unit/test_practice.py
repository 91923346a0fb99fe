"""Running the incident, pure parts: replies, update drafts, blast-radius rules, config checks, targets, the page."""

from __future__ import annotations

import dataclasses
import datetime
import textwrap

import pytest
import yaml

from pager import classify, config, models, replies, updates
from pager.engine import cadence, roles
from pager.notify import message, sms_text
from pager.web import statuspage

T0 = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
MIN = datetime.timedelta(minutes=1)


@pytest.mark.parametrize(
    "body, expected",
    [
        ("own 1234", replies.Command("own", 1234)),
        ("OWN #1234!", replies.Command("own", 1234)),
        ("update 1234 rolled back, errors falling", replies.Command("update", 1234, "rolled back, errors falling")),
        ("Update #12: DB failover\n started", replies.Command("update", 12, "DB failover started")),
        ("upd 12", replies.Command("update", 12, "")),
        ("own", None),
        ("own 0", None),
        ("ack 1234", None),  # pager.ack's
        ("owner 1234", None),
        ("update1234 x", None),
    ],
)
def test_sms_replies_that_run_an_incident(body, expected):
    assert replies.parse(body) == expected


def test_an_update_draft_names_what_is_wrong():
    d = updates.draft({"status": " rolling back ", "known": "", "next_update_in": "45m"})
    assert d == updates.Draft("rolling back", None, None, None, 45 * MIN)
    for data, message_ in [
        ({}, "'status' is required: say where things stand"),
        ({"status": " "}, "'status' must not be empty: say where things stand"),
        ({"status": 3}, "'status' must be a string"),
        ({"status": "x", "doing": ["a"]}, "'doing' must be a string"),
        ({"status": "x", "next_update_in": "8d"}, "'next_update_in': at most 7d, got '8d'"),
    ]:
        with pytest.raises(updates.Invalid) as caught:
            updates.draft(data)
        assert str(caught.value) == message_
    with pytest.raises(updates.Invalid, match=r"^'next_update_in': expected a positive duration"):
        updates.draft({"status": "x", "next_update_in": "half an hour"})


RULES = config.parse(
    {
        "classification": [
            {"matchers": ['severity="critical"'], "priority": "P0"},
            {"matchers": ['severity="warning"'], "min_firing": 10, "priority": "P1"},
            {"matchers": ['severity="warning"'], "priority": "P2"},
            {"matchers": ['team="db"'], "min_firing": 2, "priority": "P0"},  # after the ranking rule: never applies
        ]
    }
).classification


def test_a_blast_radius_rule_never_ranks_one_alert_but_travels_with_it():
    assert classify.classify_with_blast({"severity": "warning", "team": "db"}, RULES) == (
        models.Priority.P2,
        "classification[2]",
        (("classification[1]", 10, models.Priority.P1),),
    )
    assert classify.classify_with_blast({"severity": "critical"}, RULES) == (
        models.Priority.P0,
        "classification[0]",
        (),
    )
    assert classify.classify({"severity": "warning"}, RULES) == (models.Priority.P2, "classification[2]")


def errors_of(text: str) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        config.parse(yaml.safe_load(textwrap.dedent(text)))
    return caught.value.errors


def test_check_config_names_bad_practice_settings_with_their_path():
    assert errors_of(
        """
        services: [{id: web}]
        priorities:
          P0: {update_every: soon, stable_for: 0m}
        classification:
          - {matchers: ['severity="warning"'], min_firing: 0, priority: P1}
        stakeholders:
          - {id: leadership, emails: [cto@example.com], priorities: [P0, P7], services: [web, checkout]}
          - {id: leadership, emails: [not-an-email]}
          - {id: board, emails: []}
        status_page: {title: Status, services: [web, shop]}
        """
    ) == [
        "priorities.P0.update_every: expected a positive duration such as 30s, 5m, 12h, 1d or 1w, got 'soon'",
        "priorities.P0.stable_for: expected a positive duration such as 30s, 5m, 12h, 1d or 1w, got '0m'",
        "classification[0].min_firing: Input should be greater than or equal to 1",
        "stakeholders[0].priorities[1]: unknown priority 'P7': expected one of P0, P1, P2, P3",
        "stakeholders[0].services[1]: unknown service 'checkout'",
        "stakeholders[1].id: duplicate id 'leadership' (first at stakeholders[0])",
        "stakeholders[1].emails[0]: String should match pattern '^[^@\\s]+@[^@\\s]+$'",
        "stakeholders[2].emails: List should have at least 1 item after validation, not 0",
        "status_page.services[1]: unknown service 'shop'",
    ]


def test_the_example_config_turns_on_what_a_team_wants():
    cfg = config.read("config/pager.example.yaml")
    p0, p1 = cfg.priority_policy(models.Priority.P0), cfg.priority_policy(models.Priority.P1)
    assert (p0.update_every, p0.stable_for, p1.update_every) == (30 * MIN, 15 * MIN, 60 * MIN)
    assert cfg.stakeholders and cfg.status_page.services


def incident(**kw) -> models.Incident:
    base = models.Incident(
        id=1,
        service="web",
        dedup_key="k",
        priority=models.Priority.P0,
        status=models.IncidentStatus.TRIGGERED,
        summary="s",
        created_at=T0,
        last_seen_at=T0,
        ack_by=T0 + 5 * MIN,
        resolve_by=T0 + 60 * MIN,
    )
    return dataclasses.replace(base, **kw)


def test_recovering_in_time_meets_a_target_once_the_fix_holds():
    stabilizing = incident(
        status=models.IncidentStatus.STABILIZING, recovered_at=T0 + 3 * MIN, stable_until=T0 + 18 * MIN
    )
    assert not stabilizing.breached("ack", T0 + 10 * MIN)  # undecided while the window is open
    held = dataclasses.replace(stabilizing, status=models.IncidentStatus.RESOLVED, resolved_at=T0 + 18 * MIN)
    assert not held.breached("ack", T0 + 90 * MIN) and not held.breached("resolve", T0 + 90 * MIN)
    relapsed = incident(recovered_at=None)
    assert relapsed.breached("ack", T0 + 10 * MIN)
    late = incident(status=models.IncidentStatus.STABILIZING, recovered_at=T0 + 70 * MIN, stable_until=T0 + 85 * MIN)
    assert late.breached("resolve", T0 + 75 * MIN)


def test_reminders_repeat_on_the_schedule_without_catching_up():
    assert cadence._again(T0, 30 * MIN, T0 + MIN) == T0 + 30 * MIN
    assert cadence._again(T0, 30 * MIN, T0 + 30 * MIN) == T0 + 60 * MIN
    assert cadence._again(T0, 30 * MIN, T0 + 95 * MIN) == T0 + 120 * MIN  # an engine down 95 min reminds once


def test_role_change_lines_say_who_did_what():
    name = {"alice": "Alice", "bob": "Bob"}.get
    n = lambda u: name(u) or u  # noqa: E731
    assert roles.message("commander", "alice", None, "alice", "sms", n) == "Alice took command via sms"
    assert (
        roles.message("comms", "bob", "alice", "alice", "api", n)
        == "Bob is comms in place of Alice (set by Alice via api)"
    )
    assert roles.message("tech_lead", None, "bob", "api", "api", n) == "Tech lead cleared (was Bob) via api"
    p = roles.change(incident(), {"commander": "alice", "scribe": None}, "bob", "api", n)
    assert p.roles == ((1, "commander", "alice"),)  # scribe was already nobody: nothing to log


def test_a_reminder_sms_is_one_segment_with_the_update_link_and_no_ack_link():
    msg = message.Message(
        1234, 1234, models.Priority.P0, "x" * 100, "summary", "alice", "Alice", "sms", "+15551230001",
        reminder=True, update_url="https://pager.example.com/u/" + "A" * 22,
    )  # fmt: skip
    text = sms_text.render(msg)
    assert sms_text.segments(text) == 1 and "https://pager.example.com/u/" + "A" * 22 in text
    assert "/a/" not in text and "update 1234 <status>" in text


def test_the_status_page_state_is_the_worst_open_incident():
    assert statuspage.state([]) == "operational"
    assert statuspage.state([incident(priority=models.Priority.P2)]) == "degraded"
    assert statuspage.state([incident(priority=models.Priority.P2), incident()]) == "outage"
