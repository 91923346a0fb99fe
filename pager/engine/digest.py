"""The report digest as a timer kind: every `reports.digest.every`, the incident report mailed with its picture.

The handler only queues the mail (kind `digest`, with the period in `data`); the
mailer renders the report for exactly that period when it sends it, so a retried
send says the same thing. The timer is armed when the daemon starts if it is not
armed yet, and re-arms itself; with no digest configured it is dropped.
"""

from __future__ import annotations

import datetime
import typing

from pager import config, effects, models, plan

if typing.TYPE_CHECKING:
    from pager.engine import handlers

KIND = "report_digest"
SUBJECT = "digest"


def timers(cfg: config.Config, now: datetime.datetime) -> list[plan.SetTimer]:
    digest = cfg.reports.digest
    if digest is None:
        return []
    return [plan.SetTimer(KIND, SUBJECT, now + digest.every, models.Priority.P3)]


def on_due(timer: models.Timer, ctx: handlers.Context) -> plan.Plan:
    digest = ctx.config.reports.digest
    if digest is None:
        return plan.Plan(effects=(effects.Log("info", "report digest no longer configured; dropped"),))
    since = digest.since or digest.every
    mail = plan.Notice(
        "digest",
        tuple(digest.emails),
        data={"since": since.total_seconds(), "until": timer.due_at.isoformat(), "service": digest.service},
    )
    following = timer.due_at + digest.every
    while following <= ctx.now:
        following += digest.every  # periods missed while pager was down are not sent in a burst
    return plan.Plan(notices=(mail,), set_timers=(plan.SetTimer(KIND, SUBJECT, following, models.Priority.P3),))
