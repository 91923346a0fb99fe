"""What a decision asks the daemon to do once its writes are committed: count, observe, log, wake.

Pure decisions (escalation, timers, the sender's plans) return these instead of
touching metrics or loggers themselves, so a transaction that fails and is
retried counts once, and nothing is logged about work that was rolled back.
`pager.metrics.Metrics.emit` and `emit` below carry them out, after COMMIT.
"""

from __future__ import annotations

import dataclasses
import typing

import structlog

log = structlog.get_logger("pager")


@dataclasses.dataclass(frozen=True, slots=True)
class Count:
    """Add `n` to the counter `metric` (an attribute of `pager.metrics.Metrics`) with these label values."""

    metric: str
    labels: tuple[str, ...] = ()
    n: float = 1


@dataclasses.dataclass(frozen=True, slots=True)
class Observe:
    """One observation of the histogram `metric`."""

    metric: str
    value: float
    labels: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Log:
    """A structured log line: `level` is warning, error or info."""

    level: str
    event: str
    fields: tuple[tuple[str, typing.Any], ...] = ()


@dataclasses.dataclass(frozen=True, slots=True)
class Wake:
    """Wake a loop of this replica (`engine` or `sender`) now rather than at its next timer."""

    loop: str


Effect = Count | Observe | Log | Wake


def warning(event: str, **fields: typing.Any) -> Log:
    return Log("warning", event, tuple(fields.items()))


def error(event: str, **fields: typing.Any) -> Log:
    return Log("error", event, tuple(fields.items()))


def emit(
    effects: typing.Iterable[Effect],
    metrics: typing.Any,
    wake: typing.Mapping[str, typing.Callable[[], None]] | None = None,
) -> None:
    """Carry out committed effects: metrics on `metrics`, log lines, wake-ups through `wake`."""
    for e in effects:
        if isinstance(e, Count):
            metric = getattr(metrics, e.metric)
            (metric.labels(*e.labels) if e.labels else metric).inc(e.n)
        elif isinstance(e, Observe):
            metric = getattr(metrics, e.metric)
            (metric.labels(*e.labels) if e.labels else metric).observe(e.value)
        elif isinstance(e, Log):
            getattr(log, e.level)(e.event, **dict(e.fields))
        elif isinstance(e, Wake) and wake is not None and e.loop in wake:
            wake[e.loop]()
