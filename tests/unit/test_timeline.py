"""The timeline kinds are one list, documented: the README's table names each of them once."""

from __future__ import annotations

import pathlib
import re

from pager import timeline

README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_lists_every_kind_with_what_it_means():
    section = README.read_text().split("| kind | means |", 1)[1].split("\n\n", 1)[0]
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| (.+?) \|$", section, re.M))
    assert list(rows) == [k.value for k in timeline.Kind]
    assert all(rows[k.value] == k.doc for k in timeline.Kind)
