"""`pager postmortem`, `pager drill` and `pager report`: learning from incidents, from a terminal.

They speak to a running pager over its API (as any script would), so they work
against any replica and with the embedded database a daemon keeps to itself:
`--url` (default: the config's server.listen) and `--token` (default: the first
of the config's `api_tokens_env` variables, else $PAGER_API_TOKEN).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pathlib
import sys
import time
import typing

import aiohttp

from pager import config, drills, reports


class ApiError(Exception):
    pass


def _target(args: argparse.Namespace) -> tuple[str, str]:
    url, token = args.url, args.token
    if url is None or token is None:
        try:
            cfg = config.read(args.config)
        except config.ConfigError:
            cfg = config.Config()
        if url is None:
            host = cfg.server.host
            url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::', '') else host}:{cfg.server.port}"
        if token is None:
            names = [*cfg.api_tokens_env, "PAGER_API_TOKEN"]
            token = next((os.environ[n] for n in names if os.environ.get(n)), "")
    return url.rstrip("/"), token


async def _call(
    args: argparse.Namespace, method: str, path: str, *, body: typing.Any = None, text: str | None = None
) -> tuple[int, bytes, str]:
    url, token = _target(args)
    headers = {"Authorization": f"Bearer {token}"}
    kwargs: dict[str, typing.Any] = {"headers": headers}
    if text is not None:
        kwargs["data"] = text.encode()
        headers["Content-Type"] = "text/markdown; charset=utf-8"
    elif body is not None:
        kwargs["json"] = body
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
            async with session.request(method, url + path, **kwargs) as resp:
                return resp.status, await resp.read(), resp.content_type
    except aiohttp.ClientError as exc:
        raise ApiError(f"cannot reach pager at {url}: {exc}") from None


def _api(args: argparse.Namespace, method: str, path: str, **kwargs: typing.Any) -> typing.Any:
    """JSON from the API, or ApiError with what it said."""
    status, raw, content_type = asyncio.run(_call(args, method, path, **kwargs))
    if status >= 400:
        try:
            said = json.loads(raw).get("error", raw.decode(errors="replace"))
        except ValueError:
            said = raw.decode(errors="replace")
        raise ApiError(f"{method} {path}: {status}: {said}")
    return json.loads(raw) if content_type == "application/json" else raw.decode()


def _fail(exc: Exception) -> int:
    print(f"pager: {exc}", file=sys.stderr)
    return 1


def cmd_postmortem(args: argparse.Namespace) -> int:
    try:
        if args.put:
            text = pathlib.Path(args.put).read_text(encoding="utf-8") if args.put != "-" else sys.stdin.read()
            by = f"?by={args.by}" if args.by else ""
            saved = _api(args, "PUT", f"/api/v1/incidents/{args.id}/postmortem{by}", text=text)
            print(f"post-mortem of #{args.id} saved ({saved['bytes']} bytes)")
            return 0
        draft = "?draft=1" if args.draft else ""
        sys.stdout.write(_api(args, "GET", f"/api/v1/incidents/{args.id}/postmortem{draft}"))
    except (ApiError, OSError) as exc:
        return _fail(exc)
    return 0


def cmd_drill(args: argparse.Namespace) -> int:
    try:
        if args.report is not None:
            data = _api(args, "GET", f"/api/v1/drills/{args.report}")
            print(json.dumps(data, indent=2) if args.json else drills.render(data), end="" if not args.json else "\n")
            return 0
        if not args.service:
            return _fail(ApiError("drill: give --service (and --priority) to start one, or --report ID"))
        body = {"service": args.service, "priority": args.priority}
        if args.summary:
            body["summary"] = args.summary
        if args.by:
            body["by"] = args.by
        inc = _api(args, "POST", "/api/v1/drills", body=body)
        print(f"drill #{inc['number']} started on {inc['service']} ({inc['priority']}): {inc['summary']}")
        if not args.wait:
            print(f"follow it: pager drill --report {inc['number']}")
            return 0
        while True:
            data = _api(args, "GET", f"/api/v1/drills/{inc['id']}")
            if data["ended_at"]:
                print(drills.render(data), end="")
                return 0
            time.sleep(args.poll)
    except ApiError as exc:
        return _fail(exc)


def cmd_report(args: argparse.Namespace) -> int:
    query = f"?since={args.since}" + (f"&service={args.service}" if args.service else "")
    try:
        data = _api(args, "GET", f"/api/v1/reports/incidents{query}")
    except ApiError as exc:
        return _fail(exc)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        print(reports.render(data, load_only=args.load), end="")
    return 0


def cmd_bench_reports(args: argparse.Namespace) -> int:
    from pager.bench import reports as bench_reports

    return bench_reports.main(args.incidents, args.span_days, args.runs, args.database_url, sys.stdout, args.keep)


def _common(p: argparse.ArgumentParser, default_config: str) -> None:
    p.add_argument("--config", "-c", default=default_config, help="configuration file, for the URL and token")
    p.add_argument("--url", help="the pager to ask, e.g. http://127.0.0.1:8080 (default: the config's server.listen)")
    p.add_argument("--token", help="API token (default: the config's first api_tokens_env variable)")


def register(sub: typing.Any, default_config: str) -> None:
    pm = sub.add_parser(
        "postmortem", help="print an incident's post-mortem (the draft until one is saved), or save one"
    )
    pm.add_argument("id", help="incident number")
    pm.add_argument("--put", metavar="FILE", help="save FILE (Markdown; - for stdin) as the post-mortem")
    pm.add_argument("--draft", action="store_true", help="print pager's fresh draft even if one was saved")
    pm.add_argument("--by", metavar="USER", help="who saves it")
    _common(pm, default_config)
    pm.set_defaults(func=cmd_postmortem)

    dr = sub.add_parser("drill", help="start a drill through the real chain, or show a drill's report")
    dr.add_argument("--service", help="the service whose chain the drill walks")
    dr.add_argument("--priority", default="P1", help="the drill's priority (default: %(default)s)")
    dr.add_argument("--summary", help="what the pages say after [DRILL]")
    dr.add_argument("--by", metavar="USER", help="who starts it")
    dr.add_argument("--wait", action="store_true", help="follow the drill to its end, then print its report")
    dr.add_argument("--poll", type=float, default=5.0, help=argparse.SUPPRESS)
    dr.add_argument("--report", metavar="ID", help="print the report of drill ID")
    dr.add_argument("--json", action="store_true", help="with --report: the JSON of GET /api/v1/drills/{id}")
    _common(dr, default_config)
    dr.set_defaults(func=cmd_drill)

    rp = sub.add_parser(
        "report", help="patterns across incidents: counts, MTTA/MTTR, when, noise, who carried the load"
    )
    rp.add_argument("--since", default="30d", help="the period, ending now (default: %(default)s)")
    rp.add_argument("--service", help="one service only")
    rp.add_argument("--load", action="store_true", help="each person's load per week, naming the outliers")
    rp.add_argument("--json", action="store_true", help="the JSON of GET /api/v1/reports/incidents")
    _common(rp, default_config)
    rp.set_defaults(func=cmd_report)

    br = sub.add_parser("bench-reports", help="time the incident report's queries over a big synthetic history")
    br.add_argument("--incidents", type=int, default=100_000, help="incidents to create (default: %(default)s)")
    br.add_argument(
        "--span-days",
        type=int,
        default=30,
        help="days they are spread over before the report's end (default: %(default)s: all in its window)",
    )
    br.add_argument("--runs", type=int, default=5, help="times each query runs (default: %(default)s)")
    br.add_argument(
        "--database-url", help="a database to fill (its incidents are TRUNCATEd!); default: a throwaway embedded one"
    )
    br.add_argument("--keep", metavar="DIR", help="write the report's text and picture to DIR")
    br.set_defaults(func=cmd_bench_reports)
