"""Slack through the real daemon and a Slack-compatible double: one message per incident, buttons that act."""

from __future__ import annotations

import datetime

from pager import clock, config, models
from tests import support
from tests.support import http, slack_double, wait

START = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
NOW = int(START.timestamp())
ALICE_SLACK = "U0ALICE01"


def slack_settings(double: slack_double.SlackDouble):
    env = {**support.ENV, "SLACK_BOT_TOKEN": double.bot_token, "SLACK_SIGNING_SECRET": double.signing_secret}
    return support.settings(
        f"""
users:
  - {{id: alice, name: Alice, phone: "+15551230001", slack_id: {ALICE_SLACK}}}
  - {{id: bob, name: Bob, phone: "+15551230002"}}
  - {{id: carol, name: Carol, phone: "+15551230003"}}
services:
  - {{id: web, escalation_policy: web, slack_channel: "#ops"}}
notifiers:
  slack: {{api_base: "{double.url}"}}
  console: {{enabled: false}}
""",
        env,
    )


async def _value(v):
    return v


async def started(make_client, double):
    client = await make_client(slack_settings(double), clock=clock.ManualClock(START), run_engine=True)
    incident = await http.open_incident(client, "checkout 5xx above 5%")
    [message] = await wait.eventually(lambda: _value(double.in_channel("#ops")))
    return client, incident, message, str(client.make_url("/v1/slack/interactive"))


def buttons(message) -> list[str]:
    return [e["action_id"] for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


async def test_one_message_per_incident_and_a_button_press_acknowledges(make_client):
    async with slack_double.running() as double:
        client, incident, message, url = await started(make_client, double)
        [post] = [c for c in double.calls if c.method == "chat.postMessage"]
        assert post.body["channel"] == "#ops" and post.content_type == "application/json"
        assert message.text == "[P1] #1 web: checkout 5xx above 5% — triggered"
        assert buttons(message) == ["acknowledge", "resolve"]

        pressed = await double.press(url, message, "acknowledge", user=ALICE_SLACK, timestamp=NOW)
        assert pressed.status == 200
        inc = (await http.incidents(client))[0]
        assert (inc["status"], inc["acknowledged_by"]) == ("acknowledged", "alice")
        # edited in place, not a second message: acknowledged, and Alice took command by acknowledging
        await wait.eventually(lambda: _value("commander Alice" in str(message.blocks)))
        assert message.text == "[P1] #1 web: checkout 5xx above 5% — acknowledged by Alice"
        assert buttons(message) == ["resolve"]
        assert len(double.in_channel("#ops")) == 1 and double.replies == []
        updates = [c for c in double.calls if c.method == "chat.update"]
        assert updates and all(u.body["channel"] == "C0OPS0001" and u.body["ts"] == message.ts for u in updates)
        edits = message.edits

        await double.press(url, message, "resolve", user=ALICE_SLACK, timestamp=NOW)
        await wait.eventually(lambda: _value(message.edits > edits and message.text.endswith("resolved by Alice")))
        assert buttons(message) == []
        timeline = (await http.detail(client, incident))["timeline"]
        assert [e["message"] for e in timeline if e["kind"] == "posted"] == ["Posted to Slack #ops"]
        assert [e["details"] for e in timeline if e["kind"] == "acknowledged"] == [{"via": "slack"}]


async def test_a_stale_timestamp_and_a_forged_signature_are_refused(make_client):
    async with slack_double.running() as double:
        client, _, message, url = await started(make_client, double)
        stale = await double.press(url, message, "acknowledge", user=ALICE_SLACK, timestamp=NOW - 301)
        assert stale.status == 401
        forged = double.sign(NOW, "payload=%7B%7D", secret="not-the-signing-secret")
        refused = await double.press(url, message, "acknowledge", user=ALICE_SLACK, timestamp=NOW, signature=forged)
        assert refused.status == 401
        inc = (await http.incidents(client))[0]
        assert inc["status"] == "triggered" and message.edits == 0


async def test_an_unlinked_presser_changes_nothing_and_is_told_why(make_client):
    async with slack_double.running() as double:
        client, _, message, url = await started(make_client, double)
        pressed = await double.press(url, message, "acknowledge", user="U0STRANGER", timestamp=NOW)
        assert pressed.status == 200
        [reply] = double.replies
        assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
        assert "U0STRANGER" in reply["text"] and "not linked to a pager user" in reply["text"]
        assert (await http.incidents(client))[0]["status"] == "triggered"


async def test_slack_down_then_up_posts_the_message_once(make_client):
    async with slack_double.running() as double:
        double.fail_next(2, "internal_error")
        client, _, message, _ = await started(make_client, double)
        assert [c.answered["ok"] for c in double.calls] == [False, False, True]
        assert len(double.in_channel("#ops")) == 1


async def test_a_page_by_slack_is_a_direct_message_with_the_buttons(make_client):
    async with slack_double.running() as double:
        settings = slack_settings(double)
        cfg = settings.config.model_copy(
            update={
                "priorities": {
                    **settings.config.priorities,
                    models.Priority.P1: config.PriorityPolicy(channels=["slack"]),
                }
            }
        )
        client = await make_client(
            config.resolve(cfg, dict(settings_env(double))), clock=clock.ManualClock(START), run_engine=True
        )
        await http.open_incident(client, "disk full on db-1")
        [dm] = await wait.eventually(lambda: _value(double.in_channel("D0ALICE01")))
        assert dm.text == "[P1] #1 web: disk full on db-1" and buttons(dm) == ["acknowledge", "resolve"]
        pressed = await double.press(
            str(client.make_url("/v1/slack/interactive")), dm, "acknowledge", user=ALICE_SLACK, timestamp=NOW
        )
        assert pressed.status == 200
        assert (await http.incidents(client))[0]["acknowledged_by"] == "alice"


def settings_env(double):
    return {**support.ENV, "SLACK_BOT_TOKEN": double.bot_token, "SLACK_SIGNING_SECRET": double.signing_secret}
