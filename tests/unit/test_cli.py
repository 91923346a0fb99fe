"""The `pager` command, run in-process: check-config lists every problem, oncall answers without a database."""

from __future__ import annotations

import json
import pathlib
import re
import textwrap

import pytest

from pager import cli, logs

EXAMPLE = pathlib.Path(__file__).resolve().parents[2] / "config" / "pager.example.yaml"

# daily hands off at 09:00 New York time on both sides of the DST change of 2026-03-08.
ONCALL = """
users:
  - {id: alice, name: Alice Example}
  - {id: bob, name: Bob Example}
  - {id: carol}
rotations:
  - {id: daily, time_zone: America/New_York, shift: 1d, handoff: "2026-03-02T09:00", members: [alice, bob]}
  - id: weekly
    shift: 1w
    handoff: "2026-03-02T00:00"
    members: [carol]
    overrides: [{user: bob, start: "2026-03-10T00:00", end: "2026-03-11T00:00"}]
  - {id: empty}
schedules:
  - id: business
    time_zone: America/New_York
    layers:
      - rotation: weekly
      - {rotation: daily, active: [{days: mon-fri, from: "09:00", to: "17:00"}]}
"""


@pytest.fixture(autouse=True)
def _keep_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """main() configures structlog to print to the sys.stderr of the moment, which capsys replaces."""
    monkeypatch.setattr(logs, "configure", lambda **_: None)


def write(tmp_path: pathlib.Path, text: str) -> str:
    path = tmp_path / "pager.yaml"
    path.write_text(textwrap.dedent(text))
    return str(path)


def run(argv: list[str]) -> int:
    """main()'s status, whether it returns it or exits with it (argparse and config errors exit)."""
    try:
        return cli.main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)


def test_check_config_accepts_the_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["check-config", str(EXAMPLE)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{EXAMPLE}: OK (2 services, 1 escalation policies, 4 integrations)\n"
    assert "nobody on call" not in err
    assert all(line.startswith("warning: ") for line in err.splitlines())


def test_check_config_lists_every_error_with_its_path(tmp_path: pathlib.Path, capsys) -> None:
    path = write(
        tmp_path,
        """
        users:
          - {id: alice, phone: +15551230001, time_zone: Europe}
        rotations:
          - {id: r, shift: 99999999999w, members: [alice, bob]}
        escalation_policies:
          - {id: p, steps: [{targets: ["rotation:r", "schedule:gone"], ack_timeout: 5 minutes}]}
        classification:
          - {matchers: ['severity=="critical"'], priority: P0}
        services: [{id: checkout, escalation_policy: missing}]
        """,
    )
    assert run(["check-config", path]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == [
        "users[0].phone: expected a phone number in E.164 form such as +15551230001, got the number 15551230001: "
        'quote it, as in "+15551230001", or YAML reads it as a number',
        "users[0].time_zone: unknown time zone 'Europe': expected an IANA name such as Europe/Berlin",
        "rotations[0].shift: duration is too large: '99999999999w'",
        "rotations[0].members[1]: unknown user 'bob'",
        "escalation_policies[0].steps[0].targets[1]: unknown schedule 'gone'",
        "escalation_policies[0].steps[0].ack_timeout: expected a positive duration such as 30s, 5m, 12h, 1d or 1w, "
        "got '5 minutes'",
        "classification[0].matchers[0]: bad matcher 'severity==\"critical\"': unquoted value '=\"critical\"' looks "
        'like a typo; write name="value" or name=~"regex", and quote a value that contains " or starts with = or ~',
        "services[0].escalation_policy: unknown escalation policy 'missing'",
        f"{path}: 8 error(s)",
    ]


@pytest.mark.parametrize(
    "text, where, problem",
    [
        ("users:\n  - {id: alice\nservices: []\n", "line 3, column 9", "expected ',' or '}', but got ':'"),
        ("users: [alice, bob\n", "line 2, column 1", "expected ',' or ']', but got '<stream end>'"),
        ("users:\tx\n", "line 1, column 7", "found character '\\t' that cannot start any token"),
    ],
)
def test_check_config_names_the_line_of_broken_yaml(tmp_path, capsys, text: str, where: str, problem: str) -> None:
    path = tmp_path / "pager.yaml"
    path.write_text(text)
    assert run(["check-config", str(path)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: {where}: not valid YAML: {problem}",
        f"{path}: 1 error(s)",
    ]


def test_check_config_warns_of_gaps_but_passes(tmp_path: pathlib.Path, capsys) -> None:
    path = write(
        tmp_path,
        """
        users: [{id: alice}]
        rotations:
          - {id: web-primary, members: [alice]}
          - {id: web-secondary, time_zone: Europe/Berlin}
          - {id: unused}
        escalation_policies:
          - {id: web, steps: [{targets: ["rotation:web-primary"]}, {targets: ["rotation:web-secondary"]}]}
        """,
    )
    assert run(["check-config", path]) == 0
    out, err = capsys.readouterr()
    assert out.endswith(": OK (0 services, 1 escalation policies, 0 integrations)\n")
    [gap] = [line for line in err.splitlines() if "nobody on call" in line]
    assert re.fullmatch(
        r"warning: rotations\[1\] \(web-secondary\): nobody on call \d{4}-\d\d-\d\d \d\d:\d\d to "
        r"\d{4}-\d\d-\d\d \d\d:\d\d \(Europe/Berlin\); the rotation has no members",
        gap,
    )


@pytest.mark.parametrize(
    "at, rows",
    [
        (
            "2026-03-04T12:00:00Z",  # Wednesday 07:00 in New York, before the business layer opens
            [
                ["rotation:daily", "Bob Example (bob)", "since 2026-03-03 14:00 UTC", "until 2026-03-04 14:00 UTC"],
                ["rotation:weekly", "carol", "since over a year ago", "until 2026-03-10 00:00 UTC"],
                ["rotation:empty", "(nobody on call)", "since over a year ago", "until over a year from now"],
                ["schedule:business", "carol", "since 2026-03-03 22:00 UTC", "until 2026-03-04 14:00 UTC"],
            ],
        ),
        (
            # 09:30 EDT on the day the clocks sprang forward: the 09:00 handoff came at 13:00 UTC, not 14:00
            "2026-03-08T13:30:00Z",
            [
                ["rotation:daily", "Alice Example (alice)", "since 2026-03-08 13:00 UTC", "until 2026-03-09 13:00 UTC"],
                ["rotation:weekly", "carol", "since over a year ago", "until 2026-03-10 00:00 UTC"],
                ["rotation:empty", "(nobody on call)", "since over a year ago", "until over a year from now"],
                ["schedule:business", "carol", "since 2026-03-06 22:00 UTC", "until 2026-03-09 13:00 UTC"],
            ],
        ),
        (
            "2026-03-08T08:30-04:00",  # half an hour before that handoff; the shift it ends lasted 23 hours
            [
                ["rotation:daily", "Bob Example (bob)", "since 2026-03-07 14:00 UTC", "until 2026-03-08 13:00 UTC"],
                ["rotation:weekly", "carol", "since over a year ago", "until 2026-03-10 00:00 UTC"],
                ["rotation:empty", "(nobody on call)", "since over a year ago", "until over a year from now"],
                ["schedule:business", "carol", "since 2026-03-06 22:00 UTC", "until 2026-03-09 13:00 UTC"],
            ],
        ),
        (
            "2026-03-10T12:00",  # no offset: UTC. bob overrides carol on weekly, and so on the schedule
            [
                ["rotation:daily", "Bob Example (bob)", "since 2026-03-09 13:00 UTC", "until 2026-03-10 13:00 UTC"],
                ["rotation:weekly", "Bob Example (bob)", "since 2026-03-10 00:00 UTC", "until 2026-03-11 00:00 UTC"],
                ["rotation:empty", "(nobody on call)", "since over a year ago", "until over a year from now"],
                ["schedule:business", "Bob Example (bob)", "since 2026-03-10 00:00 UTC", "until 2026-03-10 13:00 UTC"],
            ],
        ),
    ],
)
def test_oncall_table(tmp_path: pathlib.Path, capsys, at: str, rows: list[list[str]]) -> None:
    assert run(["oncall", "--config", write(tmp_path, ONCALL), "--at", at]) == 0
    header, *lines = capsys.readouterr().out.splitlines()
    assert header.startswith("on call at 2026-03-")
    assert [re.split(r" {3,}", line.strip()) for line in lines] == rows
    for column in ("since ", "until "):
        assert len({line.index(column) for line in lines}) == 1, "columns are aligned"


def test_oncall_header_says_which_instant(tmp_path: pathlib.Path, capsys) -> None:
    assert (
        run(["oncall", "-c", write(tmp_path, ONCALL), "--at", "2026-03-08T09:30:15-04:00", "--rotation", "daily"]) == 0
    )
    assert capsys.readouterr().out.splitlines() == [
        "on call at 2026-03-08 13:30:15 UTC",
        "  rotation:daily   Alice Example (alice)   since 2026-03-08 13:00 UTC   until 2026-03-09 13:00 UTC",
    ]


@pytest.mark.parametrize(
    "rotation, targets",
    [
        ("business", ["schedule:business"]),
        ("rotation:weekly", ["rotation:weekly"]),
        ("schedule:business", ["schedule:business"]),
    ],
)
def test_oncall_json_has_the_api_shape(tmp_path: pathlib.Path, capsys, rotation: str, targets: list[str]) -> None:
    path = write(tmp_path, ONCALL)
    assert run(["oncall", "-c", path, "--at", "2026-03-10T08:00-04:00", "--rotation", rotation, "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["at"] == "2026-03-10T12:00:00Z"
    assert [o["target"] for o in answer["oncall"]] == targets


def test_oncall_json(tmp_path: pathlib.Path, capsys) -> None:
    assert run(["oncall", "-c", write(tmp_path, ONCALL), "--at", "2026-03-08T13:30:00Z", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "at": "2026-03-08T13:30:00Z",
        "oncall": [
            {
                "target": "rotation:daily",
                "users": [{"id": "alice", "name": "Alice Example"}],
                "since": "2026-03-08T13:00:00Z",
                "until": "2026-03-09T13:00:00Z",
            },
            {
                "target": "rotation:weekly",
                "users": [{"id": "carol", "name": "carol"}],
                "since": None,
                "until": "2026-03-10T00:00:00Z",
            },
            {"target": "rotation:empty", "users": [], "since": None, "until": None},
            {
                "target": "schedule:business",
                "users": [{"id": "carol", "name": "carol"}],
                "since": "2026-03-06T22:00:00Z",
                "until": "2026-03-09T13:00:00Z",
            },
        ],
    }


def test_oncall_unknown_rotation(tmp_path: pathlib.Path, capsys) -> None:
    path = write(tmp_path, ONCALL)
    assert run(["oncall", "-c", path, "--rotation", "nope"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"pager oncall: {path} has no rotation or schedule 'nope' (it has: daily, weekly, empty, business)\n"


@pytest.mark.parametrize("at", ["yesterday", "2026-13-01T00:00Z", ""])
def test_oncall_bad_time(tmp_path: pathlib.Path, capsys, at: str) -> None:
    assert run(["oncall", "-c", write(tmp_path, ONCALL), "--at", at]) == 2
    assert f"argument --at: expected a time such as 2026-11-23T09:00:00Z or 2026-11-23T10:00+01:00, got {at!r}" in (
        capsys.readouterr().err
    )


def test_oncall_time_too_far_away(tmp_path: pathlib.Path, capsys) -> None:
    assert run(["oncall", "-c", write(tmp_path, ONCALL), "--at", "9999-12-31T23:00Z"]) == 2
    assert "too far from today" in capsys.readouterr().err


def test_oncall_with_a_bad_config(tmp_path: pathlib.Path, capsys) -> None:
    path = write(tmp_path, "rotations: [{id: r, members: [ghost]}]")
    assert run(["oncall", "-c", path]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{path}: configuration is not valid:",
        "  rotations[0].members[0]: unknown user 'ghost'",
    ]


def test_oncall_without_rotations(tmp_path: pathlib.Path, capsys) -> None:
    path = write(tmp_path, "users: [{id: a}]")
    assert run(["oncall", "-c", path]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [f"  {path} has no rotations or schedules"]


def test_oncall_help_says_a_naive_time_is_utc(capsys) -> None:
    assert run(["oncall", "--help"]) == 0
    assert "without an offset is read as UTC" in " ".join(capsys.readouterr().out.split())
