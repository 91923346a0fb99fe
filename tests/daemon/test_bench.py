"""`pager bench --quick`: the benchmark runs end to end and its JSON summary keeps its shape.

No speed is asserted here: figures are reported by the benchmark, never checked by a test.
"""

from __future__ import annotations

import json
import subprocess
import sys

PHASES = {"ingest", "events", "page", "lateness", "rss"}


def test_quick_bench_produces_every_figure_as_json(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "pager", "bench", "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert summary["bench"] == "pager"
    assert PHASES <= set(summary["phases"])
    for name in PHASES:
        assert summary["phases"][name]["status"] == "ok", (name, summary["phases"][name])
    figures = {(c["phase"], c["figure"]) for c in summary["checks"]}
    assert {phase for phase, _ in figures} == PHASES
    for check in summary["checks"]:
        assert isinstance(check["value"], (int, float)) and check["value"] >= 0, check
        assert isinstance(check["passed"], bool)
    page = summary["phases"]["page"]
    assert page["paged"] == page["incidents"] > 0  # every measured incident reached the Twilio sink
    assert page["first_page_ms"] > 0  # the warm-up's first page, reported apart from the steady figures
    assert "warm-up" in run.stderr  # the table goes to stderr with --json
