"""Typed application keys: what the handlers find on the app."""

from __future__ import annotations

from aiohttp import web

from pager import clock, config, engine, mailer, metrics, sender
from pager.sender import outbound, stakeholder_mail
from pager.store import acks, changes, heartbeats, maintenance, optouts, store
from pager.store import actions as actions_store
from pager.store import drills as drills_store
from pager.store import postmortems as postmortems_store
from pager.store import reports as reports_store

SETTINGS = web.AppKey("settings", config.Settings)
STORE = web.AppKey("store", store.Store)
CLOCK = web.AppKey("clock", clock.Clock)
METRICS = web.AppKey("metrics", metrics.Metrics)
ENGINE = web.AppKey("engine", engine.Engine)
ACKS = web.AppKey("acks", acks.Acks)
SENDER = web.AppKey("sender", sender.Sender)
STAKEHOLDER_MAIL = web.AppKey("stakeholder_mail", stakeholder_mail.StakeholderMail)
OPTOUTS = web.AppKey("optouts", optouts.OptOuts)
OUTBOUND = web.AppKey("outbound", outbound.Outbound)
# learning from incidents
POSTMORTEMS = web.AppKey("postmortems", postmortems_store.Postmortems)
ACTIONS = web.AppKey("actions", actions_store.Actions)
DRILLS = web.AppKey("drills", drills_store.Drills)
REPORTS = web.AppKey("reports", reports_store.Reports)
MAILER = web.AppKey("mailer", mailer.Mailer)
CHANGES = web.AppKey("changes", changes.Changes)
HEARTBEATS = web.AppKey("heartbeats", heartbeats.Heartbeats)
MAINTENANCE = web.AppKey("maintenance", maintenance.Maintenance)
MAINTENANCE_CACHE = web.AppKey("maintenance_cache", object)  # pager.web.maintenance.Cache
