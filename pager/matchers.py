"""Label matchers in Alertmanager's syntax: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`.

Regular expressions are anchored at both ends, as Alertmanager anchors them,
and a missing label matches as the empty string.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing

_MATCHER = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^"\s][^\s]*)\s*$"""
)


@dataclasses.dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = dataclasses.field(default=None, compare=False, repr=False)

    def matches(self, labels: typing.Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        assert self._regex is not None
        found = self._regex.fullmatch(actual) is not None
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.op}{json.dumps(self.value)}"


def parse(text: str) -> Matcher:
    """Parse one matcher; ValueError says what is wrong with it."""
    m = _MATCHER.match(text)
    if m is None:
        raise ValueError(f"bad matcher {text!r}: expected name=\"value\", name!=\"value\", name=~\"regex\" or name!~\"regex\"")
    name, op, raw = m["name"], m["op"], m["value"]
    if raw.startswith('"'):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"bad matcher {text!r}: bad quoted value ({exc.msg})") from None
    else:
        value = raw
    regex = None
    if op in ("=~", "!~"):
        try:
            regex = re.compile(value)
        except re.error as exc:
            raise ValueError(f"bad matcher {text!r}: bad regular expression ({exc})") from None
    return Matcher(name, op, value, regex)


def matches_all(matchers: typing.Iterable[Matcher], labels: typing.Mapping[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)
