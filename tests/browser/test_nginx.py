"""The class recipe beyond one machine (deploy/): Debian's nginx in front of two course servers
on this machine, and a chapter driven through it in Chromium."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from course.devserver import ROOT, free_port, log_path, serve, stop, wait_until_serving
from tests.browser.conftest import open_page, prepare
from tests.browser.test_course import status_text, wait_until

pytestmark = pytest.mark.browser

NGINX = os.environ.get("NGINX", "/usr/sbin/nginx")

sys.path.insert(0, str(ROOT / "deploy"))
from render import render  # noqa: E402


@pytest.fixture(scope="module")
def behind_nginx(tmp_path_factory):
    if not Path(NGINX).exists():
        pytest.fail(f"nginx not found at {NGINX}: run 'make nginx' (make test installs it)")
    prefix = tmp_path_factory.mktemp("nginx")
    public = free_port()
    origin = ("--use-xheaders", "--allow-websocket-origin", f"127.0.0.1:{public}")
    ports = [free_port(), free_port()]
    servers = [serve(port, *origin) for port in ports]
    conf = prefix / "nginx.conf"
    conf.write_text(render(str(public), [f"127.0.0.1:{p}" for p in ports], prefix, True))
    nginx = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf)])
    url = f"http://127.0.0.1:{public}/course"
    try:
        wait_until_serving(url, 120, nginx)
    except RuntimeError as error:
        raise AssertionError((prefix / "error.log").read_text()) from error
    yield SimpleNamespace(url=url, ports=ports, prefix=prefix)
    nginx.terminate()
    nginx.wait(timeout=15)
    for server in servers:
        stop(server)


def opened(port: int) -> int:
    return log_path(port).read_text().count("WebSocket connection opened")


def upstreams(prefix: Path, request: str) -> list[str]:
    """The course servers (host:port) nginx sent ``request`` (e.g. 'GET /course/ws') to."""
    log = (prefix / "access.log").read_text()
    return re.findall(rf'"{re.escape(request)}[ ?].*? upstream=(\S+)', log)


def test_a_chapter_trains_through_nginx_on_one_of_two_servers(behind_nginx, page):
    before = [opened(p) for p in behind_nginx.ports]
    course = prepare(page, SimpleNamespace(url=behind_nginx.url, pid=None, log=None))
    open_page(course, "?chapter=collapse")
    course.get_by_role("button", name="Train").click()
    step = course.locator('td[data-key="step"]')
    wait_until(course, lambda: int(step.inner_text().replace(",", "") or 0) > 50, message="50")
    course.get_by_role("button", name="Pause").click()
    # A collapsed run's status keeps data-state="collapsed" once paused; its text says Paused.
    wait_until(course, lambda: "Paused" in status_text(course), message="the page to pause")
    assert not course.errors, course.errors
    assert not course.external, f"requests left the machine: {course.external}"
    new = [opened(p) - b for p, b in zip(behind_nginx.ports, before, strict=True)]
    assert sorted(new) == [0, 1], new  # the page's websocket reached exactly one server
    served = f"127.0.0.1:{behind_nginx.ports[new.index(1)]}"
    # nginx logs a websocket when it closes: close the page, then wait for its line.
    course.close()
    deadline = time.time() + 60
    while not upstreams(behind_nginx.prefix, "GET /course/ws") and time.time() < deadline:
        time.sleep(0.1)
    assert upstreams(behind_nginx.prefix, "GET /course/ws") == [served]
    # The page (after the fixture's own GET /course, which any server may answer) and its
    # websocket went to the same server: ip_hash keeps a student on one process.
    assert upstreams(behind_nginx.prefix, "GET /course")[-1] == served
