"""`pager maintenance start|list|end`: the maintenance API of a running pager, from a shell or a deploy script."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import typing

import aiohttp


def add(sub: typing.Any) -> None:
    m = sub.add_parser(
        "maintenance",
        help="start, list or end maintenance windows of a running pager (its HTTP API)",
        description="Maintenance windows: matching alerts are recorded but page nobody until the window ends.",
    )
    m.add_argument(
        "--url",
        default=os.environ.get("PAGER_URL", "http://127.0.0.1:8080"),
        help="the pager (default: $PAGER_URL or %(default)s)",
    )
    m.add_argument(
        "--token", default=os.environ.get("PAGER_API_TOKEN"), help="an API token (default: $PAGER_API_TOKEN)"
    )
    verbs = m.add_subparsers(dest="verb", required=True)
    start = verbs.add_parser("start", help="start a window now, or schedule one")
    start.add_argument("--service", action="append", default=[], metavar="ID", help="a service it covers (repeatable)")
    start.add_argument(
        "--match",
        action="append",
        default=[],
        metavar="MATCHER",
        help="a label matcher such as 'team=\"web\"' (repeatable; all must match)",
    )
    start.add_argument("--starts-at", metavar="TIME", help="RFC 3339 start (default: now)")
    until = start.add_mutually_exclusive_group(required=True)
    until.add_argument("--ends-at", metavar="TIME", help="RFC 3339 end")
    until.add_argument("--duration", metavar="DURATION", help="how long, such as 30m or 2h")
    start.add_argument("--reason", required=True)
    start.add_argument("--by", required=True, help="who is doing it")
    start.set_defaults(maintenance=cmd_start)
    listing = verbs.add_parser("list", help="active and upcoming windows")
    listing.add_argument("--json", action="store_true", help="print the API's JSON")
    listing.set_defaults(maintenance=cmd_list)
    end = verbs.add_parser("end", help="end a window now")
    end.add_argument("id", type=int)
    end.add_argument("--by", help="who ends it")
    end.set_defaults(maintenance=cmd_end)
    m.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not args.token:
        print("pager maintenance: give --token or set PAGER_API_TOKEN", file=sys.stderr)
        return 2
    return asyncio.run(args.maintenance(args))


async def _call(args: argparse.Namespace, method: str, path: str, body: object = None) -> tuple[int, typing.Any]:
    headers = {"Authorization": f"Bearer {args.token}"}
    try:
        async with aiohttp.ClientSession() as session:
            async with session.request(method, args.url.rstrip("/") + path, json=body, headers=headers) as resp:
                text = await resp.text()
                try:
                    return resp.status, json.loads(text)
                except json.JSONDecodeError:
                    return resp.status, {"error": text.strip()}
    except aiohttp.ClientError as exc:
        return 0, {"error": f"cannot reach {args.url}: {exc}"}


def _failed(status: int, data: typing.Any) -> int:
    print(f"pager maintenance: {status or 'no answer'}: {data.get('error', data)}", file=sys.stderr)
    return 1


def _line(w: dict[str, typing.Any]) -> str:
    scope = ", ".join([*w["services"], *w["matchers"]])
    return f"#{w['id']}  {w['state']:<8}  {w['starts_at']} → {w['ends_at']}  {scope}  ({w['reason']}, by {w['by']})"


async def cmd_start(args: argparse.Namespace) -> int:
    body: dict[str, typing.Any] = {
        "services": args.service,
        "matchers": args.match,
        "reason": args.reason,
        "by": args.by,
    }
    for key, value in (("starts_at", args.starts_at), ("ends_at", args.ends_at), ("duration", args.duration)):
        if value:
            body[key] = value
    status, data = await _call(args, "POST", "/api/v1/maintenance", body)
    if status != 201:
        return _failed(status, data)
    print(_line(data))
    return 0


async def cmd_list(args: argparse.Namespace) -> int:
    status, data = await _call(args, "GET", "/api/v1/maintenance")
    if status != 200:
        return _failed(status, data)
    if args.json:
        print(json.dumps(data, indent=2))
    elif not data["maintenance"]:
        print("no active or upcoming maintenance windows")
    for w in data["maintenance"] if not args.json else ():
        print(_line(w))
    return 0


async def cmd_end(args: argparse.Namespace) -> int:
    status, data = await _call(args, "DELETE", f"/api/v1/maintenance/{args.id}", {"by": args.by} if args.by else None)
    if status != 200:
        return _failed(status, data)
    print(_line(data))
    return 0
