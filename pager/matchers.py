r"""Label matchers in Alertmanager's syntax: `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"`.

Regular expressions are anchored at both ends, as Alertmanager anchors them,
and a missing label matches as the empty string. Inside quotes only `\"`, `\\`
and `\n` are escapes; any other backslash stays, so a regex copied from an
Alertmanager config (`code=~"5\d\d"`) means here what it meant there.
"""

from __future__ import annotations

import dataclasses
import re
import typing

_MATCHER = re.compile(
    r"""^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*(?P<op>=~|!~|!=|=)\s*(?P<value>"(?:[^"\\]|\\.)*"|[^"\s][^\s]*)\s*$"""
)
_ESCAPE = re.compile(r"\\.", re.DOTALL)
_UNESCAPE = {'\\"': '"', "\\\\": "\\", "\\n": "\n"}


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


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
        return f'{self.name}{self.op}"{_escape(self.value)}"'


def parse(text: str) -> Matcher:
    """Parse one matcher; ValueError says what is wrong with it."""
    m = _MATCHER.match(text)
    if m is None:
        raise ValueError(f'bad matcher {text!r}: expected name="value", name!="value", name=~"regex" or name!~"regex"')
    name, op, raw = m["name"], m["op"], m["value"]
    if raw.startswith('"'):
        value = _ESCAPE.sub(lambda e: _UNESCAPE.get(e[0], e[0]), raw[1:-1])
    elif raw[0] in "=~" or '"' in raw:
        raise ValueError(
            f"bad matcher {text!r}: unquoted value {raw!r} looks like a typo; "
            'write name="value" or name=~"regex", and quote a value that contains " or starts with = or ~'
        )
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
