"""Every `pager_*` metric, defined once. Names and labels are a contract with dashboards."""

from __future__ import annotations

import datetime
import typing

import prometheus_client

# Human response times: 10 s … 24 h.
HUMAN_BUCKETS = (10, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400)
# pager's own latencies: 1 ms … 10 s.
MACHINE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


prometheus_client.disable_created_metrics()


class Metrics:
    """One set per app, on its own registry, so tests and replicas in one process stay apart."""

    def __init__(self, registry: prometheus_client.CollectorRegistry | None = None) -> None:
        self.registry = registry or prometheus_client.CollectorRegistry()
        r = self.registry
        C, G, H = prometheus_client.Counter, prometheus_client.Gauge, prometheus_client.Histogram
        self.alerts_received = C(
            "pager_alerts_received_total",
            "Alert events accepted, by integration and event status.",
            ["integration", "status"],
            registry=r,
        )
        self.alerts_rejected = C(
            "pager_alerts_rejected_total",
            "Webhook requests refused, by integration and reason.",
            ["integration", "reason"],
            registry=r,
        )
        self.alerts_suppressed = C(
            "pager_alerts_suppressed_total",
            "Firing alert events recorded while something kept them from paging (reason: maintenance).",
            ["service", "reason"],
            registry=r,
        )
        self.incidents_created = C(
            "pager_incidents_created_total", "Incidents opened.", ["service", "priority"], registry=r
        )
        self.alerts_deduplicated = C(
            "pager_alerts_deduplicated_total",
            "Alert events that repeated what an open incident already had.",
            ["service"],
            registry=r,
        )
        self.incidents_open = G(
            "pager_incidents_open",
            "Open incidents, read from the database at scrape time.",
            ["service", "priority", "state"],
            registry=r,
        )
        self.time_to_acknowledge = H(
            "pager_time_to_acknowledge_seconds",
            "Time from incident opened to acknowledged (MTTA).",
            ["service", "priority"],
            buckets=HUMAN_BUCKETS,
            registry=r,
        )
        self.time_to_resolve = H(
            "pager_time_to_resolve_seconds",
            "Time from incident opened to resolved (MTTR).",
            ["service", "priority"],
            buckets=HUMAN_BUCKETS,
            registry=r,
        )
        self.escalations = C("pager_escalations_total", "Escalation steps paged.", ["service", "step"], registry=r)
        self.escalation_unreached = C(
            "pager_escalation_unreached_total",
            "Escalation targets or steps that reached nobody (nobody on call, no usable channel), by reason.",
            ["service", "reason"],
            registry=r,
        )
        self.response_target_breaches = C(
            "pager_response_target_breaches_total",
            "Response targets missed (priorities.*.ack_within, resolve_within), once per incident and target.",
            ["service", "priority", "target"],
            registry=r,
        )
        self.status_updates_overdue = C(
            "pager_status_updates_overdue_total",
            "Status-update reminders: the next update was overdue (priorities.*.update_every).",
            ["service", "priority"],
            registry=r,
        )
        self.stakeholder_mail = C(
            "pager_stakeholder_mail_total",
            "Stakeholder emails (never pages) by outcome: sent, retry, failed.",
            ["outcome"],
            registry=r,
        )
        self.escalation_lateness = H(
            "pager_escalation_lateness_seconds",
            "How late an escalation step fired after it was due.",
            buckets=MACHINE_BUCKETS,
            registry=r,
        )
        self.notifications = C(
            "pager_notifications_total", "Pages by channel and outcome.", ["channel", "outcome"], registry=r
        )
        self.notification_delay = H(
            "pager_notification_delay_seconds",
            "Time from a page being queued to its provider accepting it.",
            ["channel"],
            buckets=MACHINE_BUCKETS + (30, 60, 300, 900, 3600),
            registry=r,
        )  # held and retried pages

        self.mtta = G(
            "pager_mtta_seconds",
            "Mean time to acknowledge over the window, exact, from the database.",
            ["service", "priority", "window"],
            registry=r,
        )
        self.mttr = G(
            "pager_mttr_seconds",
            "Mean time to resolve over the window, exact, from the database.",
            ["service", "priority", "window"],
            registry=r,
        )
        self.response_times_at: datetime.datetime | None = None  # when mtta/mttr were last read
        self.drills = C(
            "pager_drills_total",
            "Drills run to their end, by service and outcome (acknowledged | unacknowledged).",
            ["service", "outcome"],
            registry=r,
        )
        self.postmortems_overdue = G(
            "pager_postmortems_overdue",
            "Post-mortems past their due date and not yet saved, read from the database at scrape time.",
            registry=r,
        )

        self.listener_connected = G(
            "pager_listener_connected",
            "1 while the LISTEN/NOTIFY connection that wakes the engine and sender is up, else 0.",
            registry=r,
        )
        self.listener_reconnects = C(
            "pager_listener_reconnects_total",
            "Times the LISTEN/NOTIFY connection came back after it was lost.",
            registry=r,
        )
        self._listener_was_up = False

    def set_response_times(self, rows: typing.Iterable[typing.Any]) -> None:
        self.mtta.clear()
        self.mttr.clear()
        for row in rows:
            labels = (row.service, row.priority.name, row.window)
            if row.acknowledged and row.mtta is not None:
                self.mtta.labels(*labels).set(row.mtta)
            if row.resolved and row.mttr is not None:
                self.mttr.labels(*labels).set(row.mttr)

    def observe_transition(self, t: typing.Any) -> None:
        """MTTA and MTTR, observed once when an incident is acknowledged or resolved; drills stay out."""
        if getattr(t, "drill", False):
            return
        seconds = max((t.at - t.created_at).total_seconds(), 0.0)
        histogram = self.time_to_acknowledge if t.status == "acknowledged" else self.time_to_resolve
        histogram.labels(t.service, t.priority.name).observe(seconds)

    def listener_state(self, up: bool) -> None:
        """The LISTEN connection went up or down (db.Listener's `on_state`)."""
        if up and self._listener_was_up:
            self.listener_reconnects.inc()
        self._listener_was_up = self._listener_was_up or up
        self.listener_connected.set(1 if up else 0)

    def exposition(self) -> bytes:
        return prometheus_client.generate_latest(self.registry)
