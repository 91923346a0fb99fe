"""The `pager` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys

from pager import config, logs

DEFAULT_CONFIG = os.environ.get("PAGER_CONFIG", "pager.yaml")


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
    from pager.web import app as web_app

    settings = _load(args.config)
    with daemon.database(settings) as url:
        asyncio.run(web_app.wait_for_database(url))
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
    for warning in settings.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{args.file}: OK ({len(settings.config.services)} services, "
          f"{len(settings.config.escalation_policies)} escalation policies, "
          f"{len(settings.config.integrations)} integrations)")
    return 0


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
