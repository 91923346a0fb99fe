"""Label matchers behave as in Alertmanager: anchored regexes, a missing label is the empty string."""

from __future__ import annotations

import pytest

from pager import matchers


@pytest.mark.parametrize(
    "text, labels, expected",
    [
        ('severity="critical"', {"severity": "critical"}, True),
        ('severity="critical"', {"severity": "critical2"}, False),
        ('severity="critical"', {}, False),
        ('severity=""', {}, True),  # missing label == ""
        ('severity!="critical"', {"severity": "warning"}, True),
        ('severity!="critical"', {}, True),
        ('severity!=""', {}, False),
        ('team=~"web"', {"team": "web"}, True),
        ('team=~"web"', {"team": "webby"}, False),  # anchored at the end
        ('team=~"web"', {"team": "my-web"}, False),  # anchored at the start
        ('team=~"web|api"', {"team": "api"}, True),  # alternation is anchored as a whole
        ('team=~"web|api"', {"team": "web-api"}, False),
        ('team=~"web.*"', {"team": "webby"}, True),
        ('team=~".*"', {}, True),
        ('team=~".+"', {}, False),
        ('team!~"web"', {"team": "webby"}, True),
        ('team!~"web"', {"team": "web"}, False),
        ('team!~"web"', {}, True),  # missing label "" does not match "web"
        ('team!~".*"', {}, False),
        ("team=web", {"team": "web"}, True),  # unquoted values, as Alertmanager allows
        ('  team  =~  "w.b"  ', {"team": "wab"}, True),
        ('msg="say \\"hi\\""', {"msg": 'say "hi"'}, True),
        ('msg="a=b, c"', {"msg": "a=b, c"}, True),
    ],
)
def test_matches(text: str, labels: dict, expected: bool) -> None:
    assert matchers.parse(text).matches(labels) is expected


@pytest.mark.parametrize(
    "text",
    ['severity="critical"', 'severity!="critical"', 'team=~"web|api"', 'team!~"web"', 'msg="say \\"hi\\""'],
)
def test_str_round_trips(text: str) -> None:
    m = matchers.parse(text)
    assert str(m) == text
    assert matchers.parse(str(m)) == m


@pytest.mark.parametrize(
    "text, message",
    [
        ("severity", "bad matcher 'severity': expected name=\"value\""),
        ('severity="x" extra', "bad matcher"),
        ('9lives="x"', "bad matcher"),
        ('sev erity="x"', "bad matcher"),
        ('team=~"(web"', "bad regular expression"),
        ('team="unterminated', "bad matcher"),
        ("", "bad matcher"),
    ],
)
def test_bad_matchers(text: str, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        matchers.parse(text)
    assert message in str(caught.value)


def test_matches_all() -> None:
    ms = [matchers.parse('a="1"'), matchers.parse('b=~"x|y"')]
    assert matchers.matches_all(ms, {"a": "1", "b": "y"})
    assert not matchers.matches_all(ms, {"a": "1", "b": "z"})
    assert matchers.matches_all([], {})


@pytest.mark.parametrize(
    "text, labels",
    [
        (r'code=~"5\d\d"', {"code": "503"}),
        (r'instance=~"web\.example\.com"', {"instance": "web.example.com"}),
    ],
)
def test_alertmanager_style_regex_escapes(text: str, labels: dict) -> None:
    assert matchers.parse(text).matches(labels)


@pytest.mark.parametrize(
    "text, value",
    [
        (r'a="say \"hi\""', 'say "hi"'),
        (r'a="back\\slash"', "back\\slash"),
        (r'a="two\nlines"', "two\nlines"),
        (r'a=~"5\d\d"', r"5\d\d"),  # any other escape keeps its backslash
        (r'a=~"web\.example"', r"web\.example"),
        (r'a="\u00e9"', r"\u00e9"),  # not JSON: \u is no escape either
        (r'a=~"\\d"', r"\d"),
        (r"a=5\d", r"5\d"),  # unquoted values are taken as they are
    ],
)
def test_quoted_values_unescape_as_alertmanager_does(text: str, value: str) -> None:
    assert matchers.parse(text).value == value


@pytest.mark.parametrize("value", ["5\\d\\d", 'say "hi"', "a\\", "two\nlines", "\\n", "é ✓"])
def test_str_quotes_any_value_so_it_parses_back(value: str) -> None:
    m = matchers.Matcher("a", "=", value)
    assert matchers.parse(str(m)).value == value


@pytest.mark.parametrize(
    "text",
    ['severity=="critical"', 'severity!=="critical"', 'team=~~"web"', "team==web", 'team=web"', 'team=~w"b"'],
)
def test_unquoted_values_that_look_like_typos_are_rejected(text: str) -> None:
    with pytest.raises(ValueError) as caught:
        matchers.parse(text)
    assert str(caught.value).startswith(f"bad matcher {text!r}: unquoted value ")
