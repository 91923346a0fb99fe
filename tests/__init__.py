"""pager's tests, in tiers (as procrastinate's are):

- `unit/`: pure logic (ingest, routing, classify, oncall, escalation, config, CLI without a database); no I/O.
- `adapters/`: each channel against a double speaking its provider's protocol (Twilio, a real SMTP server).
- `db/`: store, engine and sender against a real PostgreSQL (the shared fixture), driven by a fake clock.
- `daemon/`: the real app over HTTP (and `pager bench` as a process).
- `peers/`: outside programs (Alertmanager, promtool, validators); each skips with its reason when absent.
- `browser/`: the web UI in Debian's Chromium driven by Playwright, with axe-core; screenshots land in
  build/screenshots/ and are listed at the end of the run. Skips when Chromium is absent.
- `chaos/`: faults on purpose (a PostgreSQL switchover and restart, kill -9 of a replica, misbehaving
  providers), each bounded in time and on the loopback only.

Shared helpers live in `support/`, never in another test file.
"""
