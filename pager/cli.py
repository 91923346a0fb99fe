"""The `pager` command."""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import sys
import typing

from pager import clock, config, logs, maintenance_cli, oncall, values

DEFAULT_CONFIG = os.environ.get("PAGER_CONFIG", "pager.yaml")
GAP_WINDOW = datetime.timedelta(days=28)
"""How far ahead `check-config` looks for stretches with nobody on call."""


def _load(path: str) -> config.Settings:
    try:
        return config.load(path)
    except config.ConfigError as exc:
        print(f"{path}: configuration is not valid:", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(2) from None


def cmd_run(args: argparse.Namespace) -> int:
    from pager import daemon

    daemon.run(_load(args.config))
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    from pager import daemon

    settings = _load(args.config)
    with daemon.database(settings) as url:
        asyncio.run(daemon.wait_for_database(url))
    print("database schema is up to date")
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    try:
        settings = config.load(args.file)
    except config.ConfigError as exc:
        for line in exc.errors:
            print(line, file=sys.stderr)
        print(f"{args.file}: {len(exc.errors)} error(s)", file=sys.stderr)
        return 1
    now = clock.SystemClock().now()
    for warning in [*settings.warnings, *oncall.find_gaps(settings.config, now, now + GAP_WINDOW)]:
        print(f"warning: {warning}", file=sys.stderr)
    print(
        f"{args.file}: OK ({len(settings.config.services)} services, "
        f"{len(settings.config.escalation_policies)} escalation policies, "
        f"{len(settings.config.integrations)} integrations)"
    )
    return 0


def cmd_channels(args: argparse.Namespace) -> int:
    """Each way out, on or off and why, and (from the database) the numbers that replied STOP."""
    from pager.store import db, optouts
    from pager.web import channel_status

    settings = _load(args.config)

    async def opted_out() -> list[optouts.OptOut] | None:
        if not settings.secrets.database_url:
            return None
        with db.translate_errors():
            conn = await db.connect(settings.secrets.database_url)
        try:
            return await optouts.OptOuts(conn).list()  # type: ignore[arg-type] - a connection reads as a pool does
        finally:
            await conn.close()

    try:
        found = asyncio.run(opted_out())
    except (OSError, db.Unavailable) as exc:
        print(f"pager channels: cannot read opt-outs from the database: {exc}", file=sys.stderr)
        found = None
    summary = channel_status.summary(settings, found or [])
    if args.json:
        print(json.dumps({**summary, "sms_opt_outs": summary["sms_opt_outs"] if found is not None else None}))
        return 0
    for line in channel_status.lines(summary):
        print(line)
    if found is None:
        print("sms opt-outs: no database configured here; a running pager shows them at GET /api/v1/channels")
    return 0


def _instant(text: str) -> datetime.datetime:
    """`--at`: RFC 3339 or ISO 8601; without an offset the time is UTC, never the host's zone."""
    raw = text.strip()
    if raw.endswith(("z", "Z")):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.datetime.fromisoformat(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a time such as 2026-11-23T09:00:00Z or 2026-11-23T10:00+01:00, got {text!r}"
        ) from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value.astimezone(datetime.UTC)


def _when(t: datetime.datetime) -> str:
    return t.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC" if t.second else "%Y-%m-%d %H:%M UTC")


def _person(cfg: config.Config, user_id: str) -> str:
    user = cfg.user(user_id)
    name = user.display_name if user else user_id
    return user_id if name == user_id else f"{name} ({user_id})"


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)] if rows else []
    return ["   ".join([*(cell.ljust(w) for cell, w in zip(row, widths)), row[-1]]) for row in rows]


def _oncall_json(cfg: config.Config, at: datetime.datetime, now: list[oncall.OnCall]) -> dict[str, typing.Any]:
    """The shape of GET /api/v1/oncall, so scripts can read either."""
    from pager.web import jsonout

    def user(user_id: str) -> dict[str, str]:
        found = cfg.user(user_id)
        return {"id": user_id, "name": found.display_name if found else user_id}

    return {
        "at": jsonout.timestamp(at),
        "oncall": [
            {
                "target": o.target,
                "users": [user(u) for u in o.users],
                "since": jsonout.timestamp(o.since),
                "until": jsonout.timestamp(o.until),
            }
            for o in now
        ],
    }


def cmd_oncall(args: argparse.Namespace) -> int:
    cfg = _load(args.config).config
    at = args.at or clock.SystemClock().now()
    targets = [f"rotation:{r.id}" for r in cfg.rotations] + [f"schedule:{s.id}" for s in cfg.schedules]
    if args.rotation is not None:
        wanted = [t for t in targets if args.rotation in (t, t.partition(":")[2])]
        if not wanted:
            known = ", ".join(t.partition(":")[2] for t in targets) or "none"
            print(
                f"pager oncall: {args.config} has no rotation or schedule {args.rotation!r} (it has: {known})",
                file=sys.stderr,
            )
            return 2
        targets = wanted
    try:
        resolver = oncall.Resolver(cfg)
        now = [resolver.current(target, at) for target in targets]
    except OverflowError:
        print(f"pager oncall: {at.isoformat()} is too far from today to work out", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(_oncall_json(cfg, at, now), indent=2))
        return 0
    print(f"on call at {_when(at)}")
    if not now:
        print(f"  {args.config} has no rotations or schedules")
    rows = [
        [
            o.target,
            ", ".join(_person(cfg, u) for u in o.users) or "(nobody on call)",
            f"since {_when(o.since)}" if o.since else "since over a year ago",
            f"until {_when(o.until)}" if o.until else "until over a year from now",
        ]
        for o in now
    ]
    for line in _table(rows):
        print(f"  {line}")
    return 0


def _phases(text: str) -> tuple[str, ...]:
    from pager import bench

    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in bench.ALL_PHASES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of {', '.join(bench.ALL_PHASES)}, got {text!r}"
        )
    return names


def _duration(text: str) -> datetime.timedelta:
    try:
        return values.parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def cmd_bench(args: argparse.Namespace) -> int:
    from pager import bench
    from pager.bench import setup

    if args.print_config:
        import pathlib

        import yaml

        host, _, port = (args.smtp_listen or "127.0.0.1:18026").rpartition(":")
        cfg = setup.config(
            listen="127.0.0.1:8080",
            sink_url=f"http://{args.sink_listen or '127.0.0.1:18025'}",
            data_dir=pathlib.Path("./pager-bench-data"),
            late_ack_timeout=datetime.timedelta(seconds=args.late_ack_timeout or 30),
            smtp=(host or "127.0.0.1", int(port)),
        )
        print("# pager bench: the configuration it runs; secrets come from these variables:")
        for name, value in setup.environment().items():
            print(f"#   {name}={value}")
        print(yaml.safe_dump(cfg, sort_keys=False), end="")
        return 0
    if args.url is None and (args.pid or args.database_url):
        print("pager bench: --pid and --database-url describe a daemon given by --url", file=sys.stderr)
        return 2
    values: dict[str, typing.Any] = bench.Options.quick_defaults() if args.quick else {}
    given = {
        "url": args.url,
        "am_token": args.am_token,
        "events_key": args.events_key,
        "database_url": args.database_url,
        "pid": args.pid,
        "sink_listen": args.sink_listen,
        "concurrency": args.concurrency,
        "events_concurrency": args.events_concurrency or args.concurrency,
        "duration": args.duration,
        "page_rate": args.rate,
        "timers": args.timers,
        "incidents": args.incidents,
        "late_ack_timeout": args.late_ack_timeout,
        "storm_share": args.storm_share,
        "probe_rate": args.probe_rate,
        "smtp_listen": args.smtp_listen,
        "alertmanager": args.alertmanager,
        "only": args.only,
        "soak": args.soak.total_seconds() if args.soak else None,
        "soak_rate": args.soak_rate,
        "soak_interval": args.soak_interval,
    }
    if args.soak and args.only is None:
        given["only"] = ("soak",)  # the soak is a measurement of its own
    elif args.soak and "soak" not in args.only:
        given["only"] = (*args.only, "soak")
    if args.vs_alertmanager and "vs_alertmanager" not in (given["only"] or ()):
        given["only"] = (*(given["only"] or bench.PHASES), "vs_alertmanager")
    values.update({k: v for k, v in given.items() if v is not None})
    return bench.main(
        bench.Options(
            json=args.json,
            quick=args.quick,
            keep=args.keep,
            vacuum=not args.no_vacuum,
            storm_email_fails=args.storm_email_fails,
            **values,
        )
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="pager", description="Self-hosted on-call paging daemon.")
    p.add_argument("--log-json", action="store_true", default=None, help="log JSON lines (default when not a terminal)")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", "-c", default=DEFAULT_CONFIG, help="configuration file (default: %(default)s)")
    run.set_defaults(func=cmd_run)

    mig = sub.add_parser("migrate", help="apply database migrations and exit")
    mig.add_argument("--config", "-c", default=DEFAULT_CONFIG)
    mig.set_defaults(func=cmd_migrate)

    check = sub.add_parser("check-config", help="validate a configuration file; exit 1 listing every error")
    check.add_argument("file")
    check.set_defaults(func=cmd_check_config)

    chan = sub.add_parser("channels", help="show each channel and webhook, on or off and why, and SMS opt-outs")
    chan.add_argument("--config", "-c", default=DEFAULT_CONFIG, help="configuration file (default: %(default)s)")
    chan.add_argument("--json", action="store_true", help="print JSON shaped like GET /api/v1/channels")
    chan.set_defaults(func=cmd_channels)

    who = sub.add_parser("oncall", help="show who is on call, and until when; needs no database")
    who.add_argument("--config", "-c", default=DEFAULT_CONFIG, help="configuration file (default: %(default)s)")
    who.add_argument(
        "--at",
        type=_instant,
        metavar="TIME",
        help="the instant to ask about, RFC 3339 such as 2026-11-23T09:00:00Z or 2026-11-23T10:00+01:00; "
        "a time without an offset is read as UTC (default: now)",
    )
    who.add_argument("--rotation", metavar="ID", help="only this rotation or schedule")
    who.add_argument("--json", action="store_true", help="print JSON shaped like GET /api/v1/oncall")
    who.set_defaults(func=cmd_oncall)

    maintenance_cli.add(sub)

    ben = sub.add_parser(
        "bench",
        help="measure ingest rate, alert-to-page latency, escalation lateness and memory",
        description="Load-test a pager: one it starts itself (embedded PostgreSQL, a Twilio sink, "
        "`pager run` as a subprocess) or a running one given by --url. Prints each figure "
        "beside its target; --json prints the same as JSON.",
    )
    ben.add_argument(
        "--url",
        help="a running pager to measure, e.g. http://127.0.0.1:8080 (default: start one with an embedded database)",
    )
    ben.add_argument(
        "--am-token",
        default=os.environ.get("PAGER_AM_TOKEN"),
        help="bearer token of its alertmanager integration (default: $PAGER_AM_TOKEN)",
    )
    ben.add_argument(
        "--events-key",
        default=os.environ.get("PAGER_EVENTS_KEY"),
        help="routing key of its events_v2 integration (default: $PAGER_EVENTS_KEY)",
    )
    ben.add_argument("--database-url", help="with --url: its database, for exact lateness and backlog figures")
    ben.add_argument("--pid", type=int, help="with --url: the daemon's process id, for its RSS")
    ben.add_argument(
        "--sink-listen",
        metavar="HOST:PORT",
        help="where the bench's Twilio sink listens; with --url, point the daemon's "
        "notifiers.sms.api_base there to measure alert-to-page latency",
    )
    ben.add_argument(
        "--json", action="store_true", help="print a JSON summary on stdout (the table then goes to stderr)"
    )
    ben.add_argument(
        "--concurrency",
        type=int,
        metavar="N",
        help="requests in flight: batched webhooks (default: 16), and single events unless "
        "--events-concurrency is given",
    )
    ben.add_argument(
        "--events-concurrency", type=int, metavar="N", help="single Events v2 requests in flight (default: 64)"
    )
    ben.add_argument("--duration", type=float, metavar="S", help="seconds each ingest phase measures (default: 10)")
    ben.add_argument(
        "--rate", type=float, metavar="N", help="incidents per second for alert-to-page latency (default: 100)"
    )
    ben.add_argument("--timers", type=int, metavar="N", help="escalation timers to arm (default: 10000)")
    ben.add_argument("--incidents", type=int, metavar="N", help="open incidents at which RSS is read (default: 100000)")
    ben.add_argument(
        "--late-ack-timeout",
        type=float,
        metavar="S",
        help="seconds from step 1 to step 2 of the lateness policy (default: 30)",
    )
    ben.add_argument(
        "--storm-share",
        type=float,
        metavar="F",
        help="the storm phase's rate of new P3 incidents as a share of the ingest capacity measured in the run "
        "(default: 0.5)",
    )
    ben.add_argument(
        "--probe-rate", type=float, metavar="N", help="P0 probes per second during the storm (default: 50)"
    )
    ben.add_argument(
        "--storm-email-fails",
        action="store_true",
        help="the bench's SMTP sink refuses the storm's email, so its pages fall back to SMS beside the P0 probes",
    )
    ben.add_argument(
        "--smtp-listen",
        metavar="HOST:PORT",
        help="where the bench's SMTP sink listens; with --url, point the daemon's notifiers.email there",
    )
    ben.add_argument(
        "--vs-alertmanager",
        action="store_true",
        help="also run Prometheus Alertmanager (in memory, null receiver) and measure it with the same client "
        "in the same run: pager/Alertmanager ratios for 100-alert batches and single alerts at 8 and 64 in flight",
    )
    ben.add_argument(
        "--alertmanager",
        metavar="PATH",
        help="the Alertmanager binary for --vs-alertmanager (default: /usr/bin/prometheus-alertmanager)",
    )
    ben.add_argument(
        "--only",
        type=_phases,
        metavar="LIST",
        help="comma-separated phases to run: ingest,events,page,storm,lateness,rss,voice (default: all of these), "
        "and takeover (kill -9 of one of three replicas mid-escalation) and vs_alertmanager, run only when named",
    )
    ben.add_argument(
        "--soak",
        type=_duration,
        metavar="DURATION",
        help="soak for DURATION (30m, 2h) at half the measured single-event capacity, printing RSS and p99 "
        "each interval; runs alone unless --only names other phases",
    )
    ben.add_argument("--soak-rate", type=float, metavar="N", help="events/s for --soak instead of half capacity")
    ben.add_argument(
        "--soak-interval", type=float, metavar="S", help="seconds between the soak's reports (default: 60)"
    )
    ben.add_argument("--quick", action="store_true", help="a smoke run: everything shrunk to finish in seconds")
    ben.add_argument(
        "--no-vacuum",
        action="store_true",
        help="do not VACUUM (ANALYZE) the database before each phase, as pgbench -n does not",
    )
    ben.add_argument("--keep", action="store_true", help="keep the temporary directory (config, daemon log)")
    ben.add_argument(
        "--print-config",
        action="store_true",
        help="print the configuration the bench runs pager with, for a daemon to measure with --url",
    )
    ben.set_defaults(func=cmd_bench)

    from pager import cli_learning

    cli_learning.register(sub, DEFAULT_CONFIG)  # postmortem, drill, report
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logs.configure(json=args.log_json)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
