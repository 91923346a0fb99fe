"""The drill report: who was paged and when, how long until the acknowledge, and what failed.

Pure: built from a drill incident's record (timeline and pages) for
`GET /api/v1/drills/{id}`, and rendered as text by `pager drill --report` from
that same JSON, so the two always agree.
"""

from __future__ import annotations

import datetime
import typing

from pager import config, models, timeline, values

K = timeline.Kind

FAILURES = {
    K.TARGET_EMPTY: "nobody on call",
    K.STEP_SKIPPED: "step skipped",
    K.NOBODY_ON_CALL: "nobody reached",
    K.NO_CHANNEL: "no usable channel",
    K.NO_POLICY: "no escalation policy",
    K.PAGE_RETRY: "channel failing (retried)",
    K.PAGE_FAILED: "channel failed",
    K.PAGE_UNDELIVERED: "not delivered",
    K.PAGE_UNDELIVERABLE: "person unreachable",
    K.EXHAUSTED: "nobody acknowledged",
}


def _ts(t: datetime.datetime | None) -> str | None:
    return None if t is None else t.astimezone(datetime.UTC).isoformat().replace("+00:00", "Z")


def report(
    detail: models.IncidentDetail,
    pages: typing.Sequence[models.PageRecord],
    cfg: config.Config,
    now: datetime.datetime,
) -> dict[str, typing.Any]:
    inc = detail.incident
    ended = next((e for e in detail.timeline if e.kind == K.DRILL_ENDED), None)
    answered = inc.acknowledged_at
    if answered is None and inc.resolved_at is not None and inc.resolved_by not in (None, "pager"):
        answered = inc.resolved_at
    if ended is not None:
        outcome = (ended.details or {}).get("outcome", "unacknowledged")
    else:
        outcome = "acknowledged" if answered else "running"

    def name(user_id: str | None) -> str | None:
        user = cfg.user(user_id) if user_id else None
        return user.display_name if user else user_id

    return {
        "id": inc.id,
        "number": inc.number,
        "service": inc.service,
        "priority": inc.priority.name,
        "summary": inc.summary,
        "status": str(inc.status),
        "drill": inc.drill,
        "escalation_policy": inc.escalation_policy,
        "started_at": _ts(inc.created_at),
        "ended_at": _ts(ended.at if ended else None),
        "outcome": outcome,
        "acknowledged_by": inc.acknowledged_by,
        "acknowledged_at": _ts(inc.acknowledged_at),
        "seconds_to_acknowledge": None if answered is None else int((answered - inc.created_at).total_seconds()),
        "pages": [
            {
                "user": p.user_id,
                "name": name(p.user_id),
                "channel": p.channel,
                "step": p.step + 1 if p.step >= 0 else None,
                "round": p.round + 1 if p.step >= 0 else None,
                "status": p.status,
                "queued_at": _ts(p.created_at),
                "sent_at": _ts(p.sent_at),
                "delivered_at": _ts(p.delivered_at),
                "seconds_to_send": None
                if p.sent_at is None
                else round((p.sent_at - inc.created_at).total_seconds(), 3),
                "attempts": p.attempts,
                "error": p.error,
            }
            for p in pages
        ],
        "steps": [
            {"at": _ts(e.at), "kind": e.kind, "message": e.message}
            for e in detail.timeline
            if e.kind in (K.ESCALATED, K.STEP_SKIPPED, K.REPEATED, K.EXHAUSTED, K.NOBODY_ON_CALL)
        ],
        "failures": [
            {"at": _ts(e.at), "kind": e.kind, "what": FAILURES[K(e.kind)], "message": e.message}
            for e in detail.timeline
            if e.kind in FAILURES
        ],
        "as_of": _ts(now),
    }


def _clock(ts: str | None, start: datetime.datetime) -> str:
    if ts is None:
        return "—"
    t = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return f"{t:%H:%M:%S} (+{values.format_duration(t - start) if t > start else '0s'})"


def render(r: typing.Mapping[str, typing.Any]) -> str:
    """The report as the CLI prints it, from the JSON `report` returns."""
    start = datetime.datetime.fromisoformat(r["started_at"].replace("Z", "+00:00"))
    lines = [
        f"Drill #{r['number']} on {r['service']} ({r['priority']}): {r['summary']}",
        f"  started   {start:%Y-%m-%d %H:%M:%S} UTC, policy {r['escalation_policy'] or '(none)'}",
    ]
    seconds = r["seconds_to_acknowledge"]
    if seconds is not None:
        took = values.format_duration(datetime.timedelta(seconds=seconds)) if seconds else "0s"
        lines.append(f"  outcome   {r['outcome']}: by {r['acknowledged_by'] or 'someone'} after {took}")
    else:
        lines.append(f"  outcome   {r['outcome']}" + ("" if r["outcome"] == "running" else ": nobody acknowledged"))
    if r["ended_at"]:
        lines.append(f"  ended     {_clock(r['ended_at'], start)}")
    lines += ["", "Paged:"]
    if not r["pages"]:
        lines.append("  nobody")
    for p in r["pages"]:
        step = (
            f"step {p['step']}" + (f" round {p['round']}" if p["round"] and p["round"] > 1 else "")
            if p["step"]
            else "notice"
        )
        what = p["status"] + (f" ({p['error']})" if p["error"] else "")
        lines.append(f"  {p['name']:<16} {p['channel']:<8} {step:<16} sent {_clock(p['sent_at'], start):<20} {what}")
    lines += ["", "What failed:"]
    if not r["failures"]:
        lines.append("  nothing")
    for f in r["failures"]:
        lines.append(f"  {_clock(f['at'], start):<20} {f['what']}: {f['message']}")
    return "\n".join(lines) + "\n"
