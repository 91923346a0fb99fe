"""The web UI in a real browser: Playwright driving Debian's Chromium against a running pager."""
