"""Stakeholders: told by email, never paged. Declared, every status update, the all clear.

A stakeholder group (`stakeholders:` in the file) wants the incidents of some priorities
and services. It is told when such an incident is declared (the engine's first look at it)
or rises into its priorities (the `reassess` timer pager_ingest arms on a raise); from then
on the incident lists the group in `stakeholders`, and the group hears every status update
and the all clear. The mail is composed here and queued in its own outbox
(`stakeholder_mail`), which the mail sender delivers: never throttled with pages, never by
SMS, never with an ack link, never counted as a page.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing

from pager import config, effects, models, plan, updates, values

if typing.TYPE_CHECKING:
    from pager.engine import handlers

ALL_CLEAR = "all_clear"  # timer kind: an incident resolved by a person or an integration; the engine mails it
FOOTER = "-- \npager: for your information; there is nothing to acknowledge."


def _when(t: datetime.datetime | None) -> str:
    return t.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC") if t else "-"


def _name(cfg: config.Config, user_id: str | None) -> str:
    user = cfg.user(user_id) if user_id else None
    return user.display_name if user else (user_id or "nobody yet")


def _one_line(text: str, limit: int = 120) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def _subject(incident: models.Incident, what: str) -> str:
    return f"[{incident.priority.name}] {what}: incident #{incident.number} on {incident.service}"


def _mail(incident: models.Incident, holder: config.Stakeholder, event: str, subject: str, body: str) -> plan.Mail:
    text = f"{body.rstrip()}\n\n{FOOTER} You are told of incidents as {holder.id}.\n"
    return plan.Mail(incident.id, holder.id, event, tuple(holder.emails), subject, text)


def _told(incident: models.Incident, holders: typing.Iterable[config.Stakeholder]) -> plan.Plan:
    return plan.Plan(told=tuple((incident.id, h.id) for h in holders if h.id not in incident.stakeholders))


def _declare(incident: models.Incident, ctx: handlers.Context, *, raised: bool) -> plan.Plan:
    cfg = ctx.config
    new = [h for h in cfg.stakeholders if h.wants(incident.service, incident.priority)]
    new = [h for h in new if h.id not in incident.stakeholders]
    if not new or not incident.status.open or incident.drill:
        return plan.Plan()
    what = f"Now {incident.priority.name}" if raised else "Declared"
    lines = [
        f"Incident #{incident.number} on {incident.service} was {'raised to' if raised else 'declared'} "
        f"{incident.priority.name}"
        + (f" (opened {_when(incident.created_at)})." if raised else f" at {_when(ctx.now)}."),
        "",
        incident.summary.strip(),
        "",
        f"Commander: {_name(cfg, incident.roles.commander)}",
    ]
    every = cfg.priority_policy(incident.priority).update_every
    due = incident.next_update_due or (incident.created_at + every if every else None)  # armed in this same plan
    if due:
        lines.append(f"First status update by {_when(due)}." if not raised else f"Next status update by {_when(due)}.")
    lines.append("Status updates and the all clear will follow by email.")
    mails = tuple(
        _mail(
            incident,
            h,
            "declared",
            _subject(incident, what) + f" - {_one_line(incident.summary)}",
            "\n".join(lines),
        )
        for h in new
    )
    return _told(incident, new) + plan.Plan(mail=mails, effects=(effects.Wake("stakeholder_mail"),))


def declare(incident: models.Incident, ctx: handlers.Context) -> plan.Plan:
    """When the incident opens: every stakeholder group that wants it is told."""
    return _declare(incident, ctx, raised=False)


def declare_raised(incident: models.Incident, ctx: handlers.Context) -> plan.Plan:
    """Its priority rose: the groups it now concerns, not told yet, are."""
    return _declare(incident, ctx, raised=True)


def on_update(incident: models.Incident, update: plan.Update, ctx: handlers.Context) -> plan.Plan:
    """A status update goes to every group told of the incident (and any it concerns now)."""
    cfg = ctx.config
    holders = [
        h for h in cfg.stakeholders if h.id in incident.stakeholders or h.wants(incident.service, incident.priority)
    ]
    if not holders or incident.drill:  # a drill's updates are practice: nobody outside its chain hears them
        return plan.Plan()
    lines = [f"{updates.LABELS['status']}: {update.status}"]
    lines += [f"{updates.LABELS[k]}: {v}" for k in updates.PARTS[1:] if (v := getattr(update, k))]
    lines.append(
        f"Next update: by {_when(update.next_update_at)}" if update.next_update_at else "Next update: none promised"
    )
    lines += [
        "",
        f"Posted by {_name(cfg, update.by)} at {_when(ctx.now)}. Incident #{incident.number} on {incident.service}, "
        f"{incident.priority.name}, opened {_when(incident.created_at)}; commander: {_name(cfg, incident.roles.commander)}.",
    ]
    subject = _subject(incident, "Update") + f" - {_one_line(update.status)}"
    mails = tuple(_mail(incident, h, "update", subject, "\n".join(lines)) for h in holders)
    return _told(incident, holders) + plan.Plan(mail=mails, effects=(effects.Wake("stakeholder_mail"),))


def all_clear(incident: models.Incident, ctx: handlers.Context) -> plan.Plan:
    """The incident resolved: the groups told of it hear the all clear."""
    cfg = ctx.config
    holders = [h for h in cfg.stakeholders if h.id in incident.stakeholders]
    if not holders:
        return plan.Plan()
    recovered = incident.recovered_at or incident.resolved_at
    lines = [f"Incident #{incident.number} on {incident.service} is resolved."]
    if recovered:
        took = values.format_duration(max(recovered - incident.created_at, datetime.timedelta(seconds=1)))
        lines.append(f"It opened {_when(incident.created_at)} and recovered {_when(recovered)} ({took}).")
    if incident.recovered_at and incident.resolved_by == "pager":
        held = values.format_duration(
            max((incident.resolved_at or ctx.now) - incident.recovered_at, datetime.timedelta(seconds=1))
        )
        lines.append(f"No alert fired again for {held}, so it resolved by itself at {_when(incident.resolved_at)}.")
    elif incident.resolved_by:
        lines.append(f"Resolved by {_name(cfg, incident.resolved_by)} at {_when(incident.resolved_at)}.")
    lines.append(f"Commander: {_name(cfg, incident.roles.commander)}")
    subject = _subject(incident, "All clear") + " resolved"
    mails = tuple(_mail(incident, h, "all_clear", subject, "\n".join(lines)) for h in holders)
    return plan.Plan(mail=mails, effects=(effects.Wake("stakeholder_mail"),))


def on_all_clear(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    incident = timer.incident
    if incident is None or incident.status is not models.IncidentStatus.RESOLVED:
        return plan.Plan()
    return all_clear(incident, ctx)


def resolved(incident: models.Incident, now: datetime.datetime, actor: str = "pager") -> models.Incident:
    """The incident as it is once this plan resolves it, for the all-clear text."""
    return dataclasses.replace(incident, status=models.IncidentStatus.RESOLVED, resolved_at=now, resolved_by=actor)
