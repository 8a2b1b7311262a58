"""A real course server and Debian's Chromium, driven by Playwright."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
LOCAL = ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:", "about:")

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(port: int, *extra: str) -> subprocess.Popen:
    """``panel serve course/`` as an instructor would run it, on a loopback port."""
    command = [
        sys.executable,
        "-m",
        "panel",
        "serve",
        "course/",
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--allow-websocket-origin",
        f"127.0.0.1:{port}",
        *extra,
    ]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/course", timeout=2) as r:
                if r.status == 200:
                    return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(process.stdout.read()) from None
            time.sleep(0.3)
    process.kill()
    raise RuntimeError("the course server did not start within 60 s")


@pytest.fixture(scope="session")
def server():
    port = free_port()
    process = serve(port)
    yield f"http://127.0.0.1:{port}/course"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run 'make test' (it installs it)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture
def course(page, server):
    """A page that records console errors and any request that leaves this machine."""
    page.errors = []
    page.external = []
    page.opened = []
    page.on("console", lambda m: _console(page, m))
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.on("request", lambda r: None if r.url.startswith(LOCAL) else page.external.append(r.url))
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.set_default_timeout(20_000)
    page.server = server
    yield page
    assert not page.errors, page.errors
    assert not page.external, f"requests left the machine: {page.external}"


def _console(page, message):
    if message.type == "error":
        page.errors.append(message.text)
    if "is now open" in message.text:
        page.opened.append(message.text)


def open_page(page, query: str = "") -> None:
    """Load a course address and wait until its websocket is open."""
    page.opened.clear()
    page.goto(page.server + query)
    deadline = time.time() + 20
    while not page.opened and time.time() < deadline:
        page.wait_for_timeout(50)
    assert page.opened, "the websocket never opened"
