"""Serve the course from N processes on one port, with connections spread evenly over them.

``panel serve --num-procs N`` forks N processes that share one listening socket, and Linux
hands a new connection to whichever process is waiting on it last: measured here, 29 of 30
simulated students landed in the same process. Each worker started below binds its own socket
with ``SO_REUSEPORT`` instead, and the kernel spreads connections over the sockets by their
addresses (a session's page and websocket are separate connections: Bokeh builds the session
again in the websocket's process, so the page works wherever each lands).

    python -m course.workers N [panel serve arguments...]

runs ``panel serve`` N times with those arguments; Ctrl+C or SIGTERM stops them all.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

MAX_WORKERS = 16


def reuse_port() -> None:
    """Make this process's Bokeh server bind its port with SO_REUSEPORT."""
    import bokeh.server.server
    from tornado.netutil import bind_sockets

    def bind(address: str | None, port: int) -> tuple[list, int]:
        sockets = bind_sockets(port, address=address or "", reuse_port=True)
        return sockets, sockets[0].getsockname()[1]

    bokeh.server.server.bind_sockets = bind


def worker(argv: list[str]) -> int:
    """One process: ``panel serve`` with ``argv``, on a shared port."""
    reuse_port()
    from panel.command import main

    sys.argv = ["panel", "serve", *argv]
    return main() or 0


def serve(workers: int, argv: list[str]) -> int:
    """Start ``workers`` processes and wait; stopping this one stops them all."""
    command = [sys.executable, "-m", "course.workers", "--worker", *argv]
    processes = [subprocess.Popen(command) for _ in range(workers)]

    def stop(*_: object) -> None:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()

    signal.signal(signal.SIGTERM, lambda *a: (stop(), sys.exit(0)))
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        stop()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    failed = [p.returncode for p in processes if p.returncode not in (0, -signal.SIGTERM)]
    return failed[0] if failed else 0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["--worker"]:
        return worker(args[1:])
    try:
        workers = int(args[0])
        if not 1 <= workers <= MAX_WORKERS:
            raise ValueError
    except (IndexError, ValueError):
        print(
            f"usage: python -m course.workers N [panel serve arguments], N from 1 to {MAX_WORKERS}",
            file=sys.stderr,
        )
        return 2
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    return serve(workers, args[1:])


if __name__ == "__main__":
    sys.exit(main())
