"""Start ``panel serve course/`` on a free loopback port: for the browser tests and the bench."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
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
    timeout: float = 60,
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
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/course", timeout=2) as r:
                if r.status == 200:
                    return process
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(log_path(port).read_text()) from None
            time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"the course server did not start within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
