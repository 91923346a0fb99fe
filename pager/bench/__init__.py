"""`pager bench`: a load generator that ships with pager, as pgbench ships with PostgreSQL.

Against a running pager (`--url`), or one it starts itself (an embedded
PostgreSQL under a temporary directory, `python -m pager run` as a subprocess,
and a Twilio-compatible sink of its own), it measures:

1. ingest: alerts/s and response-time percentiles for Alertmanager webhooks of
   100 alerts, and for single Events v2 requests, at `--concurrency`;
2. alert → Twilio request latency at a steady rate of incidents;
3. escalation lateness, fired − due, per timer, with many timers armed;
4. the daemon's RSS with 100,000 open incidents.

Each figure is printed next to its target with PASS/MISS; `--json` prints the
same as one JSON object (`schema` 1):

    {"bench": "pager", "schema": 1, "pager_version", "started_at", "elapsed_s", "quick",
     "target": {"mode": "embedded"|"url", "url", "database"},
     "machine": {"cpus", "python", "platform"}, "options": {...},
     "phases": {"<phase>": {"status": "ok"|"skipped"|"error", "elapsed_s", ...figures}},
     "checks": [{"phase", "figure", "name", "value", "op", "target", "unit", "passed"}],
     "passed": bool}

with phases `ingest` (alerts_per_s, requests_per_s, p50_ms, p90_ms, p99_ms,
max_ms, …), `events` (events_per_s, p50_ms, …), `page` (p50_ms, p99_ms,
incidents, paged, …), `lateness` (p50_ms, p99_ms, fired, armed_max, …) and
`rss` (rss_mb, peak_rss_mb, open_incidents, …). Run only when asked: `takeover` (`--only takeover`:
kill -9 of one of three replicas mid-escalation; takeover_ms, after_kill_sent, …, pager/bench/takeover.py)
and `soak` (`--soak 30m`: half capacity for that long; intervals of rss_mb and p99_ms, start, end,
pager/bench/soak.py).
"""

from pager.bench.runner import ALL_PHASES, PHASES, TARGETS, Options, main, run

__all__ = ["ALL_PHASES", "PHASES", "TARGETS", "Options", "main", "run"]
