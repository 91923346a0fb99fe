"""Learning from incidents, the pure parts: Markdown escaping, the draft, drill length, reminders, outliers, config."""

from __future__ import annotations

import dataclasses
import datetime
import re

import cmarkgfm
import pytest

from pager import actions, config, markdown, models, postmortem, reports
from pager.engine import drills
from tests import support

T0 = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    "hostile",
    [
        "a | b | c",
        "# heading\n- list\n> quote\n1. one",
        "<script>alert(1)</script><b>x</b>",
        "**bold** _it_ `code` ~~gone~~ [link](http://x.example) ![img](http://x.example/i.png)",
        "see https://evil.example/path and www.evil.example",
        "$E=mc^2$ & &amp; \\| backslash",
        "line one\r\nline two\u2028three\ttab\x00nul",
    ],
)
def test_escaped_text_renders_as_exactly_that_text_in_a_table_cell(hostile):
    doc = "\n".join(markdown.table(["a", "b"], [[markdown.text(hostile), "end"]]))
    html = cmarkgfm.github_flavored_markdown_to_html(doc)
    cells = re.findall(r"<td>(.*?)</td>", html, re.S)
    assert len(cells) == 2 and cells[1] == "end"
    assert not re.search(r"<(?!/?t[dhr]|/?t(able|head|body))\w", html), html  # no element but the table's
    plain = cells[0].replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&").replace("&quot;", '"')
    assert plain == " ".join(re.sub(r"[\x00-\x1f\u2028]", " ", hostile).split())


def test_a_long_text_is_cut_and_code_cannot_escape_its_backticks():
    assert markdown.text("x" * 600).endswith("…") and len(markdown.text("x" * 600)) == 500
    assert markdown.code("a`b") == "`a'b`"


def incident(**kw) -> models.Incident:
    base = dict(
        id=7,
        service="checkout",
        dedup_key="k",
        priority=models.Priority.P1,
        status=models.IncidentStatus.TRIGGERED,
        summary="queue | backlog",
        created_at=T0,
        last_seen_at=T0,
    )
    return models.Incident(**{**base, **kw})


def test_the_draft_of_an_open_incident_says_it_is_ongoing_and_shows_kinds_it_does_not_know():
    cfg = support.settings("").config
    entries = (
        models.TimelineEntry(1, T0, "triggered", "api", "Incident opened (P1) by api: queue | backlog", None),
        models.TimelineEntry(
            2, T0 + datetime.timedelta(minutes=3), "role_changed", "alice", "Alice is commander", None
        ),
        models.TimelineEntry(3, T0 + datetime.timedelta(minutes=4), "page_retry", "pager", "retrying", None),
    )
    record = postmortem.Record(models.IncidentDetail(incident(), (), entries))
    text = postmortem.draft(record, cfg, T0 + datetime.timedelta(minutes=10))
    assert re.findall(r"^## (.+)$", text, re.M) == list(postmortem.SECTIONS)
    assert "Nobody acknowledged it. Still triggered at 2026-11-23 12:10:00 UTC." in text
    assert "- **Duration:** 10m (600 s) so far" in text
    assert "| 12:03:00 | Role changed | Alice is commander | Alice |" in text  # a newer kind: shown, never dropped
    assert "retrying" not in text  # bookkeeping
    assert "Times in UTC (the service has no `time_zone`)." in text
    assert "queue \\| backlog" in text


def test_the_post_mortem_is_due_after_the_resolve_only_for_the_listed_priorities():
    cfg = support.settings("postmortems: {due_after: 24h, priorities: [P0]}").config
    resolved = incident(priority=models.Priority.P0, resolved_at=T0, status=models.IncidentStatus.RESOLVED)
    assert postmortem.due_at(resolved, cfg) == T0 + datetime.timedelta(hours=24)
    assert postmortem.due_at(incident(resolved_at=T0), cfg) is None  # P1 not listed
    assert postmortem.due_at(dataclasses.replace(resolved, drill=True), cfg) is None


def test_who_is_reminded_the_acknowledger_then_the_resolver_never_an_integration():
    cfg = support.settings("").config
    assert postmortem.reminded(incident(acknowledged_by="bob", resolved_by="alice"), cfg).id == "bob"
    assert postmortem.reminded(incident(acknowledged_by="integration:prod-am", resolved_by="alice"), cfg).id == "alice"
    assert postmortem.reminded(incident(acknowledged_by="integration:prod-am"), cfg) is None


def test_a_drill_lasts_the_whole_walk_of_its_chain():
    cfg = support.settings(
        """
escalation_policies:
  - {id: web, repeat: 1, steps: [{targets: ["user:alice"], ack_timeout: 5m}, {targets: ["user:bob"], ack_timeout: 10m}]}
"""
    ).config
    assert drills.walk_length(incident(escalation_policy="web"), cfg) == datetime.timedelta(minutes=30)
    p3 = incident(escalation_policy="web", priority=models.Priority.P3)  # P3 does not escalate: step 1 only
    assert drills.walk_length(p3, cfg) == datetime.timedelta(minutes=5)
    assert drills.walk_length(incident(escalation_policy="gone"), cfg) == datetime.timedelta()


def test_a_weekly_drill_keeps_its_local_time_across_the_change_to_winter_time():
    cfg = support.settings(
        """
services: [{id: web, time_zone: Europe/Berlin}]
drills: [{service: web, every: 7d, first: "2026-10-20T10:00"}]
integrations: []
"""
    ).config
    [entry] = cfg.drills
    before = datetime.datetime(2026, 10, 20, 8, 0, tzinfo=datetime.UTC)  # 10:00 CEST
    after = drills.next_run(before, entry, cfg, before)
    assert after == datetime.datetime(2026, 10, 27, 9, 0, tzinfo=datetime.UTC)  # 10:00 CET


def test_an_action_item_reminds_at_nine_the_next_morning_in_its_owners_zone():
    cfg = support.settings(
        "users: [{id: bob, time_zone: America/New_York}, {id: alice, time_zone: Europe/Berlin}]\nrotations: []\n"
        "escalation_policies: [{id: web, steps: [{targets: ['user:bob']}]}]"
    ).config
    due = datetime.date(2026, 11, 24)
    assert actions.remind_at(due, cfg, "bob") == datetime.datetime(2026, 11, 25, 14, 0, tzinfo=datetime.UTC)
    assert actions.remind_at(due, cfg, "alice") == datetime.datetime(2026, 11, 25, 8, 0, tzinfo=datetime.UTC)
    with pytest.raises(ValueError, match="expected a date"):
        actions.parse_due("2026-13-01")


def person(user: str, **total) -> dict:
    values = {"pages": 0, "night_pages": 0, "holding_hours": 0.0, "oncall_hours": 0.0, **total}
    return {"user": user, "name": user.title(), "total": values, "weeks": [{"week": "2026-11-16", **values}]}


def test_outliers_carry_more_than_twice_the_median_and_at_least_the_floor():
    people = [person("a", pages=12), person("b", pages=5), person("c", pages=4), person("d", pages=6)]
    assert [(o["user"], o["metric"]) for o in reports.outliers(people)] == [("a", "pages")]
    even = [person("a", pages=4), person("b", pages=1), person("c", pages=1)]
    assert reports.outliers(even) == []  # 4 is 4x the median but under the floor of 5
    assert reports.outliers([person("alone", pages=50)]) == []  # nobody to compare with


@pytest.mark.parametrize(
    ("yaml", "error"),
    [
        ("drills: [{service: nope, every: 30d}]", "drills[0].service: unknown service 'nope'"),
        ("drills: [{service: web}]", "drills[0].every: required key is missing"),
        ("drills: [{service: web, every: 30d, priority: P9}]", "drills[0].priority: unknown priority 'P9'"),
        ("reports: {digest: {emails: []}}", "reports.digest.emails"),
        ("reports: {digest: {emails: [not-an-address]}}", "reports.digest.emails[0]"),
        ("postmortems: {due_after: soon}", "postmortems.due_after"),
        ("services: [{id: web, time_zone: Mars/Olympus}]", "services[0].time_zone: unknown time zone"),
    ],
)
def test_config_errors_name_their_yaml_path(yaml, error):
    with pytest.raises(config.ConfigError) as exc:
        support.settings(yaml)
    assert any(line.startswith(error) for line in exc.value.errors), exc.value.errors


def test_the_responders_table_names_each_persons_roles():
    cfg = support.settings("").config
    record = postmortem.Record(models.IncidentDetail(incident(), (), ()), roles={"commander": "alice", "scribe": "bob"})
    text = postmortem.draft(record, cfg, T0)
    assert "| Alice | commander | 0 | — |" in text and "| Bob | scribe | 0 | — |" in text
    assert "were not recorded" not in text
