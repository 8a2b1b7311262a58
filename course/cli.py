"""``making-views-agree``: the installed course's command.

    making-views-agree serve [--port 5006] [--address localhost] [--workers 1]
                             [--origin HOST:PORT ...] [--data DIR] [--max-training N]
    making-views-agree check [SLUG...]      # every sim to the state its lesson promises
    making-views-agree bench [SLUG...]      # headless steps per second of each sim
    making-views-agree load [--url URL | --serve] [--students N] ...   # a simulated class

``serve`` serves the installed course as ``make serve`` serves a checkout.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

COURSE = Path(__file__).resolve().parent  # the installed course package: panel serves it
SERVE_FLAGS = ["--check-unused-sessions", "2000", "--unused-session-lifetime", "4000"]


def serve_command(port: int, address: str, workers: int, origins: list[str]) -> list[str]:
    """The command line ``serve`` runs (one process per worker, see course/workers.py)."""
    allowed = [f"{address}:{port}", *origins]
    return [
        sys.executable,
        "-m",
        "course.workers",
        str(workers),
        str(COURSE),
        "--port",
        str(port),
        "--address",
        address,
        *(flag for origin in allowed for flag in ("--allow-websocket-origin", origin)),
        *SERVE_FLAGS,
    ]


def serve(args: argparse.Namespace) -> int:
    problem = None
    if not 1 <= args.port <= 65535:
        problem = f"--port must be between 1 and 65535, not {args.port}"
    elif not 1 <= args.workers <= 16:
        problem = f"--workers must be between 1 and 16, not {args.workers}"
    elif args.max_training is not None and args.max_training < 0:
        problem = f"--max-training must be 0 (no limit) or more, not {args.max_training}"
    if problem:
        print(f"making-views-agree serve: {problem}", file=sys.stderr)
        return 2
    data = Path(args.data).resolve()
    data.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "COURSE_DATA": str(data)}
    if args.max_training is not None:
        env["COURSE_MAX_TRAINING"] = str(args.max_training)
    print(
        f"Serving the course at http://{args.address}:{args.port}/course with {args.workers} "
        f"process(es); the class view is /course?view=class (Ctrl+C to stop)",
        flush=True,
    )
    # The course directory as panel's app path gives the app its name: /course.
    process = subprocess.Popen(
        serve_command(args.port, args.address, args.workers, args.origin), env=env
    )
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stopped: stop the servers too
    try:
        return process.wait()
    except KeyboardInterrupt:
        process.terminate()
        process.wait(timeout=15)
        return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="making-views-agree", description=__doc__.split("\n")[0])
    commands = p.add_subparsers(dest="command", required=True)
    s = commands.add_parser("serve", help="serve the course to a class")
    s.add_argument("--port", type=int, default=5006)
    s.add_argument("--address", default="localhost", help="0.0.0.0 to serve other machines")
    s.add_argument("--workers", type=int, default=1, help="processes on the port (one per core)")
    s.add_argument(
        "--origin", action="append", default=[], help="another HOST:PORT students use (repeat)"
    )
    s.add_argument("--data", default="course-data", help="the class view's shared folder")
    s.add_argument(
        "--max-training", type=int, help="runs one process trains at once (default 30; 0: none)"
    )
    for name, text in (("check", "train every sim to its promises"), ("bench", "steps/s")):
        c = commands.add_parser(name, help=text)
        c.add_argument("slugs", nargs="*")
    commands.add_parser("load", help="a simulated class (see: making-views-agree load --help)")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["load"]:
        from course.loadgen import main as load

        return load(argv[1:])
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit:
        return int(exit.code or 0)
    if args.command == "serve":
        return serve(args)
    from sims.__main__ import main as sims

    return sims([args.command, *args.slugs])


if __name__ == "__main__":
    sys.exit(main())
