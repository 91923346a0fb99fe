"""The report's picture: the hour-of-week heat map and the MTTR trend, drawn by matplotlib (Agg backend).

matplotlib is an optional extra (`pip install 'pager[reports]'`): without it the
report says the picture is not available and why, and everything else works.
Drawn from the report's JSON, with the object API (no pyplot state), so it is
safe to run in a worker thread beside the event loop.
"""

from __future__ import annotations

import datetime
import importlib.util
import io
import typing

PRIORITY_COLOURS = {"P0": "#c0392b", "P1": "#e67e22", "P2": "#2980b9", "P3": "#7f8c8d"}
INSTALL = "pip install 'pager[reports]'"


def available() -> tuple[bool, str | None]:
    if importlib.util.find_spec("matplotlib") is None:
        return False, f"matplotlib is not installed: {INSTALL}"
    return True, None


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else seconds / 60


def _when(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def render(report: typing.Mapping[str, typing.Any], fmt: str = "svg") -> bytes:
    """The picture as SVG (or PNG, for mail) bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import dates as mdates
    from matplotlib import figure

    fig = figure.Figure(figsize=(11, 8.2), layout="constrained")
    heat_ax, trend_ax = fig.subplots(2, 1, height_ratios=[1, 1.05])
    o = report["response"]["overall"]

    def dur(seconds: float | None) -> str:
        if seconds is None:
            return "—"
        m = int(round(seconds)) // 60
        return f"{m // 60}h{m % 60:02d}m" if m >= 60 else f"{m}m{int(round(seconds)) % 60:02d}s"

    scope = f"service {report['service']}" if report["service"] else "all services"
    fig.suptitle(
        f"Incidents {report['from'][:10]} to {report['until'][:10]} ({report['since']}, {scope}): "
        f"{o['incidents']:,} incidents, MTTA {dur(o['mtta_seconds'])}, MTTR {dur(o['mttr_seconds'])}",
        fontsize=12,
    )

    h = report["hour_of_week"]
    matrix = h["matrix"]
    top = max((n for row in matrix for n in row), default=0)
    low = min((n for row in matrix for n in row), default=0)  # the scale spans what happened, so a pattern shows
    image = heat_ax.imshow(matrix, cmap="YlOrRd", aspect="auto", vmin=low, vmax=max(top, low + 1))
    heat_ax.set_xticks(range(24), [f"{hour:02d}" for hour in range(24)], fontsize=8)
    heat_ax.set_yticks(range(7), h["days"])
    for d, row in enumerate(matrix):
        for hour, n in enumerate(row):
            if n:
                heat_ax.text(
                    hour,
                    d,
                    str(n),
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if n > low + (top - low) * 0.6 else "black",
                )
    zones = sorted(set(h["zones"].values())) or ["UTC"]
    heat_ax.set_title(f"When incidents open: hour of week, local time ({', '.join(zones)})", fontsize=11)
    heat_ax.set_xlabel("hour of day")
    ww = report["weekday_weekend"]
    if ww["weekday_per_day"] is not None and ww["weekend_per_day"] is not None:
        heat_ax.text(
            1.0,
            -0.22,
            f"per day: weekdays {ww['weekday_per_day']:g}, weekends {ww['weekend_per_day']:g}",
            transform=heat_ax.transAxes,
            ha="right",
            fontsize=8,
        )
    fig.colorbar(image, ax=heat_ax, label="incidents", shrink=0.9)

    trend = report["mttr_trend"]["by_priority"]
    previous = report["response"]["by_priority"]
    drawn = False
    for prio, points in sorted(trend.items()):
        xs = [_when(p["start"]) for p in points if p["mttr_seconds"] is not None]
        ys = [_minutes(p["mttr_seconds"]) for p in points if p["mttr_seconds"] is not None]
        if not xs:
            continue
        colour = PRIORITY_COLOURS.get(prio, "black")
        trend_ax.plot(xs, ys, marker="o", markersize=3, linewidth=1.5, color=colour, label=f"{prio} MTTR")
        before = previous.get(prio, {}).get("previous", {}).get("mttr_seconds")
        if before is not None:
            trend_ax.axhline(
                before / 60, color=colour, linestyle=":", linewidth=1, label=f"{prio} previous {report['since']}"
            )
        drawn = True
    trend_ax.set_title(
        f"MTTR trend: mean time to resolve per {report['mttr_trend']['bucket']}, by priority", fontsize=11
    )
    trend_ax.set_ylabel("minutes")
    trend_ax.set_xlim(_when(report["from"]), _when(report["until"]))
    trend_ax.xaxis.set_major_formatter(mdates.DateFormatter("%b %d"))
    trend_ax.grid(True, alpha=0.3)
    if drawn:
        trend_ax.legend(fontsize=8, ncols=4, loc="lower left")
    else:
        trend_ax.text(0.5, 0.5, "no resolved incidents in this period", ha="center", transform=trend_ax.transAxes)
    trend_ax.set_ylim(bottom=0)

    out = io.BytesIO()
    metadata = {"Date": None} if fmt == "svg" else {}
    # text stays text in the SVG (searchable, a tenth of the size, faster) rather than a path per glyph
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(out, format=fmt, metadata=metadata, dpi=110)
    return out.getvalue()
