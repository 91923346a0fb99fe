"""Using the web UI as a browser without JavaScript would: forms, their CSRF tokens, the sign-in link."""

from __future__ import annotations

import asyncio
import html
import re
import typing

from pager.web import keys
from pager.web.ui import uikeys

_CSRF = re.compile(r'name="csrf" value="([^"]+)"')
LINK = re.compile(r"https?://\S+/signin/[A-Za-z0-9_-]+(?:\?next=\S+)?")


def csrf(page: str) -> str:
    m = _CSRF.search(page)
    assert m, "the page has no form with a CSRF token"
    return html.unescape(m[1])


async def settle(client: typing.Any) -> None:
    """Wait for the sign-in links the app is sending in the background."""
    tasks = client.server.app[uikeys.TASKS]
    if tasks:
        await asyncio.wait(tasks)


def link_path(url: str) -> str:
    return "/signin/" + url.split("/signin/", 1)[1]


async def redeem(client: typing.Any, path: str, **form: str) -> typing.Any:
    """Open a sign-in link and press its button; answers the POST's response (303 on success)."""
    page = await client.get(path)
    if page.status != 200:
        return page
    return await client.post(path, data={"csrf": csrf(await page.text()), **form}, allow_redirects=False)


async def issue_link(client: typing.Any, user: str = "alice") -> str:
    """A sign-in link's path, issued straight from the store at the app's now (as the form would)."""
    app = client.server.app
    token = await app[uikeys.SESSIONS].issue_link(user, app[keys.CLOCK].now())
    assert token is not None
    return f"/signin/{token}"


async def sign_in(client: typing.Any, user: str = "alice") -> str:
    """Signed in as `user` through a link; answers the session's CSRF token."""
    resp = await redeem(client, await issue_link(client, user))
    assert resp.status == 303, await resp.text()
    page = await client.get("/")
    assert page.status == 200
    return csrf(await page.text())
