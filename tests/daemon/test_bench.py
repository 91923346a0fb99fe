"""`pager bench --quick`: the benchmark runs end to end and its JSON summary keeps its shape.

No speed is asserted here: figures are reported by the benchmark, never checked by a test.
"""

from __future__ import annotations

import json
import subprocess
import sys

PHASES = {"ingest", "events", "page", "storm", "lateness", "rss", "voice"}
TARGETED = PHASES - {"voice"}  # voice reports its figures without a target


def bench(tmp_path, *args: str) -> tuple[dict, str]:
    run = subprocess.run(
        [sys.executable, "-m", "pager", "bench", "--quick", "--json", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout), run.stderr


def test_quick_bench_produces_every_figure_as_json(tmp_path):
    summary, stderr = bench(tmp_path)
    assert summary["bench"] == "pager"
    assert summary["schema"] == 1
    assert PHASES == set(summary["phases"])  # the comparison with Alertmanager runs only when asked for
    for name in PHASES:
        assert summary["phases"][name]["status"] == "ok", (name, summary["phases"][name])
    figures = {(c["phase"], c["figure"]) for c in summary["checks"]}
    assert {phase for phase, _ in figures} == TARGETED
    for check in summary["checks"]:
        assert isinstance(check["value"], (int, float)) and check["value"] >= 0, check
        assert isinstance(check["passed"], bool)
    page = summary["phases"]["page"]
    assert page["paged"] == page["incidents"] > 0  # every measured incident reached the Twilio sink
    assert page["first_page_ms"] > 0  # the warm-up's first page, reported apart from the steady figures
    assert "warm-up" in stderr  # the table goes to stderr with --json

    storm, ingest = summary["phases"]["storm"], summary["phases"]["ingest"]
    assert storm["paged"] == storm["probes"] > 0  # every P0 probe reached the Twilio sink
    for stage in ("probe_response", "probe_queued", "probe_sent"):  # where the probes' time went
        assert 0 <= storm[stage]["p50_ms"] <= storm[stage]["max_ms"], (stage, storm[stage])
    assert storm["quiet"] == {k: page[k] for k in ("p50_ms", "p99_ms", "max_ms")}
    assert storm["capacity_source"] == "ingest phase"
    assert storm["capacity_alerts_per_s"] == ingest["alerts_per_s"]
    assert storm["storm_target_alerts_per_s"] == round(storm["storm_share"] * ingest["alerts_per_s"], 1)
    assert storm["storm_incidents"] > 0
    assert storm["storm_paged_by_email"] == storm["storm_incidents"]  # lower priorities are paged too
    assert storm["storm_paged_by_sms"] == 0 and storm["storm_emails_refused"] == 0
    assert "in a storm" in stderr and "quiet (page phase)" in stderr


def test_storm_whose_email_fails_falls_back_to_sms_and_a_missing_alertmanager_is_skipped(tmp_path):
    summary, stderr = bench(
        tmp_path,
        *("--only", "storm", "--storm-email-fails", "--duration", "1"),
        *("--vs-alertmanager", "--alertmanager", "/nonexistent/am"),
    )
    storm = summary["phases"]["storm"]
    assert storm["status"] == "ok", storm
    assert summary["options"]["storm_email_fails"] is True
    assert storm["capacity_source"].startswith("measured") and storm["capacity_alerts_per_s"] > 0
    assert storm["paged"] == storm["probes"] > 0
    assert storm["storm_emails_refused"] > 0
    assert storm["storm_paged_by_email"] == 0 and storm["storm_paged_by_sms"] > 0

    vs = summary["phases"]["vs_alertmanager"]
    assert vs["status"] == "skipped"
    assert "/nonexistent/am" in vs["reason"]
    assert not [c for c in summary["checks"] if c["phase"] == "vs_alertmanager"]
    assert "skipped: no Alertmanager to run at /nonexistent/am" in stderr
