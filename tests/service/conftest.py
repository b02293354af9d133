"""Fixtures of the browser tests: headless Debian chromium through Playwright, and a fresh page
that fails its test on any script or console error.

The browser tests skip only when /usr/bin/chromium or the playwright package is missing; the
Makefile installs both.
"""

from __future__ import annotations

import importlib.util
import os

import pytest
from service_harness import VIEWPORT

CHROMIUM = "/usr/bin/chromium"
# The machine's network is closed: without these chromium waits on connections it cannot make.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"{CHROMIUM} is missing (Debian package chromium; `make setup` installs it)")
    if importlib.util.find_spec("playwright") is None:
        pytest.skip("the playwright package is missing (`make setup` installs the dev extra)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=CHROMIUM, headless=True,
                                      args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh page (own sessionStorage); fails the test on any script error or console error
    (CSP violations show up there), except the browser's own note on each 4xx answer."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    pg = context.new_page()
    problems: list[str] = []

    def console(msg) -> None:
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            problems.append(f"console: {msg.text}")

    pg.on("pageerror", lambda err: problems.append(f"page error: {err}"))
    pg.on("console", console)
    yield pg
    context.close()
    assert not problems, problems
