"""`pager bench --vs-alertmanager` against Debian's Alertmanager: both measured by one client in one run.

Skipped when no Alertmanager is installed (`.ci/run` installs prometheus-alertmanager). No speed is
asserted: the ratios are the benchmark's to report, not a test's to check.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pager.bench import alertmanager

pytestmark = pytest.mark.skipif(
    alertmanager.find() is None,
    reason="Prometheus Alertmanager is not installed (on Debian/Ubuntu: apt-get install prometheus-alertmanager)",
)


def test_vs_alertmanager_measures_both_with_the_same_loops_and_prints_ratios(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "pager", "bench", "--quick", "--json", "--only", "vs_alertmanager", "--duration", "0.5"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    vs = json.loads(run.stdout)["phases"]["vs_alertmanager"]
    assert vs["status"] == "ok", vs
    assert "alertmanager" in vs["alertmanager"]["version"]
    assert [(r["kind"], r["alerts_per_request"], r["concurrency"]) for r in vs["runs"]] == [
        ("batch", 100, 8),
        ("batch", 100, 64),
        ("single", 1, 8),
        ("single", 1, 64),
    ]
    for r in vs["runs"]:
        for side in ("pager", "alertmanager"):
            assert r[side]["requests"] > 0 and r[side]["errors"] == {}, (side, r)
        assert r["ratio"] == round(r["pager"]["alerts_per_s"] / r["alertmanager"]["alerts_per_s"], 3)
        assert vs[f"{r['kind']}_ratio_{r['concurrency']}"] == r["ratio"]
        assert r["alertmanager"]["cpu"]["alertmanager_pct"] > 0  # Alertmanager's own CPU, apart from pager's
        # the same loop with pager's urgent worker paused: every incident it opened is still paged once continued
        alone = r["ingest_alone"]
        assert alone["requests"] > 0 and alone["errors"] == {}, alone
        assert alone["ratio"] == round(alone["alerts_per_s"] / r["alertmanager"]["alerts_per_s"], 3)
        assert alone["drain_s"] is not None, alone
    checks = {c["figure"]: c for c in json.loads(run.stdout)["checks"] if c["phase"] == "vs_alertmanager"}
    assert set(checks) == {"batch_ratio_8", "batch_ratio_64", "single_ratio_8"}
    assert "side by side with Alertmanager" in run.stderr
    assert "pager ingesting alone (urgent worker paused)" in run.stderr
