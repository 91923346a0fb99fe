"""`pager bench --only takeover` and `--soak`: both run end to end and report their figures.

No speed is asserted: the figures are the benchmark's to report, never a test's to check.
"""

from __future__ import annotations

import json
import subprocess
import sys


def test_takeover_and_a_short_soak_report_their_figures(tmp_path):
    run = subprocess.run(
        [
            *(sys.executable, "-m", "pager", "bench", "--quick", "--json"),
            *("--only", "takeover", "--soak", "3s", "--soak-interval", "1"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    summary = json.loads(run.stdout)
    assert set(summary["phases"]) == {"takeover", "soak"}

    takeover = summary["phases"]["takeover"]
    assert takeover["status"] == "ok", takeover
    assert takeover["replicas"] == 3 and takeover["survivors_alive"]
    assert takeover["due_after_kill"] > 0 and takeover["unfired"] == 0  # every step still fired
    assert takeover["due_before_kill"] + takeover["due_after_kill"] == takeover["armed"] == takeover["timers"]
    [check] = [c for c in summary["checks"] if c["phase"] == "takeover"]
    assert check["figure"] == "takeover_ms" and check["value"] == takeover["takeover_ms"] >= 0

    soak = summary["phases"]["soak"]
    assert soak["status"] == "ok", soak
    assert abs(soak["rate_per_s"] - soak["capacity_events_per_s"] / 2) <= 0.1  # half the measured capacity
    assert len(soak["intervals"]) >= 3
    for row in soak["intervals"]:
        assert row["rss_mb"] > 0 and row["errors"] == {}
        # an interval in which nothing completed (the daemon stalled on a machine busy with other work)
        # has no percentile, and says so rather than inventing one
        assert (row["p99_ms"] is None) == (row["events_per_s"] == 0), row
    assert any(row["p99_ms"] for row in soak["intervals"])
    assert soak["start"]["at_s"] < soak["end"]["at_s"]
    assert "soak" in run.stderr and "RSS" in run.stderr  # each interval is printed as it ends
