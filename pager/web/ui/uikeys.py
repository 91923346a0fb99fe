"""Typed application keys of the web UI."""

from __future__ import annotations

import asyncio

from aiohttp import web

from pager.store import sessions
from pager.web.ui import hub

SESSIONS = web.AppKey("ui_sessions", sessions.Sessions)
HUB = web.AppKey("ui_hub", hub.Hub)
TASKS = web.AppKey("ui_tasks", set[asyncio.Task[None]])
