"""The configuration and pure decisions behind voice, Slack, outgoing webhooks and SMS opt-outs."""

from __future__ import annotations

import datetime

import pytest

from pager import config, models, optout
from pager.notify import message, slack_blocks, webhook
from pager.sender import news
from pager.store import deliveries
from tests import support

TWILIO = {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "tok"}
AT = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)


def test_voice_takes_sms_s_account_number_and_api_base_unless_it_names_its_own():
    s = support.settings(
        'notifiers: {sms: {from: "+15005550006", api_base: "http://twilio.test"}, voice: {}}', {**support.ENV, **TWILIO}
    )
    section, secrets = s.channel("voice")
    assert (section.from_number, section.api_base) == ("+15005550006", "http://twilio.test")
    assert secrets == {"account_sid": "AC1", "auth_token": "tok"}
    own = support.settings(
        'notifiers: {sms: {from: "+15005550006"}, voice: {from: "+15005550007", account_sid_env: V_SID, auth_token_env: V_TOK}}',
        {**support.ENV, **TWILIO, "V_SID": "AC2", "V_TOK": "tok2"},
    )
    section, secrets = own.channel("voice")
    assert (section.from_number, secrets) == ("+15005550007", {"account_sid": "AC2", "auth_token": "tok2"})


def test_voice_without_an_account_or_a_number_is_disabled_with_a_warning():
    alone = support.settings("notifiers: {voice: {}}")
    assert "voice" not in alone.enabled_channels()
    assert (
        "notifiers.voice: account_sid_env, auth_token_env not configured (nor notifiers.sms); voice disabled"
        in alone.warnings
    )
    no_number = support.settings(
        'notifiers: {sms: {messaging_service_sid: "MG1"}, voice: {}}', {**support.ENV, **TWILIO}
    )
    assert "voice" not in no_number.enabled_channels()
    assert any(w.startswith("notifiers.voice: no `from` number") for w in no_number.warnings)


def test_webhooks_need_their_variables_and_name_known_services():
    s = support.settings(
        "webhooks: [{id: a, url_env: A_URL, secret_env: A_KEY}, {id: b, url_env: B_URL}, {id: c, url_env: C_URL}]",
        {**support.ENV, "A_URL": "https://hooks.example.com/x", "B_URL": "ftp://nope", "C_URL": "https://c.example"},
    )
    assert [w.id for w, _, _ in s.webhooks()] == ["c"]
    assert "webhooks[0] (a): $A_KEY not set; webhook disabled" in s.warnings
    assert "webhooks[1] (b): $B_URL is not an http(s) URL; webhook disabled" in s.warnings
    with pytest.raises(config.ConfigError) as caught:
        support.settings("webhooks: [{id: a, url_env: A_URL, services: [nope], events: [paged]}]")
    assert caught.value.errors == [
        "webhooks[0].services[0]: unknown service 'nope'",
        "webhooks[0].events[0]: Input should be 'triggered', 'acknowledged', 'resolved' or 'status_update'",
    ]


@pytest.mark.parametrize(
    "body, kind, want",
    [
        ("STOP", None, "STOP"),
        (" stop. ", None, "STOP"),
        ("Unsubscribe", None, "STOP"),
        ("opt out", None, "STOP"),
        ("start", None, "START"),
        ("UNSTOP!", None, "START"),
        ("stop paging me about 1234", None, None),
        ("ack 1234", None, None),
        ("arrêt", "STOP", "STOP"),  # Twilio's Advanced Opt-Out matched a keyword of its own
        ("HELP", "HELP", None),
    ],
)
def test_opt_out_keywords_are_the_whole_message(body, kind, want):
    assert optout.keyword(body, kind) == want


def incident(status=models.IncidentStatus.TRIGGERED, **kw) -> models.Incident:
    return models.Incident(
        id=7, service="web", dedup_key="k", priority=models.Priority.P0, status=status, summary="db <down> & out",
        created_at=AT, last_seen_at=AT, alert_count=1, **kw,
    )  # fmt: skip


def test_slack_buttons_follow_the_state_and_text_is_escaped():
    name = {"alice": "Alice"}.get
    triggered = slack_blocks.incident(incident(), lambda u: name(u or "", u or "?"))
    assert triggered[0]["text"]["text"] == "*[P0] #7 web*\ndb &lt;down&gt; &amp; out"
    assert [e["action_id"] for e in triggered[-1]["elements"]] == ["acknowledge", "resolve"]
    acked = incident(models.IncidentStatus.ACKNOWLEDGED, acknowledged_by="alice", acknowledged_at=AT)
    blocks = slack_blocks.incident(acked, lambda u: name(u or "", u or "?"))
    assert "*Acknowledged* by Alice at 12:00 UTC" in blocks[1]["elements"][0]["text"]
    assert [e["action_id"] for e in blocks[-1]["elements"]] == ["resolve"]
    done = incident(models.IncidentStatus.RESOLVED, resolved_by="alice", resolved_at=AT)
    assert all(b["type"] != "actions" for b in slack_blocks.incident(done, lambda u: u or "?"))


def test_a_status_update_threads_its_fields():
    entry = models.TimelineEntry(1, AT, "status_update", "alice", "Checkout degraded", {"known": "one AZ", "doing": ""})
    assert slack_blocks.thread_reply(entry, lambda u: "Alice") == (
        "*Status update* from Alice: Checkout degraded\n*Known:* one AZ"
    )


def test_webhook_bodies_are_signed_over_their_exact_bytes():
    body = b'{"event":"triggered"}'
    assert webhook.signature("s3cret", body) == (
        "sha256=" + __import__("hmac").new(b"s3cret", body, "sha256").hexdigest()
    )
    n = message.News(1, "acknowledged", incident(models.IncidentStatus.ACKNOWLEDGED, acknowledged_by="bob"),
                     models.TimelineEntry(1, AT, "acknowledged", "bob", "Acknowledged by bob via api", None),
                     {"bob": "Bob"})  # fmt: skip
    assert webhook.headline(n) == "[P0] #7 web acknowledged by Bob: db <down> & out"


def _claimed(target: str, attempts: int, queued: datetime.datetime) -> deliveries.Claimed:
    entry = models.TimelineEntry(1, AT, "triggered", "pager", "opened", None)
    return deliveries.Claimed(1, "triggered", target, attempts, queued, entry, incident(), None)


def test_a_failing_post_is_retried_with_backoff_then_given_up_after_a_day():
    temporary = message.Outcome.failed("HTTP 500", permanent=False)
    fresh = _claimed("webhook:ops", 1, AT)
    o, _ = news.settle([(fresh, temporary)], lambda d: None, AT)
    assert o.retry == ((1, "HTTP 500", AT + datetime.timedelta(seconds=5)),)
    assert [line.kind for line in o.log] == ["post_retry"]
    later = _claimed("webhook:ops", 9, AT)
    o, _ = news.settle([(later, temporary)], lambda d: None, AT + datetime.timedelta(hours=2))
    assert o.retry[0][2] == AT + datetime.timedelta(hours=2, minutes=10) and o.log == ()  # capped; one line only
    o, _ = news.settle([(later, temporary)], lambda d: None, AT + datetime.timedelta(days=1))
    assert o.failed == ((1, "HTTP 500; gave up after 9 attempts"),) and [line.kind for line in o.log] == ["post_failed"]
    o, _ = news.settle([(fresh, message.Outcome.failed("HTTP 404", permanent=True))], lambda d: None, AT)
    assert o.failed == ((1, "HTTP 404"),)


def test_news_goes_to_the_webhooks_that_follow_its_kind_and_service_and_to_the_service_s_slack():
    s = support.settings(
        """
services:
  - {id: web, escalation_policy: web, slack_channel: "#ops"}
  - {id: search, escalation_policy: web}
notifiers: {slack: {}}
webhooks:
  - {id: all, url_env: HOOK}
  - {id: resolved-web, url_env: HOOK, events: [resolved], services: [web]}
""",
        {**support.ENV, "HOOK": "https://h.example", "SLACK_BOT_TOKEN": "x", "SLACK_SIGNING_SECRET": "y"},
    )
    events = [
        deliveries.Event(1, 1, 10, "triggered", "web"),
        deliveries.Event(2, 1, 11, "resolved", "web"),
        deliveries.Event(3, 2, 12, "resolved", "search"),
        deliveries.Event(4, 1, 13, "priority_raised", "web"),
    ]
    got = [(t.event.log_id, t.target) for t in news.targets(events, s)]
    assert got == [
        (10, "webhook:all"),
        (10, "slack"),
        (11, "webhook:all"),
        (11, "webhook:resolved-web"),
        (11, "slack"),
        (12, "webhook:all"),
        (13, "slack"),
    ]
