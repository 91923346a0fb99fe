"""`pager bench`: a load generator that ships with pager, as pgbench ships with PostgreSQL.

Against a running pager (`--url`), or one it starts itself (an embedded
PostgreSQL under a temporary directory, `python -m pager run` as a subprocess,
and a Twilio-compatible sink of its own), it measures:

1. ingest: alerts/s and response-time percentiles for Alertmanager webhooks of
   100 alerts, and for single Events v2 requests, at `--concurrency`;
2. alert → Twilio request latency at a steady rate of incidents;
3. the same for P0 probes during a storm of new P3 incidents (100-alert
   webhooks at `--storm-share` of the ingest capacity measured in the run,
   paged by email through the bench's SMTP sink, or with `--storm-email-fails`
   refused there so they fall back to SMS);
4. escalation lateness, fired − due, per timer, with many timers armed;
5. the daemon's RSS with 100,000 open incidents;
6. with `--vs-alertmanager`: Debian's Prometheus Alertmanager (in memory, null
   receiver) driven by the same client loops in the same run, and the ratios
   pager/Alertmanager for 100-alert batches and single alerts at 8 and 64 in flight.

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
incidents, paged, …), `storm` (the probes' p50_ms, p99_ms, max_ms, probes,
paged; `quiet` {p50_ms, p99_ms, max_ms} from `page`; capacity_alerts_per_s,
storm_alerts_per_s, storm_incidents, storm_paged_by_email, storm_paged_by_sms,
storm_page {p50_ms, …}, …), `lateness` (p50_ms, p99_ms, fired, armed_max, …),
`rss` (rss_mb, peak_rss_mb, open_incidents, …) and `voice` (alert → Twilio call
request, p50_ms, p99_ms, …). Run only when asked: `vs_alertmanager`
(`--vs-alertmanager`: batch_ratio_8, batch_ratio_64, single_ratio_8,
single_ratio_64, and `runs`: [{kind, alerts_per_request, concurrency, ratio,
pager: {alerts_per_s, p50_ms, …, cpu}, alertmanager: {…}}]), `takeover`
(`--only takeover`: kill -9 of one of three replicas mid-escalation; takeover_ms,
after_kill_sent, …, pager/bench/takeover.py) and `soak` (`--soak 30m`: half
capacity for that long; intervals of rss_mb and p99_ms, start, end,
pager/bench/soak.py). Fields are only ever added to this shape, so a reader of
an older summary keeps working.
"""

from pager.bench.runner import ALL_PHASES, PHASES, TARGETS, Options, main, run

__all__ = ["ALL_PHASES", "PHASES", "TARGETS", "Options", "main", "run"]
