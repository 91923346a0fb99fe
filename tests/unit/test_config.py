"""Configuration: a good file loads; a bad one lists every problem with its YAML path."""

from __future__ import annotations

import datetime
import textwrap

import pytest
import yaml

from pager import config, models, values

GOOD = """
server:       {listen: "127.0.0.1:8080", public_url: "https://pager.example.com/"}
database:     {url_env: PAGER_DATABASE_URL}
data_dir:     ./pager-data
api_tokens_env: [PAGER_API_TOKEN]
users:
  - {id: alice, name: Alice, phone: "+1 555-123-0001", email: alice@example.com, time_zone: Europe/Berlin}
  - {id: bob, phone: "+15551230002"}
  - {id: erin, email: erin@example.com}
rotations:
  - id: web-primary
    time_zone: America/New_York
    shift: 1w
    handoff: "2026-01-05T09:00"
    members: [alice, bob]
    overrides: [{user: erin, start: "2026-02-01T00:00", end: "2026-02-02T00:00", replaces: alice}]
  - {id: web-secondary, shift: 12h, members: [bob]}
schedules:
  - id: web
    layers:
      - {rotation: web-primary}
      - {rotation: web-secondary, active: [{days: mon-fri, from: "09:00", to: "17:00"}]}
escalation_policies:
  - id: web
    repeat: 2
    steps:
      - {targets: ["rotation:web-primary"], ack_timeout: 5m}
      - {targets: ["schedule:web", "user:erin"], ack_timeout: 1h30m}
classification:
  - {matchers: ['severity="critical"'], priority: P0}
  - {matchers: ['severity=~"error|major"'], priority: P1}
  - {matchers: ['severity="warning"'], priority: P2}
  - {priority: P3}
priorities:
  P0: {channels: [sms, email]}
  P3: {channels: [email], escalate: false}
services:
  - {id: checkout, escalation_policy: web, matchers: ['service="checkout"']}
  - {id: ops}
integrations:
  - {id: prod-am, type: alertmanager, token_env: PAGER_AM_TOKEN, service: ops}
  - {id: pd, type: events_v2, token_env: PAGER_PD_TOKEN, service: checkout}
notifiers:
  sms:   {account_sid_env: TWILIO_ACCOUNT_SID, auth_token_env: TWILIO_AUTH_TOKEN, from: "+15005550006"}
  email: {host: localhost, port: 25, from: pager@example.com}
"""


def load(text: str) -> config.Config:
    return config.parse(yaml.safe_load(textwrap.dedent(text)))


def errors_of(text: str) -> list[str]:
    with pytest.raises(config.ConfigError) as caught:
        load(text)
    assert str(caught.value) == "\n".join(caught.value.errors)
    return caught.value.errors


def test_good_config_parses() -> None:
    cfg = load(GOOD)
    assert cfg.server.public_url == "https://pager.example.com"
    assert cfg.user("alice").phone == "+15551230001"
    assert cfg.user("bob").time_zone == "UTC"
    assert cfg.rotation("web-secondary").shift == datetime.timedelta(hours=12)
    assert cfg.rotation("web-primary").handoff == datetime.datetime(2026, 1, 5, 9, 0)
    assert cfg.schedule("web").layers[1].active[0].days == (0, 1, 2, 3, 4)
    assert cfg.schedule("web").layers[1].active[0].start == datetime.time(9, 0)
    assert [s.ack_timeout for s in cfg.policy("web").steps] == [
        datetime.timedelta(minutes=5),
        datetime.timedelta(hours=1, minutes=30),
    ]
    assert [r.priority for r in cfg.classification] == list(models.Priority)
    assert [str(m) for m in cfg.service("checkout").matchers] == ['service="checkout"']
    assert cfg.priority_policy(models.Priority.P3).escalate is False
    assert cfg.priority_policy(models.Priority.P1).channels == ["sms", "email"]  # default ladder fills the gaps
    assert cfg.notifiers.sms.from_number == "+15005550006"


def test_empty_file_is_a_valid_config() -> None:
    cfg = config.parse(None)
    assert cfg.server.listen == "127.0.0.1:8080"
    assert len(cfg.classification) == 4


def test_a_bad_file_lists_every_error_with_its_path() -> None:
    errors = errors_of(
        """
        server: {listen: "localhost", public_url: "ftp://x"}
        users:
          - {id: alice, phone: "555-1234", time_zone: Mars/Base}
          - {id: "bad id", colour: red}
        rotations:
          - {id: r1, shift: 0s, handoff: "next monday"}
        escalation_policies:
          - id: web
            steps:
              - {targets: ["rotation:r1"], ack_timeout: 5m}
              - {targets: ["team:x"], ack_timeout: 5 minutes}
        classification:
          - {matchers: ['severity'], priority: P0}
          - {priority: P9}
        integrations:
          - {id: am, type: nagios, token_env: AM, service: checkout}
        notifiers:
          sms: {}
        """
    )
    paths = [e.partition(": ")[0] for e in errors]
    assert paths == [
        "server.listen",
        "server.public_url",
        "users[0].phone",
        "users[0].time_zone",
        "users[1].id",
        "users[1].colour",
        "rotations[0].shift",
        "rotations[0].handoff",
        "escalation_policies[0].steps[1].targets[0]",
        "escalation_policies[0].steps[1].ack_timeout",
        "classification[0].matchers[0]",
        "classification[1].priority",
        "integrations[0].type",
        "integrations[0].service",  # no service 'checkout': reported beside the schema errors
        "notifiers.sms",
    ]
    assert "users[1].colour: unknown key" in errors
    assert (
        "escalation_policies[0].steps[1].ack_timeout: expected a positive duration such as 30s, 5m, 12h, 1d or 1w, "
        "got '5 minutes'" in errors
    )


def test_unknown_references_are_errors() -> None:
    errors = errors_of(
        """
        users: [{id: alice}, {id: alice}]
        rotations:
          - id: r
            members: [alice, bob]
            overrides: [{user: zed, start: "2026-01-01T00:00", end: "2026-01-02T00:00"}]
        schedules: [{id: s, layers: [{rotation: nope}]}]
        escalation_policies: [{id: p, steps: [{targets: ["user:carol", "rotation:r", "schedule:gone"]}]}]
        services: [{id: checkout, escalation_policy: missing-policy}]
        integrations: [{id: am, type: alertmanager, token_env: T, service: nowhere}]
        """
    )
    assert errors == [
        "users[1].id: duplicate id 'alice' (first at users[0])",
        "rotations[0].members[1]: unknown user 'bob'",
        "rotations[0].overrides[0].user: unknown user 'zed'",
        "schedules[0].layers[0].rotation: unknown rotation 'nope'",
        "escalation_policies[0].steps[0].targets[0]: unknown user 'carol'",
        "escalation_policies[0].steps[0].targets[2]: unknown schedule 'gone'",
        "services[0].escalation_policy: unknown escalation policy 'missing-policy'",
        "integrations[0].service: unknown service 'nowhere'",
    ]


@pytest.mark.parametrize(
    "value, expected",
    [
        ("30s", datetime.timedelta(seconds=30)),
        ("5m", datetime.timedelta(minutes=5)),
        ("1h30m", datetime.timedelta(hours=1, minutes=30)),
        ("1d", datetime.timedelta(days=1)),
        ("2w", datetime.timedelta(weeks=2)),
        ("500ms", datetime.timedelta(milliseconds=500)),
    ],
)
def test_durations(value: str, expected: datetime.timedelta) -> None:
    assert values.parse_duration(value) == expected
    cfg = load(
        f"users: [{{id: a}}]\nescalation_policies: [{{id: p, steps: [{{targets: [user:a], ack_timeout: {value}}}]}}]"
    )
    assert cfg.policy("p").steps[0].ack_timeout == expected


@pytest.mark.parametrize("value", ["0s", "5", "300", "5 m", "1.5h", "-5m", "5min", "m", "''", "1h 30m", "[5m]"])
def test_bad_durations_are_rejected_with_an_example(value: str) -> None:
    errors = errors_of(f"rotations: [{{id: r, shift: {value}}}]")
    assert len(errors) == 1
    assert errors[0].startswith("rotations[0].shift: expected a")
    assert "such as 30s, 5m, 12h, 1d or 1w" in errors[0]


@pytest.mark.parametrize(
    "value, message",
    [
        ("Mars/Base", "users[0].time_zone: unknown time zone 'Mars/Base': expected an IANA name such as Europe/Berlin"),
        ("CEST", "users[0].time_zone: unknown time zone 'CEST'"),
        ("'+02:00'", "users[0].time_zone: unknown time zone '+02:00'"),
        ("''", "users[0].time_zone: unknown time zone ''"),
        ("42", "users[0].time_zone: expected an IANA time zone name such as Europe/Berlin, got 42"),
    ],
)
def test_bad_time_zones(value: str, message: str) -> None:
    [error] = errors_of(f"users: [{{id: a, time_zone: {value}}}]")
    assert error.startswith(message)


@pytest.mark.parametrize("value", ["Europe", "America", "zone.tab", "Europe/", "../etc/passwd", "/etc/localtime"])
def test_time_zone_that_names_a_directory_or_a_stray_file(value: str) -> None:
    assert errors_of(f"users: [{{id: a, time_zone: {value!r}}}]") == [
        f"users[0].time_zone: unknown time zone {value!r}: expected an IANA name such as Europe/Berlin"
    ]


@pytest.mark.parametrize("value", ["99999999999w", "999999999999999999999d", "9999999999999999h99999999999999999h"])
def test_absurd_duration_is_an_error_not_a_crash(value: str) -> None:
    assert errors_of(f"rotations: [{{id: r, shift: {value}}}]") == [
        f"rotations[0].shift: duration is too large: {value!r}"
    ]


@pytest.mark.parametrize(
    "value, stored",
    [
        ("'+15551230001'", "+15551230001"),
        ("'+44 20 7946 0958'", "+442079460958"),
        ("'+1-555-123-0001'", "+15551230001"),
    ],
)
def test_phones_are_normalised_to_e164(value: str, stored: str) -> None:
    assert load(f"users: [{{id: a, phone: {value}}}]").user("a").phone == stored


@pytest.mark.parametrize(
    "value",
    # the last is unquoted +15551230001, which YAML reads as the integer 15551230001
    ["'5551230001'", "'+0551230001'", "'+1 (555) 123-0001'", "'+12'", "'call alice'", "+15551230001"],
)
def test_bad_phones(value: str) -> None:
    [error] = errors_of(f"users: [{{id: a, phone: {value}}}]")
    assert error.startswith("users[0].phone: expected a phone number in E.164 form such as +15551230001, got ")


def test_unquoted_phone_says_to_quote_it() -> None:
    # YAML reads unquoted +15551230001 as the integer 15551230001, dropping the +
    assert errors_of("users: [{id: a, phone: +15551230001}]") == [
        "users[0].phone: expected a phone number in E.164 form such as +15551230001, got the number 15551230001: "
        'quote it, as in "+15551230001", or YAML reads it as a number'
    ]


@pytest.mark.parametrize("quote", ["", '"'])
@pytest.mark.parametrize(
    "value, shown",
    [
        ("2026-01-05T09:00:00+05:00", "'2026-01-05T09:00:00+05:00'"),
        ("2026-01-05T09:00:00Z", "'2026-01-05T09:00:00"),  # unquoted: YAML has already made Z +00:00
    ],
)
def test_handoff_with_an_offset_is_rejected_quoted_or_not(quote: str, value: str, shown: str) -> None:
    [error] = errors_of(f"rotations: [{{id: r, handoff: {quote}{value}{quote}}}]")
    assert error.startswith(f"rotations[0].handoff: {shown}")
    assert error.endswith("carries a UTC offset: give local wall-clock time; time_zone says which zone")


@pytest.mark.parametrize(
    "value, local",
    [
        ("2026-01-05T09:00:00", datetime.datetime(2026, 1, 5, 9, 0)),  # unquoted: YAML's naive datetime
        ("2026-01-05 09:00", datetime.datetime(2026, 1, 5, 9, 0)),
        ("2026-01-05", datetime.datetime(2026, 1, 5, 0, 0)),  # unquoted: YAML's date
        ('"2026-01-05T09:00"', datetime.datetime(2026, 1, 5, 9, 0)),
    ],
)
def test_handoff_in_local_time(value: str, local: datetime.datetime) -> None:
    assert load(f"rotations: [{{id: r, handoff: {value}}}]").rotation("r").handoff == local


def test_classification_priority_and_matchers() -> None:
    errors = errors_of(
        """
        classification:
          - {matchers: ['team=~"(web"'], priority: P1}
          - {matchers: ['severity critical'], priority: P0}
          - {priority: P4}
          - {matchers: ['a="b"']}
        """
    )
    assert [e.partition(": ")[0] for e in errors] == [
        "classification[0].matchers[0]",
        "classification[1].matchers[0]",
        "classification[2].priority",
        "classification[3].priority",
    ]
    assert "bad regular expression" in errors[0]
    assert errors[3] == "classification[3].priority: required key is missing"


def test_unreadable_yaml_names_the_line(tmp_path) -> None:
    path = tmp_path / "pager.yaml"
    path.write_text("users:\n  - {id: alice\nservices: []\n")
    with pytest.raises(config.ConfigError) as caught:
        config.read(path)
    [error] = caught.value.errors
    assert error.startswith(f"{path}: line ")
    assert "not valid YAML" in error


def test_missing_file(tmp_path) -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.read(tmp_path / "absent.yaml")
    assert "cannot read" in caught.value.errors[0]


def test_top_level_must_be_a_mapping() -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse(["users"])
    assert caught.value.errors == ["(top level): expected a mapping of sections, got list"]


@pytest.mark.parametrize(
    "env, enabled, warned",
    [
        ({}, [], ["prod-am", "pd"]),
        ({"PAGER_AM_TOKEN": ""}, [], ["prod-am", "pd"]),  # set but empty counts as unset
        ({"PAGER_AM_TOKEN": "s3cret"}, ["prod-am"], ["pd"]),
        ({"PAGER_AM_TOKEN": "a", "PAGER_PD_TOKEN": "b"}, ["prod-am", "pd"], []),
    ],
)
def test_resolve_disables_integrations_without_a_token(env: dict, enabled: list, warned: list) -> None:
    settings = config.resolve(load(GOOD), env)
    assert list(settings.secrets.integration_tokens) == enabled
    integration_warnings = [w for w in settings.warnings if w.startswith("integrations[")]
    assert len(integration_warnings) == len(warned)
    for ident, warning in zip(warned, integration_warnings):
        assert f"({ident})" in warning and "is not set; integration disabled" in warning
    assert not any("s3cret" in w for w in settings.warnings)


def test_resolve_reads_every_secret_and_warns_about_missing_twilio() -> None:
    env = {"PAGER_DATABASE_URL": "postgresql://db/pager", "PAGER_API_TOKEN": "api", "TWILIO_ACCOUNT_SID": "AC1"}
    settings = config.resolve(load(GOOD), env)
    assert settings.secrets.database_url == "postgresql://db/pager"
    assert settings.secrets.api_tokens == ("api",)
    assert not settings.enabled("sms")
    assert "notifiers.sms: $TWILIO_AUTH_TOKEN not set; SMS disabled" in settings.warnings
    assert settings.enabled_channels() == ("email", "console")


def test_api_tokens_are_named_by_their_variable_and_read_tokens_are_read_only() -> None:
    cfg = config.parse({"api_tokens_env": ["PAGER_API_TOKEN"], "api_read_tokens_env": ["GRAFANA_TOKEN", "UNSET"]})
    settings = config.resolve(cfg, {"PAGER_API_TOKEN": "w", "GRAFANA_TOKEN": "r"})
    assert [(k.name, k.value, k.read_only) for k in settings.secrets.api_keys] == [
        ("PAGER_API_TOKEN", "w", False),
        ("GRAFANA_TOKEN", "r", True),
    ]
    assert settings.secrets.api_tokens == ("w",)
    assert "api_read_tokens_env[1]: $UNSET is not set; that API token is disabled" in settings.warnings


def test_schema_and_reference_errors_are_reported_together() -> None:
    errors = errors_of(
        """
        users: [{id: alice, time_zone: Nowhere/Land}]
        services: [{id: checkout, escalation_policy: missing-policy}]
        """
    )
    assert errors == [
        "users[0].time_zone: unknown time zone 'Nowhere/Land': expected an IANA name such as Europe/Berlin",
        "services[0].escalation_policy: unknown escalation policy 'missing-policy'",
    ]


@pytest.mark.parametrize(
    "text, expected",
    [
        # a section that is not a list: its ids are unknown, so nothing is checked against them
        ("users: alice\nrotations: [{id: r, members: [bob]}]", ["users: Input should be a valid list"]),
        # an entry without a readable id might be the one referred to: no unknown-user error
        (
            "users: [{id: alice}, {name: Bob}]\nrotations: [{id: r, members: [bob]}]",
            ["users[1].id: required key is missing"],
        ),
        # entries and references of the wrong shape are the schema's to report
        (
            "users: [alice]\nrotations: [{id: r, members: alice}, 7, {id: s, members: [7, carol]}]",
            [
                "users[0]: Input should be a valid dictionary or instance of User",
                "rotations[0].members: Input should be a valid list",
                "rotations[1]: Input should be a valid dictionary or instance of Rotation",
                "rotations[2].members[0]: Input should be a valid string",
            ],
        ),
        (
            "users: [{id: alice}]\n"
            "escalation_policies: [{id: p, steps: [{targets: [7, 'team:x', 'user:', 'user:bob']}, oops]}]",
            [
                "escalation_policies[0].steps[0].targets[0]: bad target 7: expected user:ID, rotation:ID or schedule:ID",
                "escalation_policies[0].steps[0].targets[1]: bad target 'team:x': "
                "expected user:ID, rotation:ID or schedule:ID",
                "escalation_policies[0].steps[0].targets[2]: bad target 'user:': "
                "expected user:ID, rotation:ID or schedule:ID",
                "escalation_policies[0].steps[0].targets[3]: unknown user 'bob'",
                "escalation_policies[0].steps[1]: Input should be a valid dictionary or instance of Step",
            ],
        ),
    ],
)
def test_reference_checks_skip_what_a_malformed_file_hides(text: str, expected: list[str]) -> None:
    assert errors_of(text) == expected


def test_errors_follow_the_file_not_the_kind_of_check() -> None:
    errors = errors_of(
        """
        users: [{id: alice}]
        rotations:
          - {id: r, members: [alice, zed], shift: 0s}
          - {id: r, members: [alice], handoff: soon}
        services: [{id: s, escalation_policy: nope, colour: red}]
        """
    )
    assert errors == [
        "rotations[0].members[1]: unknown user 'zed'",
        "rotations[0].shift: expected a positive duration such as 30s, 5m, 12h, 1d or 1w, got '0s'",
        "rotations[1].id: duplicate id 'r' (first at rotations[0])",
        "rotations[1].handoff: expected a local date and time such as 2026-01-05T09:00, got 'soon'",
        "services[0].escalation_policy: unknown escalation policy 'nope'",
        "services[0].colour: unknown key",
    ]


def test_the_alert_hygiene_sections_report_each_error_with_its_yaml_path() -> None:
    bad = """
services: [{id: web}]
priorities: {P0: {ack_expires: soon}}
integrations:
  - {id: g, type: grafana, service: web}
  - {id: a, type: alertmanager, service: web, token_env: T, signing_secret_env: S}
  - {id: gen, type: generic, token_env: T, service: web}
  - {id: gen2, type: generic, token_env: T, service: web, fields: {summary: "$.[", status: "$.s"}}
  - {id: g2, type: grafana, token_env: T, service: web, signature_header: "bad header"}
heartbeats:
  - {id: nightly, service: nope, interval: 500ms, token_env: HB}
  - {id: quiet, service: web, interval: 5m}
  - {id: nightly, service: web, interval: 1m, alert: ['team=~']}
"""
    with pytest.raises(config.ConfigError) as caught:
        config.parse(yaml.safe_load(bad))
    assert caught.value.errors == [
        "priorities.P0.ack_expires: expected a positive duration such as 30s, 5m, 12h, 1d or 1w, got 'soon'",
        "integrations[0]: a grafana integration needs token_env, signing_secret_env or both",
        "integrations[1].signing_secret_env: only a grafana integration is signed, not alertmanager",
        "integrations[2].fields: required key is missing: a generic integration maps fields",
        "integrations[3].fields.summary: not a JSONPath: '$.[': Parse error near the end of string!",
        "integrations[4].signature_header: expected an HTTP header name such as X-Grafana-Alerting-Signature, got 'bad header'",
        "heartbeats[0].service: unknown service 'nope'",
        "heartbeats[0].interval: expected whole seconds such as 30s, 5m or 1h (second granularity), got '500ms'",
        "heartbeats[1]: a heartbeat needs token_env (beats over HTTP), alert (an always-firing alert), or both",
        "heartbeats[2].id: duplicate id 'nightly' (first at heartbeats[0])",
        "heartbeats[2].alert[0]: bad matcher 'team=~': unquoted value '~' looks like a typo; "
        'write name="value" or name=~"regex", and quote a value that contains " or starts with = or ~',
    ]


def test_a_status_mapping_needs_the_values_that_mean_resolved() -> None:
    with pytest.raises(config.ConfigError) as caught:
        config.parse(
            yaml.safe_load(
                "services: [{id: web}]\nintegrations: [{id: g, type: generic, token_env: T, service: web,"
                " fields: {summary: $.t, status: $.s}}]"
            )
        )
    assert caught.value.errors == [
        "integrations[0].fields: status and resolved_when go together: which values of status mean resolved"
    ]
