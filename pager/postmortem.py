"""The post-mortem draft: a blameless review in Markdown, filled with everything pager knows of an incident.

Pure: a function of the incident's record (its alerts, timeline, pages, action
items), the config and `now`. pager fills the facts — summary, impact with MTTA
and MTTR to the second, the timeline in UTC and in the service's zone, who
responded — and leaves root cause, contributing factors, what went well, action
items and lessons learned to people, each with one line of guidance worded the
blameless way: systems and conditions, not people. Every piece of text that came
from an alert or a person goes through `pager.markdown.text`, so it cannot break
the document. The result renders in GitHub (checked with cmark-gfm in the tests).
"""

from __future__ import annotations

import dataclasses
import datetime
import typing
import zoneinfo

from pager import actions, config, markdown, models, timeline, values

K = timeline.Kind

SECTIONS = (
    "Summary",
    "Impact",
    "Timeline",
    "Responders",
    "Root cause",
    "Contributing factors",
    "What went well",
    "Action items",
    "Lessons learned",
)

GUIDANCE = {
    "Root cause": "Which condition in the system let this happen? Describe mechanisms and circumstances, "
    "not who did what; ask why until you reach something that can be changed.",
    "Contributing factors": "What made it worse, longer or harder to see: gaps in monitoring, alerting, runbooks, "
    "tooling, capacity or timing. People acted sensibly on what they knew; say what they could not know.",
    "What went well": "What shortened the incident or limited its impact — detection, tooling, practice, "
    "help that arrived — so that it is kept on purpose.",
    "Action items": "Each item changes a condition named above, has one owner and a due date "
    "(POST /api/v1/incidents/{id}/actions); prefer fixes to the system over asking people to be more careful.",
    "Lessons learned": "What this taught us about the system and about how we respond, and what we still do not know.",
}

# Timeline kinds that are bookkeeping, not events a review needs.
_QUIET = frozenset({K.PAGE_HELD, K.PAGE_RETRY, K.NOT_ESCALATING})

_LABELS = {
    K.TRIGGERED: "Detected",
    K.ALERT_ADDED: "New alert",
    K.ALERT_REFIRED: "Alert fired again",
    K.ALERT_RESOLVED: "Alert cleared",
    K.PRIORITY_RAISED: "Priority raised",
    K.ACKNOWLEDGED: "Acknowledged",
    K.RESOLVED: "Resolved",
    K.NOTE: "Note",
    K.TARGET_BREACHED: "Target missed",
    K.ESCALATED: "Escalated",
    K.REPEATED: "Escalation repeated",
    K.MANUAL_ESCALATION: "Escalated by hand",
    K.TARGET_EMPTY: "Nobody on call",
    K.NO_CHANNEL: "No channel",
    K.STEP_SKIPPED: "Step skipped",
    K.EXHAUSTED: "Escalation exhausted",
    K.NOBODY_ON_CALL: "Nobody reached",
    K.NO_POLICY: "No escalation policy",
    K.ACKNOWLEDGER_NOTIFIED: "Acknowledger told",
    K.PAGED: "Paged",
    K.PAGE_FAILED: "Page failed",
    K.PAGE_UNDELIVERED: "Page undelivered",
    K.PAGE_FALLBACK: "Page fallback",
    K.PAGE_UNDELIVERABLE: "Could not reach",
    K.POSTMORTEM_OVERDUE: "Post-mortem overdue",
    K.ACTION_OVERDUE: "Action item overdue",
    K.DRILL_ENDED: "Drill over",
    K.STABILIZING: "Recovered, stabilizing",
    K.RELAPSED: "Relapsed",
    K.ROLE_CHANGED: "Role changed",
    K.STATUS_UPDATE: "Status update",
    K.UPDATE_OVERDUE: "Update overdue",
    K.STAKEHOLDERS_NOTIFIED: "Stakeholders told",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """A change to a service (a deploy, a config push) shortly before the incident, shown on its timeline."""

    at: datetime.datetime
    service: str
    summary: str
    source: str = ""


@dataclasses.dataclass(frozen=True, slots=True)
class Record:
    """Everything the draft is written from, read in one snapshot by the store."""

    detail: models.IncidentDetail
    pages: tuple[models.PageRecord, ...] = ()
    actions: tuple[actions.ActionItem, ...] = ()
    changes: tuple[Change, ...] = ()
    roles: typing.Mapping[str, str | None] = dataclasses.field(default_factory=dict)


def due_at(incident: models.Incident, cfg: config.Config) -> datetime.datetime | None:
    """When this incident's post-mortem is due: `postmortems.due_after` its resolve, for the priorities listed."""
    pm = cfg.postmortems
    if incident.drill or incident.priority not in pm.priorities or incident.resolved_at is None:
        return None
    return incident.resolved_at + pm.due_after


def reminded(incident: models.Incident, cfg: config.Config) -> config.User | None:
    """Who is reminded of an overdue post-mortem: the commander, else who acknowledged, else who resolved.

    Roles are issue 12's (`roles.commander`); until an incident carries them, the acknowledger leads.
    """
    roles = getattr(incident, "roles", None) or {}
    for who in (roles.get("commander"), incident.acknowledged_by, incident.resolved_by):
        user = cfg.user(who) if who else None
        if user is not None:
            return user
    return None


def reminder(incident: models.Incident, due: datetime.datetime, name: str, base_url: str) -> tuple[str, str]:
    """(subject, body) of the mail that reminds the commander of an overdue post-mortem."""
    summary = " ".join(incident.summary.split())
    subject = f"[pager] Post-mortem of #{incident.number} is overdue ({incident.service}: {summary[:100]})"
    body = "\n".join(
        [
            f"Hello {name},",
            "",
            f"the post-mortem of {incident.priority.name} incident #{incident.number} on {incident.service} "
            f"({summary}) was due {_utc(due)}.",
            "",
            "pager has written a draft from the incident's record. Read it, fill in the sections left to people, "
            f"and save it, in the web UI at {base_url}/incidents/{incident.id}/postmortem or from a terminal:",
            f"  pager postmortem {incident.number} > postmortem-{incident.number}.md",
            f"  pager postmortem {incident.number} --put postmortem-{incident.number}.md",
            f"or GET and PUT {base_url}/api/v1/incidents/{incident.id}/postmortem (text/markdown).",
            "",
            "-- ",
            "pager: reminders repeat until the post-mortem is saved.",
        ]
    )
    return subject, body + "\n"


def _utc(t: datetime.datetime | None) -> str:
    return "—" if t is None else t.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _local(t: datetime.datetime, zone: zoneinfo.ZoneInfo, day: datetime.date | None) -> str:
    local = t.astimezone(zone)
    clock = local.strftime("%H:%M:%S %Z")
    return clock if day == local.date() else local.strftime("%Y-%m-%d ") + clock


def span(seconds: float | None) -> str:
    """A duration to the second, as pager writes durations elsewhere (`2m13s`), with the seconds beside it from a minute."""
    if seconds is None:
        return "—"
    whole = int(round(seconds))
    text = values.format_duration(datetime.timedelta(seconds=whole)) if whole else "0s"
    return text if whole < 60 else f"{text} ({whole} s)"


def _name(cfg: config.Config, who: str | None) -> str:
    if not who:
        return "—"
    user = cfg.user(who)
    if user is not None:
        return markdown.text(user.display_name)
    if who.startswith("integration:"):
        return "integration " + markdown.code(who.removeprefix("integration:"))
    return markdown.code(who)


def _label(kind: str) -> str:
    try:
        return _LABELS[K(kind)]
    except (ValueError, KeyError):
        return kind.replace("_", " ").capitalize()  # a kind from a newer pager: shown, never dropped


def _alert_name(a: models.AlertState) -> str:
    return a.labels.get("alertname") or a.fingerprint


def _breaches(detail: models.IncidentDetail) -> dict[str, models.TimelineEntry]:
    out = {}
    for e in detail.timeline:
        if e.kind == K.TARGET_BREACHED and e.details and e.details.get("target") not in out:
            out[e.details["target"]] = e
    return out


def mtta(incident: models.Incident) -> float | None:
    if incident.acknowledged_at is None:
        return None
    return (incident.acknowledged_at - incident.created_at).total_seconds()


def mttr(incident: models.Incident) -> float | None:
    """Opened to recovered (issue 12's `recovered_at`, when the alerts cleared) or else to resolved."""
    end = getattr(incident, "recovered_at", None) or incident.resolved_at
    return None if end is None else (end - incident.created_at).total_seconds()


def draft(record: Record, cfg: config.Config, now: datetime.datetime) -> str:
    """The whole draft, Markdown, ending in a newline."""
    d = record.detail
    inc = d.incident
    service = cfg.service(inc.service)
    zone_name = service.time_zone if service and service.time_zone else None
    zone = zoneinfo.ZoneInfo(zone_name) if zone_name else None
    out: list[str] = []
    add = out.append

    title = f"# Post-mortem: #{inc.number} {markdown.text(inc.summary, 150)}"
    add(title + (" (drill)" if inc.drill else ""))
    add("")
    add(
        f"> Draft written by pager on {_utc(now)} from the incident's record. Blameless: it describes systems "
        f"and conditions, not people. Edit it, then save it with `PUT /api/v1/incidents/{inc.id}/postmortem` "
        f"or `pager postmortem {inc.number} --put FILE`."
    )
    add("")
    due = due_at(inc, cfg)
    facts = [
        ["Incident", f"#{inc.number}" + (" (drill)" if inc.drill else "")],
        ["Service", markdown.code(inc.service)],
        ["Priority", inc.priority.name],
        ["Status", str(inc.status)],
        ["Opened", _utc(inc.created_at)],
        ["Resolved", _utc(inc.resolved_at)],
    ]
    if due is not None:
        facts.append(["Post-mortem due", _utc(due)])
    out += markdown.table(["", ""], facts)

    add("")
    add("## Summary")
    add("")
    add(_summary(record, cfg, now))

    add("")
    add("## Impact")
    add("")
    out += _impact(record, cfg, now)

    add("")
    add("## Timeline")
    add("")
    out += _timeline(record, cfg, zone, zone_name)

    add("")
    add("## Responders")
    add("")
    out += _responders(record, cfg)

    for section in ("Root cause", "Contributing factors", "What went well"):
        add("")
        add(f"## {section}")
        add("")
        add(f"_{GUIDANCE[section]}_")

    add("")
    add("## Action items")
    add("")
    add("_" + GUIDANCE["Action items"].replace("{id}", str(inc.id)) + "_")
    if record.actions:
        add("")
        out += markdown.table(
            ["#", "Action", "Owner", "Due", "Status"],
            [
                [str(a.id), markdown.text(a.title), _name(cfg, a.owner), a.due.isoformat(), a.status]
                for a in record.actions
            ],
        )

    add("")
    add("## Lessons learned")
    add("")
    add(f"_{GUIDANCE['Lessons learned']}_")
    return "\n".join(out) + "\n"


def _summary(record: Record, cfg: config.Config, now: datetime.datetime) -> str:
    inc = record.detail.incident
    opened_by = inc.integration and f"integration {markdown.code(inc.integration)}"
    if not opened_by:
        first = record.detail.timeline[0] if record.detail.timeline else None
        opened_by = _name(cfg, first.actor) if first else "—"
    kind = "drill" if inc.drill else "incident"
    parts = [
        f"{inc.priority.name} {kind} #{inc.number} on {markdown.code(inc.service)}: {markdown.text(inc.summary)}.",
        f"Opened {_utc(inc.created_at)} by {opened_by} with {_count(inc.alert_count or len(record.detail.alerts), 'alert')}.",
    ]
    before = [c for c in record.changes if c.at <= inc.created_at]
    if before:
        last = max(before, key=lambda c: c.at)
        after = values.format_duration(inc.created_at - last.at) if last.at < inc.created_at else "0s"
        more = f" ({_count(len(before) - 1, 'other change')} in the 2 h before)" if len(before) > 1 else ""
        parts.append(
            f"It opened {after} after a change to {markdown.code(last.service)}: {markdown.text(last.summary)}{more}."
        )
    if inc.acknowledged_at is not None:
        parts.append(f"Acknowledged by {_name(cfg, inc.acknowledged_by)} after {span(mtta(inc))}.")
    else:
        parts.append("Nobody acknowledged it.")
    if inc.resolved_at is not None:
        parts.append(f"Resolved by {_name(cfg, inc.resolved_by)} after {span(mttr(inc))}.")
    else:
        parts.append(f"Still {inc.status} at {_utc(now)}.")
    return " ".join(parts)


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _impact(record: Record, cfg: config.Config, now: datetime.datetime) -> list[str]:
    d = record.detail
    inc = d.incident
    services = [inc.service]
    for a in d.alerts:
        svc = a.labels.get("service")
        if svc and svc not in services:
            services.append(svc)
    end = inc.resolved_at
    duration = span(((end or now) - inc.created_at).total_seconds())
    if end is None:
        duration += f" so far (open at {_utc(now)})"
    else:
        duration += f", {_utc(inc.created_at)} to {_utc(end)}"
    firing = sum(1 for a in d.alerts if a.status == "firing")
    lines = [
        f"- **Services:** {', '.join(markdown.code(s) for s in services)}",
        f"- **Duration:** {duration}",
        f"- **Alerts:** {len(d.alerts)} ({firing} firing, {len(d.alerts) - firing} resolved)",
        f"- **MTTA (time to acknowledge):** {span(mtta(inc))}",
        f"- **MTTR (time to resolve):** {span(mttr(inc))}",
        f"- **Response targets:** {_targets(inc, d, now)}",
        f"- **Pages:** {_pages(record.pages, cfg)}",
    ]
    if d.alerts:
        lines += [""]
        lines += markdown.table(
            ["Alert", "Status", "First seen (UTC)", "Summary"],
            [
                [markdown.text(_alert_name(a), 120), a.status, _utc(a.first_seen_at), markdown.text(a.summary)]
                for a in d.alerts
            ],
        )
    return lines


def _targets(inc: models.Incident, d: models.IncidentDetail, now: datetime.datetime) -> str:
    parts = []
    breaches = _breaches(d)
    for target, due, verb in (("ack", inc.ack_by, "acknowledge"), ("resolve", inc.resolve_by, "resolve")):
        if due is None:
            continue
        within = values.format_duration(due - inc.created_at)
        if target in breaches or inc.breached(target, now):
            when = breaches[target].at if target in breaches else due
            parts.append(f"{verb} within {within}: **missed** (due {_utc(due)}, breach recorded {_utc(when)})")
        else:
            parts.append(f"{verb} within {within}: met")
    return "; ".join(parts) if parts else f"none configured for {inc.priority.name}"


def _pages(pages: typing.Sequence[models.PageRecord], cfg: config.Config) -> str:
    real = [p for p in pages if p.status != "cancelled"]
    if not real:
        return "nobody was paged"
    people = sorted({p.user_id for p in real})
    by_channel: dict[str, int] = {}
    for p in real:
        by_channel[p.channel] = by_channel.get(p.channel, 0) + 1
    failed = sum(1 for p in real if p.status == "failed")
    text = (
        f"{_count(len(real), 'page')} to {_count(len(people), 'person') if len(people) == 1 else f'{len(people)} people'}"
        f" ({', '.join(f'{c} {n}' for c, n in sorted(by_channel.items()))})"
    )
    return text + (f"; {failed} failed" if failed else "")


def _timeline(record: Record, cfg: config.Config, zone: zoneinfo.ZoneInfo | None, zone_name: str | None) -> list[str]:
    rows: list[tuple[datetime.datetime, int, str, str, str]] = []
    for e in record.detail.timeline:
        if e.kind in _QUIET:
            continue
        who = "" if e.actor in (None, "pager") else _name(cfg, e.actor)
        rows.append((e.at, e.id, _label(e.kind), markdown.text(e.message), who))
    for c in record.changes:
        what = markdown.text(c.summary) + (f" ({markdown.text(c.source)})" if c.source else "")
        rows.append((c.at, -1, "Change", what, markdown.code(c.service)))
    recovered = getattr(record.detail.incident, "recovered_at", None)
    if recovered is not None and not any(e.kind == "stabilizing" for e in record.detail.timeline):
        rows.append((recovered, 2**62, "Recovered", "the last alert cleared", ""))
    rows.sort(key=lambda r: (r[0], r[1]))
    header = ["Time (UTC)"] + ([markdown.text(zone_name)] if zone_name else []) + ["Event", "What happened", "Who"]
    body = []
    day = local_day = None
    for at, _, label, what, who in rows:  # a date where the day changes, else the time alone
        utc = at.astimezone(datetime.UTC)
        stamp = utc.strftime("%H:%M:%S") if day == utc.date() else utc.strftime("%Y-%m-%d %H:%M:%S")
        day = utc.date()
        cells = [stamp]
        if zone is not None:
            cells.append(_local(at, zone, local_day))
            local_day = at.astimezone(zone).date()
        body.append([*cells, label, what, who])
    note = (
        f"Times in UTC and in the service's zone ({markdown.text(zone_name)})."
        if zone_name
        else "Times in UTC (the service has no `time_zone`)."
    )
    return [note, "", *markdown.table(header, body)]


def _incident_roles(inc: models.Incident) -> dict[str, str | None]:
    """The incident's own roles (issue 12's `Incident.roles`), once this pager records them."""
    roles = getattr(inc, "roles", None)
    return {name: roles.get(name) for name in getattr(models, "ROLES", ())} if roles is not None else {}


def _responders(record: Record, cfg: config.Config) -> list[str]:
    inc = record.detail.incident
    people: dict[str, dict[str, typing.Any]] = {}

    def person(who: str) -> dict[str, typing.Any]:
        return people.setdefault(who, {"roles": [], "pages": 0, "did": []})

    roles = dict(record.roles) or _incident_roles(inc)
    for role, who in roles.items():
        if who:
            person(who)["roles"].append(role.replace("_", " "))
    for p in record.pages:
        if p.status != "cancelled":
            person(p.user_id)["pages"] += 1
    for e in record.detail.timeline:
        if e.actor and cfg.user(e.actor) is not None:
            did = {"acknowledged": "acknowledged", "resolved": "resolved", "note": "wrote notes"}.get(e.kind)
            did = did or ("escalated by hand" if e.kind == K.MANUAL_ESCALATION else None)
            if did and did not in person(e.actor)["did"]:
                person(e.actor)["did"].append(did)
    if inc.acknowledged_by and inc.acknowledged_by.startswith("integration:"):
        person(inc.acknowledged_by)["did"].append("acknowledged")
    if not people:
        return ["Nobody was paged and nobody acted on the incident through pager."]
    rows = [
        [_name(cfg, who), ", ".join(info["roles"]) or "—", str(info["pages"]), ", ".join(info["did"]) or "—"]
        for who, info in people.items()
    ]
    note = (
        []
        if any(roles.values())
        else ["Roles (commander, comms, tech lead, scribe) were not recorded for this incident.", ""]
    )
    return [*note, *markdown.table(["Person", "Role", "Pages", "Acted"], rows)]
