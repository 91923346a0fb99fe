"""The incident report: patterns across incidents, for the people who run the retrospective.

Pure: the store aggregates in PostgreSQL (`store/reports.sql`); this module
decides the period, assembles the figures into the JSON of
`GET /api/v1/reports/incidents` (counts; MTTA and MTTR by service and priority
with the trend against the previous period; the hour-of-week matrix in each
service's zone; weekday against weekend; incidents after a change; the noisiest
alert names; each person's load per week), works out on-call hours from the
config's rotations, names the outliers, and renders the JSON as text for
`pager report`. Drills are left out of every figure but their own count.
"""

from __future__ import annotations

import dataclasses
import datetime
import statistics
import typing

from pager import config, models, oncall, values

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NIGHT = (22, 7)  # night pages: from 22:00 to 07:00 in the person's own zone
WEEK = datetime.timedelta(weeks=1)
AFTER_CHANGE = models.CHANGE_WINDOW  # an incident opened this soon after a change of its service followed it
# An outlier carries more than OUTLIER_FACTOR times the team's median load, and at least the floor.
OUTLIER_FACTOR = 2.0
OUTLIER_FLOOR = {"pages": 5, "night_pages": 3, "holding_hours": 8.0}
LOAD_METRICS = ("pages", "night_pages", "holding_hours", "oncall_hours")


@dataclasses.dataclass(frozen=True, slots=True)
class Period:
    since: datetime.timedelta
    start: datetime.datetime
    until: datetime.datetime

    @property
    def previous(self) -> datetime.datetime:
        return self.start - self.since

    @property
    def bucket(self) -> datetime.timedelta:
        """The MTTR trend's step: days for a month or so, weeks beyond."""
        return datetime.timedelta(days=1) if self.since <= datetime.timedelta(days=45) else WEEK


def period(since: datetime.timedelta, until: datetime.datetime) -> Period:
    return Period(since, until - since, until)


def parse_since(text: str | None, default: datetime.timedelta = datetime.timedelta(days=30)) -> datetime.timedelta:
    if not text:
        return default
    value = values.parse_duration(text)
    if value > datetime.timedelta(days=3660):
        raise ValueError(f"expected at most 3660d, got {text!r}")
    return value


def week_start(t: datetime.datetime) -> datetime.datetime:
    day = t.astimezone(datetime.UTC)
    monday = (day - datetime.timedelta(days=day.weekday())).date()
    return datetime.datetime.combine(monday, datetime.time(), datetime.UTC)


def weeks(p: Period) -> list[datetime.datetime]:
    out, w = [], week_start(p.start)
    while w < p.until:
        out.append(w)
        w += WEEK
    return out


def service_zones(cfg: config.Config) -> dict[str, str]:
    return {s.id: s.time_zone for s in cfg.services if s.time_zone}


def user_zones(cfg: config.Config) -> dict[str, str]:
    return {u.id: u.time_zone for u in cfg.users}


def _targets(cfg: config.Config, service: str | None) -> list[str]:
    """The rotations and schedules people are on call in: those the services' policies page (else all)."""
    policies = {s.escalation_policy for s in cfg.services if service in (None, s.id) and s.escalation_policy}
    found = [
        t
        for p in cfg.escalation_policies
        if p.id in policies
        for step in p.steps
        for t in step.targets
        if t.startswith(("rotation:", "schedule:"))
    ]
    if not found and service is None:
        found = [f"rotation:{r.id}" for r in cfg.rotations] + [f"schedule:{s.id}" for s in cfg.schedules]
    return list(dict.fromkeys(found))


def oncall_hours(
    cfg: config.Config, p: Period, service: str | None = None
) -> dict[tuple[str, datetime.datetime], float]:
    """(user, week) → hours on call in the period, from the config's rotations: overlapping shifts count once."""
    resolver = oncall.Resolver(cfg)
    spans: dict[str, list[tuple[datetime.datetime, datetime.datetime]]] = {}
    for target in _targets(cfg, service):
        for s in resolver.shifts(target, p.start, p.until):
            a, b = max(s.start, p.start), min(s.end, p.until)
            if b > a:
                spans.setdefault(s.user, []).append((a, b))
    out: dict[tuple[str, datetime.datetime], float] = {}
    for user, items in spans.items():
        merged: list[list[datetime.datetime]] = []
        for a, b in sorted(items):
            if merged and a <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        for a, b in merged:
            w = week_start(a)
            while w < b:
                piece = (min(b, w + WEEK) - max(a, w)).total_seconds()
                if piece > 0:
                    out[(user, w)] = out.get((user, w), 0.0) + piece / 3600
                w += WEEK
    return out


def _ts(t: datetime.datetime | None) -> str | None:
    return None if t is None else t.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def _r(x: float | None, digits: int = 1) -> float | None:
    return None if x is None else round(float(x), digits)


def _change(now: float | None, before: float | None) -> dict[str, float | None]:
    if now is None or before is None:
        return {"seconds": None, "ratio": None}
    return {"seconds": _r(now - before), "ratio": _r((now - before) / before, 3) if before else None}


def _combine(rows: typing.Iterable[typing.Mapping[str, typing.Any]]) -> dict[str, typing.Any]:
    """Totals and exact means over several (service, priority) rows: means weighted by their counts."""
    n = ack = res = open_ = 0
    ack_sum = res_sum = 0.0
    for r in rows:
        n += r["incidents"]
        open_ += r["open"]
        ack += r["acknowledged"]
        res += r["resolved"]
        ack_sum += float(r["mtta"] or 0) * r["acknowledged"]
        res_sum += float(r["mttr"] or 0) * r["resolved"]
    return {
        "incidents": n,
        "open": open_,
        "acknowledged": ack,
        "resolved": res,
        "mtta_seconds": _r(ack_sum / ack) if ack else None,
        "mttr_seconds": _r(res_sum / res) if res else None,
    }


def _with_trend(now: dict[str, typing.Any], before: dict[str, typing.Any]) -> dict[str, typing.Any]:
    return {
        **now,
        "previous": {k: before[k] for k in ("incidents", "mtta_seconds", "mttr_seconds")},
        "trend": {
            "incidents": now["incidents"] - before["incidents"],
            "mtta": _change(now["mtta_seconds"], before["mtta_seconds"]),
            "mttr": _change(now["mttr_seconds"], before["mttr_seconds"]),
        },
    }


def _groups(rows: typing.Sequence[typing.Mapping[str, typing.Any]], key: typing.Callable[..., typing.Any]) -> dict:
    out: dict[typing.Any, list[typing.Mapping[str, typing.Any]]] = {}
    for r in rows:
        out.setdefault(key(r), []).append(r)
    return out


def _share(n: int, of: int) -> float | None:
    return _r(n / of, 3) if of else None


def _after(rows: typing.Iterable[typing.Mapping[str, typing.Any]]) -> dict[str, typing.Any]:
    rows = list(rows)
    n, of = sum(r["after_change"] for r in rows), sum(r["incidents"] for r in rows)
    return {"incidents": n, "of": of, "share": _share(n, of)}


def after_change(rows: typing.Any) -> dict[str, typing.Any]:
    """How many incidents opened within AFTER_CHANGE after a change of their service, and how many changes an
    incident followed; unknown (`available` false) where no change event was ever recorded."""
    window = values.format_duration(AFTER_CHANGE)
    if not rows.changes_recorded:
        return {
            "available": False,
            "window": window,
            "why": "no change events recorded (send deploys to POST /v2/change/enqueue)",
        }
    current = [r for r in rows.after_change if r["period"] == "current"]
    previous = [r for r in rows.after_change if r["period"] == "previous"]
    changes = {r["service"]: r for r in rows.changes}
    services = sorted({r["service"] for r in current} | set(changes))
    by_service = {}
    for svc in services:
        c = changes.get(svc, {"changes": 0, "followed": 0})
        by_service[svc] = {
            **_after(r for r in current if r["service"] == svc),
            "changes": c["changes"],
            "changes_followed": c["followed"],
        }
    total = sum(c["changes"] for c in changes.values())
    followed = sum(c["followed"] for c in changes.values())
    return {
        "available": True,
        "window": window,
        **_after(current),
        "previous": _after(previous),
        "by_priority": {
            f"P{prio}": _after(r for r in current if r["priority"] == prio)
            for prio in sorted({r["priority"] for r in current})
        },
        "by_service": by_service,
        "changes": total,
        "changes_followed": followed,
        "changes_followed_share": _share(followed, total),
    }


def build(
    p: Period,
    rows: typing.Any,
    cfg: config.Config,
    *,
    service: str | None = None,
    oncall: typing.Mapping[tuple[str, datetime.datetime], float] | None = None,
    picture: typing.Mapping[str, typing.Any] | None = None,
) -> dict[str, typing.Any]:
    """The report's JSON from the store's rows (`store.reports.Rows`)."""
    current = [r for r in rows.response if r["period"] == "current"]
    previous = [r for r in rows.response if r["period"] == "previous"]
    pairs = sorted({(r["service"], r["priority"]) for r in rows.response})
    by_pair_now, by_pair_before = (
        _groups(current, lambda r: (r["service"], r["priority"])),
        _groups(previous, lambda r: (r["service"], r["priority"])),
    )
    response = [
        {
            "service": svc,
            "priority": f"P{prio}",
            **_with_trend(_combine(by_pair_now.get((svc, prio), [])), _combine(by_pair_before.get((svc, prio), []))),
        }
        for svc, prio in pairs
    ]
    by_priority = {
        f"P{prio}": _with_trend(
            _combine(r for r in current if r["priority"] == prio),
            _combine(r for r in previous if r["priority"] == prio),
        )
        for prio in sorted({r["priority"] for r in rows.response})
    }
    by_service = {
        svc: _with_trend(
            _combine(r for r in current if r["service"] == svc), _combine(r for r in previous if r["service"] == svc)
        )
        for svc in sorted({r["service"] for r in rows.response})
    }
    overall = _with_trend(_combine(current), _combine(previous))

    matrix = [[0] * 24 for _ in DAYS]
    for r in rows.hour_of_week:
        matrix[r["dow"]][r["hour"]] += r["n"]
    weekday = sum(sum(matrix[d]) for d in range(5))
    weekend = sum(sum(matrix[d]) for d in (5, 6))
    days_in = {"weekday": 0, "weekend": 0}
    day = p.start
    while day < p.until:  # how many weekdays and weekend days the period holds, for rates per day
        days_in["weekend" if day.weekday() >= 5 else "weekday"] += 1
        day += datetime.timedelta(days=1)
    zones = service_zones(cfg)
    scope = [service] if service else sorted({r["service"] for r in rows.response} | set(zones))

    trend: dict[str, list[dict[str, typing.Any]]] = {}
    for r in sorted(rows.trend, key=lambda r: (r["priority"], r["bucket"])):
        trend.setdefault(f"P{r['priority']}", []).append(
            {
                "start": _ts(r["bucket"]),
                "incidents": r["incidents"],
                "mtta_seconds": _r(r["mtta"]),
                "mttr_seconds": _r(r["mttr"]),
            }
        )

    return {
        "since": values.format_duration(p.since),
        "from": _ts(p.start),
        "until": _ts(p.until),
        "previous": {"from": _ts(p.previous), "until": _ts(p.start)},
        "service": service,
        "counts": {
            "incidents": overall["incidents"],
            "previous_incidents": overall["previous"]["incidents"],
            "open": overall["open"],
            "by_priority": {k: v["incidents"] for k, v in by_priority.items() if v["incidents"]},
            "by_service": {k: v["incidents"] for k, v in by_service.items() if v["incidents"]},
        },
        "response": {
            "overall": overall,
            "by_priority": by_priority,
            "by_service": by_service,
            "by_service_priority": response,
        },
        "hour_of_week": {
            "days": list(DAYS),
            "hours": list(range(24)),
            "zones": {s: zones.get(s, "UTC") for s in scope},
            "matrix": matrix,
        },
        "weekday_weekend": {
            "weekday": weekday,
            "weekend": weekend,
            "weekday_days": days_in["weekday"],
            "weekend_days": days_in["weekend"],
            "weekday_per_day": _r(weekday / days_in["weekday"], 2) if days_in["weekday"] else None,
            "weekend_per_day": _r(weekend / days_in["weekend"], 2) if days_in["weekend"] else None,
            "weekend_share": _r(weekend / (weekday + weekend), 3) if weekday + weekend else None,
        },
        "after_change": after_change(rows),
        "mttr_trend": {"bucket": values.format_duration(p.bucket), "by_priority": trend},
        "noisiest_alerts": [
            {"name": r["name"], "events": r["events"], "alerts": r["alerts"], "incidents": r["incidents"]}
            for r in rows.noisy
        ],
        "load": load(p, rows, cfg, oncall or {}),
        "drills": {"drills": rows.drills["drills"], "acknowledged": rows.drills["acknowledged"]},
        "picture": dict(picture) if picture is not None else {"available": False, "why": "not asked for"},
    }


def load(
    p: Period, rows: typing.Any, cfg: config.Config, oncall: typing.Mapping[tuple[str, datetime.datetime], float]
) -> dict[str, typing.Any]:
    """Each person's load per UTC week: pages, night pages, hours holding incidents, hours on call; and the outliers."""
    ws = weeks(p)
    cells: dict[tuple[str, datetime.datetime], dict[str, float]] = {}

    def cell(user: str, week: datetime.datetime) -> dict[str, float]:
        return cells.setdefault((user, week_start(week)), dict.fromkeys(LOAD_METRICS, 0))

    for r in rows.pages:
        c = cell(r["user_id"], r["week"])
        c["pages"] += r["pages"]
        c["night_pages"] += r["night"]
    for r in rows.holding:
        cell(r["user_id"], r["week"])["holding_hours"] += float(r["hours"])
    for (user, week), hours in oncall.items():
        cell(user, week)["oncall_hours"] += hours
    users = [u.id for u in cfg.users if any(k[0] == u.id for k in cells)]
    users += sorted({k[0] for k in cells} - set(users))
    people = []
    for user in users:
        found = cfg.user(user)
        per_week = []
        total = dict.fromkeys(LOAD_METRICS, 0.0)
        for w in ws:
            c = cells.get((user, w), dict.fromkeys(LOAD_METRICS, 0))
            per_week.append({"week": w.date().isoformat(), **_load_values(c)})
            for k in LOAD_METRICS:
                total[k] += c[k]
        people.append(
            {
                "user": user,
                "name": found.display_name if found else user,
                "time_zone": found.time_zone if found else "UTC",
                "total": _load_values(total),
                "weeks": per_week,
            }
        )
    return {
        "weeks": [w.date().isoformat() for w in ws],
        "night": f"{NIGHT[0]:02d}:00-{NIGHT[1]:02d}:00 in each person's zone",
        "people": people,
        "outliers": outliers(people),
    }


def _load_values(c: typing.Mapping[str, float]) -> dict[str, typing.Any]:
    return {
        "pages": int(c["pages"]),
        "night_pages": int(c["night_pages"]),
        "holding_hours": round(float(c["holding_hours"]), 2),
        "oncall_hours": round(float(c["oncall_hours"]), 2),
    }


def outliers(people: typing.Sequence[typing.Mapping[str, typing.Any]]) -> list[dict[str, typing.Any]]:
    """Who carried more than twice the team's median of a load (and at least its floor), heaviest first."""
    out = []
    for metric, floor in OUTLIER_FLOOR.items():
        vals = [p["total"][metric] for p in people]
        if len(vals) < 2:
            continue
        median = statistics.median(vals)
        for person in people:
            v = person["total"][metric]
            if v >= floor and v > OUTLIER_FACTOR * median:
                heaviest = max(person["weeks"], key=lambda w: w[metric])
                times = (
                    f"{v / median:.1f}x the team median of {median:g}" if median else f"the team median is {median:g}"
                )
                out.append(
                    {
                        "user": person["user"],
                        "name": person["name"],
                        "metric": metric,
                        "value": v,
                        "median": median,
                        "heaviest_week": heaviest["week"],
                        "why": f"{v:g} {metric.replace('_', ' ')}: {times}; heaviest week {heaviest['week']} ({heaviest[metric]:g})",
                    }
                )
    return sorted(out, key=lambda o: (-(o["value"] / o["median"]) if o["median"] else -float("inf"), o["user"]))


# --- text, for `pager report` and the digest ---------------------------------------------------------------------


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    whole = int(round(seconds))
    return values.format_duration(datetime.timedelta(seconds=whole)) if whole else "0s"


def change_text(change: typing.Mapping[str, typing.Any]) -> str:
    s = change.get("seconds")
    if s is None:
        return "—"
    ratio = change.get("ratio")
    sign = "+" if s > 0 else "-" if s < 0 else "±"
    pct = f" ({ratio * 100:+.0f}%)" if ratio is not None else ""
    return f"{sign}{duration_text(abs(s))}{pct}"


def _table(rows: list[list[str]]) -> list[str]:
    if not rows:
        return []
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  " + "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share * 100:.0f}%"


def _after_change_text(ac: typing.Mapping[str, typing.Any]) -> list[str]:
    if not ac.get("available"):
        return [f"Opened after a change: unknown ({ac.get('why')})"]
    prev = ac["previous"]
    lines = [
        f"Opened within {ac['window']} after a change: {ac['incidents']} of {ac['of']} ({percent(ac['share'])}; "
        f"previous period {prev['incidents']} of {prev['of']}, {percent(prev['share'])}); "
        f"{ac['changes']} changes, {ac['changes_followed']} followed by an incident within {ac['window']}"
    ]
    table = [["service", "after a change", "share", "changes", "followed"]]
    for svc, x in ac["by_service"].items():
        table.append(
            [svc, f"{x['incidents']} of {x['of']}", percent(x["share"]), str(x["changes"]), str(x["changes_followed"])]
        )
    return lines + (_table(table) if ac["by_service"] else [])


def render(r: typing.Mapping[str, typing.Any], *, load_only: bool = False) -> str:
    """The report as a terminal reads it (from the JSON of `build`)."""
    head = f"Incidents {r['from'][:10]} to {r['until'][:10]} ({r['since']})" + (
        f", service {r['service']}" if r["service"] else ""
    )
    lines = [head, ""]
    if not load_only:
        c = r["counts"]
        lines.append(
            f"{c['incidents']} incidents ({c['previous_incidents']} in the previous {r['since']}), {c['open']} still open; "
            f"{r['drills']['drills']} drills left out"
        )
        if c["by_priority"]:
            lines.append("  by priority: " + ", ".join(f"{k} {v}" for k, v in c["by_priority"].items()))
        lines += ["", "Response (MTTA, MTTR; change against the previous period):"]
        table = [["service", "priority", "incidents", "MTTA", "change", "MTTR", "change"]]
        for x in r["response"]["by_service_priority"]:
            table.append(
                [
                    x["service"],
                    x["priority"],
                    f"{x['incidents']} ({x['trend']['incidents']:+d})",
                    duration_text(x["mtta_seconds"]),
                    change_text(x["trend"]["mtta"]),
                    duration_text(x["mttr_seconds"]),
                    change_text(x["trend"]["mttr"]),
                ]
            )
        o = r["response"]["overall"]
        table.append(
            [
                "all",
                "",
                f"{o['incidents']} ({o['trend']['incidents']:+d})",
                duration_text(o["mtta_seconds"]),
                change_text(o["trend"]["mtta"]),
                duration_text(o["mttr_seconds"]),
                change_text(o["trend"]["mttr"]),
            ]
        )
        lines += _table(table)
        h = r["hour_of_week"]
        zones = sorted(set(h["zones"].values())) or ["UTC"]
        peak = max((n for row in h["matrix"] for n in row), default=0)
        scaled = peak >= 100  # two digits a cell: past 99, each hour as a share of the busiest
        what = f"each hour per 99 of the busiest ({peak})" if scaled else "incidents opened in each hour"
        lines += ["", f"Hour of week (local time: {', '.join(zones)}); {what}:"]
        lines.append("       " + "".join(f"{hour:<3d}" if hour % 3 == 0 else "   " for hour in range(24)).rstrip())
        for name, row in zip(h["days"], h["matrix"]):
            cells = [max(1, round(n * 99 / peak)) if scaled and n else n for n in row]
            lines.append(f"  {name}  " + "".join(f"{'.' if n == 0 else n!s:<3}" for n in cells).rstrip())
        ww = r["weekday_weekend"]
        share = ww["weekend_share"]
        lines += [
            "",
            f"Weekdays {ww['weekday']} ({ww['weekday_per_day']}/day), weekends {ww['weekend']} ({ww['weekend_per_day']}/day)"
            + (f"; weekend share {share * 100:.0f}%" if share is not None else ""),
        ]
        lines += _after_change_text(r["after_change"])
        lines += ["", "Noisiest alerts:"]
        noisy = [["name", "events", "alerts", "incidents"]] + [
            [n["name"], str(n["events"]), str(n["alerts"]), str(n["incidents"])] for n in r["noisiest_alerts"]
        ]
        lines += _table(noisy) if r["noisiest_alerts"] else ["  none"]
        if not r["picture"].get("available"):
            lines += ["", f"Picture: not available ({r['picture'].get('why')})"]
        lines.append("")
    ld = r["load"]
    lines.append(f"Load per person (pages, night pages {ld['night']}, hours holding incidents, hours on call):")
    table = [["person", "pages", "night", "holding h", "on call h"]]
    for p in ld["people"]:
        t = p["total"]
        table.append(
            [p["name"], str(t["pages"]), str(t["night_pages"]), f"{t['holding_hours']:g}", f"{t['oncall_hours']:g}"]
        )
    lines += _table(table) if ld["people"] else ["  nobody was paged or on call"]
    if load_only:
        lines += ["", "Per week:"]
        table = [["person", "week", "pages", "night", "holding h", "on call h"]]
        for p in ld["people"]:
            for w in p["weeks"]:
                table.append(
                    [
                        p["name"],
                        w["week"],
                        str(w["pages"]),
                        str(w["night_pages"]),
                        f"{w['holding_hours']:g}",
                        f"{w['oncall_hours']:g}",
                    ]
                )
        lines += _table(table)
        lines += ["", "Outliers:"]
        lines += [f"  {o['name']}: {o['why']}" for o in ld["outliers"]] or ["  none: the load is spread evenly"]
    elif ld["outliers"]:
        lines.append(
            "  outliers: " + "; ".join(f"{o['name']} ({o['metric'].replace('_', ' ')})" for o in ld["outliers"])
        )
    return "\n".join(lines) + "\n"
