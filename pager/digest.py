"""The report digest mail: the incident report for a period as text, with its picture attached.

Rendered by the mailer when it sends a queued `digest` (the timer kind in
`pager/engine/digest.py` queues it with its period), so a retried send says the
same thing. Without matplotlib the mail says so instead of attaching a picture.
"""

from __future__ import annotations

import datetime

from pager import config, report_picture, reporting, reports
from pager import mailer as mailer_mod
from pager.store import notices as notices_store
from pager.store import reports as reports_store


def renderer(store: reports_store.Reports, settings: config.Settings) -> mailer_mod.Renderer:
    async def render(m: notices_store.Queued) -> mailer_mod.Composed:
        since = datetime.timedelta(seconds=float(m.data["since"]))
        until = datetime.datetime.fromisoformat(str(m.data["until"]))
        service = m.data.get("service")
        data = await reporting.report(store, settings.config, since, until, service)
        text = reports.render(data)
        base = settings.config.server.base_url()
        body = (
            f"The incident report for the {data['since']} to {data['until'][:10]}"
            + (f" (service {service})" if service else "")
            + f", for your retrospective.\n\n{text}\n"
            f"The same as JSON: {base}/api/v1/reports/incidents?since={data['since']}"
            + (f"&service={service}" if service else "")
            + "\n\n-- \npager: sent every reports.digest.every\n"
        )
        attachments: tuple[tuple[str, str, bytes], ...] = ()
        if report_picture.available()[0]:
            attachments = (("incidents.png", "image/png", await reporting.picture(data, "png")),)
        o = data["response"]["overall"]
        subject = f"[pager] Incident report {data['from'][:10]} to {data['until'][:10]}: {o['incidents']} incidents" + (
            f" on {service}" if service else ""
        )
        return mailer_mod.Composed(subject, body, attachments)

    return render
