"""Typed application keys: what the handlers find on the app."""

from __future__ import annotations

from aiohttp import web

from pager import clock, config, engine, metrics, sender
from pager.sender import mail
from pager.store import acks, store

SETTINGS = web.AppKey("settings", config.Settings)
STORE = web.AppKey("store", store.Store)
CLOCK = web.AppKey("clock", clock.Clock)
METRICS = web.AppKey("metrics", metrics.Metrics)
ENGINE = web.AppKey("engine", engine.Engine)
ACKS = web.AppKey("acks", acks.Acks)
SENDER = web.AppKey("sender", sender.Sender)
MAILER = web.AppKey("mailer", mail.Mailer)
