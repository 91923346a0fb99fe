"""structlog set-up: readable lines in a terminal, JSON lines in production."""

from __future__ import annotations

import logging
import sys

import structlog

_json = False


def json_configured() -> bool:
    """Whether `configure` chose JSON lines (a process the daemon starts logs the same way)."""
    return _json


def configure(*, json: bool | None = None, level: int = logging.INFO) -> None:
    global _json
    if json is None:
        json = not sys.stderr.isatty()
    _json = json
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info if json else structlog.processors.StackInfoRenderer(),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
        cache_logger_on_first_use=True,
    )
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
