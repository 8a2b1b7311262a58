"""A real course server and Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from course.devserver import BROWSER_ARGS, free_port, log_path, serve, stop

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="session")
def server():
    port = free_port()
    # A closed tab's session is destroyed within a few seconds, as with `make serve`; a page
    # whose websocket has not connected within six seconds would lose its session.
    process = serve(port, "--check-unused-sessions", "1000", "--unused-session-lifetime", "6000")
    yield SimpleNamespace(
        url=f"http://127.0.0.1:{port}/course", pid=process.pid, log=log_path(port)
    )
    stop(process)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run 'make test' (it installs it)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": BROWSER_ARGS,
    }


@pytest.fixture
def course(page, server):
    """A page that records console errors and any request that leaves this machine."""
    yield prepare(page, server)
    assert not page.errors, page.errors
    assert not page.external, f"requests left the machine: {page.external}"


def prepare(page, server):
    """Make ``page`` a course page of ``server`` (a ``SimpleNamespace(url, pid, log)``): it
    records console errors and requests that leave the machine; ``open_page`` loads it."""
    page.errors = []
    page.external = []
    page.opened = []
    page.on("console", lambda m: _console(page, m))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else page.external.append(r.url))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.set_default_timeout(20_000)
    # Opening a page builds its sims (a digits sim loads and fits its probes first): on a
    # loaded machine that can take longer than a click may.
    page.set_default_navigation_timeout(90_000)
    page.server = server.url
    page.server_pid = server.pid
    page.server_log = server.log
    return page


def _console(page, message):
    if message.type == "error":
        page.errors.append(message.text)
    if "is now open" in message.text:
        page.opened.append(message.text)


def open_page(page, query: str = "") -> None:
    """Load a course address and wait until its websocket is open."""
    page.opened.clear()
    page.goto(page.server + query)
    deadline = time.time() + 60  # an upper bound on a loaded machine, not a wait
    while not page.opened and time.time() < deadline:
        page.wait_for_timeout(50)
    assert page.opened, "the websocket never opened"
    if "view=" not in query:  # an open websocket is not yet a drawn page: wait for its sims
        drawn = page.locator("[data-state], ol.chapter-list a").first  # (or the home page)
        drawn.wait_for(state="attached", timeout=90_000)
