"""Action items: what an incident's review decided to change, each with one owner and a due date.

Pure: validation of what a client sends, when an overdue item reminds its owner
(09:00 the morning after its due date, in the owner's own zone, so the mail
arrives in working hours), and the reminder's text.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing
import zoneinfo

from pager import config, oncall

REMIND_AT = datetime.time(9, 0)
STATUSES = ("open", "done")


@dataclasses.dataclass(frozen=True, slots=True)
class ActionItem:
    id: int
    incident_id: int
    title: str
    owner: str
    due: datetime.date
    status: str  # open | done
    created_at: datetime.datetime
    created_by: str
    done_at: datetime.datetime | None
    done_by: str | None

    @classmethod
    def from_row(cls, row: typing.Mapping[str, typing.Any]) -> ActionItem:
        return cls(**row)

    def overdue(self, now: datetime.datetime, cfg: config.Config) -> bool:
        return self.status == "open" and now >= remind_at(self.due, cfg, self.owner)


def parse_due(value: object) -> datetime.date:
    """`YYYY-MM-DD`, the day by the end of which the item should be done."""
    if not isinstance(value, str):
        raise ValueError(f"expected a date such as 2026-12-01, got {value!r}")
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"expected a date such as 2026-12-01, got {value!r}") from None


def remind_at(due: datetime.date, cfg: config.Config, owner: str) -> datetime.datetime:
    """09:00 the day after `due` in the owner's time zone (UTC for an unknown owner)."""
    user = cfg.user(owner)
    zone = zoneinfo.ZoneInfo(user.time_zone if user else "UTC")
    return oncall.to_utc(datetime.datetime.combine(due + datetime.timedelta(days=1), REMIND_AT), zone)


def reminder(
    item_id: int, title: str, due: str, incident_id: int, summary: str, name: str, base_url: str
) -> tuple[str, str]:
    """(subject, body) of the mail that reminds an owner of an overdue item."""
    subject = f"[pager] Action item #{item_id} is overdue: {' '.join(title.split())[:120]}"
    body = "\n".join(
        [
            f"Hello {name},",
            "",
            f"the action item #{item_id} from incident #{incident_id} ({' '.join(summary.split())}) was due on {due}:",
            "",
            f"  {title}",
            "",
            f"When it is done, mark it so on the incident's page, {base_url}/incidents/{incident_id}, or:",
            f"  curl -X POST -H 'Authorization: Bearer …' {base_url}/api/v1/actions/{item_id}/done",
            f"The incident's post-mortem: {base_url}/api/v1/incidents/{incident_id}/postmortem",
            "",
            "-- ",
            "pager: reminders repeat while the item is open.",
        ]
    )
    return subject, body + "\n"
