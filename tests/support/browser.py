"""Driving Debian's Chromium with Playwright: launch flags, screenshots, page width, axe-core.

Playwright never downloads a browser here: it is /usr/bin/chromium from `apt-get install chromium`
(`.ci/run` installs it), and axe-core comes from the npm registry (`.ci/run` puts it under
build/npm). Screenshots go to build/screenshots/ (or $PAGER_SCREENSHOTS); the run lists them.
"""

from __future__ import annotations

import os
import pathlib
import typing

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM = pathlib.Path(os.environ.get("PAGER_CHROMIUM", "/usr/bin/chromium"))
AXE = pathlib.Path(os.environ.get("PAGER_AXE_JS", ROOT / "build/npm/node_modules/axe-core/axe.min.js"))
SHOTS = pathlib.Path(os.environ.get("PAGER_SCREENSHOTS", ROOT / "build/screenshots"))
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}

taken: list[pathlib.Path] = []


def missing() -> str | None:
    """Why browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install -y chromium; .ci/run does)"
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


async def launch(playwright: typing.Any) -> typing.Any:
    return await playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=FLAGS)


async def screenshot(page: typing.Any, viewport: str, name: str) -> pathlib.Path:
    path = SHOTS / viewport / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(path), full_page=True)
    taken.append(path)
    return path


async def overflow(page: typing.Any) -> tuple[int, int]:
    """(document width, viewport width): the page scrolls sideways when the first is larger."""
    return tuple(await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]"))


async def axe(page: typing.Any) -> list[dict[str, typing.Any]]:
    """axe-core's violations on the page as it is now (the context must bypass CSP to load it)."""
    if not await page.evaluate("typeof window.axe !== 'undefined'"):
        await page.add_script_tag(path=str(AXE))
    result = await page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map(n => n.target.join(' '))}))"
    )
    return typing.cast(list[dict[str, typing.Any]], result)
