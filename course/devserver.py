"""Start ``panel serve course/`` on a free loopback port: for the browser tests and the bench."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def log_path(port: int) -> Path:
    """Where the server on ``port`` writes its output (one file per port: two test runs at once
    must not write over each other's log, which the browser tests read)."""
    return Path(tempfile.gettempdir()) / f"course-server-{port}.log"


BROWSER_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(
    port: int,
    *extra: str,
    timeout: float = 120,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """``panel serve course/`` as an instructor would run it (``make serve WORKERS=N``: N
    processes on the port, see course/workers.py); returns once /course answers. ``env`` adds
    to the server's environment; unless it says otherwise, the server keeps its class view's
    data in a folder of its own (``process.data_dir``)."""
    launcher = ["panel", "serve"] if workers == 1 else ["course.workers", str(workers)]
    command = [
        sys.executable,
        "-m",
        *launcher,
        "course/",
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--allow-websocket-origin",
        f"127.0.0.1:{port}",
        *extra,
    ]
    # The server's log goes to a file: a pipe nobody reads fills up, and then the server
    # blocks on its next log line.
    log = open(log_path(port), "w")  # noqa: SIM115 (the server writes to it for as long as it runs)
    environment = {**os.environ, **(env or {})}
    environment.setdefault("COURSE_DATA", tempfile.mkdtemp(prefix="course-data-"))
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=environment
    )
    process.data_dir = Path(environment["COURSE_DATA"])  # type: ignore[attr-defined]
    try:
        wait_until_serving(f"http://127.0.0.1:{port}/course", timeout, process)
    except RuntimeError:
        process.kill()
        raise
    return process


def wait_until_serving(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    """Return once ``url`` answers 200, within ``timeout`` seconds (a bound for a loaded
    machine, not a wait). Until the port takes connections it is polled with a bare connect;
    then one GET waits for its answer, however long the page takes to build: a GET given up
    and sent again makes a busy server build the page once more, and again, and never catch up.
    Raises RuntimeError with the server's log if ``process`` ends first."""
    parts = urllib.parse.urlsplit(url)
    deadline = time.time() + timeout
    while True:
        if process is not None and process.poll() is not None:
            found = parts.port is not None and log_path(parts.port).exists()
            log = log_path(parts.port).read_text() if found else ""
            raise RuntimeError(f"the server at {url} exited ({process.returncode}):\n{log}")
        try:
            socket.create_connection((parts.hostname, parts.port), timeout=1).close()
            break
        except OSError:
            if time.time() > deadline:
                raise RuntimeError(
                    f"nothing took connections at {url} in {timeout:.0f} s"
                ) from None
            time.sleep(0.2)
    while True:
        try:
            with urllib.request.urlopen(url, timeout=max(1.0, deadline - time.time())) as answer:
                if answer.status == 200:
                    return
        except OSError as error:
            if time.time() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f} s") from error
            time.sleep(0.2)  # refused while the server starts up (e.g. behind a proxy)


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
