"""A class of simulated students for a course server, without a browser.

Each student opens a chapter through Bokeh's own websocket protocol (``bokeh.client``), presses
Train, counts the frames the server sends (every change of a ``FrameClock``'s ``clock.tags``) and
echoes the newest number as the page's JavaScript does (at most one echo per ``ECHO_GAP_MS``).
Nothing is rendered. The report gives frames/s per student, the server's CPU and memory.

    python -m course.loadgen --serve --students 10 --seconds 10
    python -m course.loadgen --url http://127.0.0.1:5006/course --chapter collapse --json
    python -m course.loadgen --serve --cycles 500     # memory: open and close sessions
    python -m course.loadgen --table                  # the capacity matrix, as Markdown

Each student runs its own Bokeh client loop in its own thread: a ``bokeh.client`` session blocks
its caller while it connects, so one loop per student keeps them independent.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from course.engine.components import ECHO_GAP_MS
from course.engine.pool import LIMIT_VARIABLE

HEAVIEST = "contrastive"  # the highest server ms/frame in docs/benchmarks.md
MAX_STUDENTS = 300
MAX_SECONDS = 600
RAMP_TIMEOUT = 60.0  # seconds for every student to connect, press Train and see a frame
STAGGER = 0.02  # seconds between two students opening their page
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
TICK = os.sysconf("SC_CLK_TCK")


# ---- the server's processes ------------------------------------------------------------------


def _tree(pid: int) -> list[int]:
    """``pid`` and every process below it (``panel serve --num-procs`` forks workers)."""
    parents: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            parents.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(parents.get(p, []))
    return found


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the server and its workers so far."""
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / TICK


def rss_mb(pid: int) -> float:
    """Resident memory of the server and its workers, in MB."""
    total = 0
    for p in _tree(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except (OSError, ValueError):
            pass
    return total / 1024


def server_pid(url: str) -> int | None:
    """The process listening on the url's port (to read its CPU and memory), if we may see it."""
    port = urlsplit(url).port or 80
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    parts = line.split()
                    if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:
                        inodes.add(parts[9])
        except OSError:
            pass
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                if os.readlink(f"/proc/{entry}/fd/{fd}").removeprefix("socket:[")[:-1] in inodes:
                    pids.append(int(entry))
                    break
        except OSError:
            continue
    if not pids:
        return None
    # With several workers, all listen: take the one whose parent is not among them, or, if
    # each binds its own socket (course/workers.py), the launcher they share.
    parents = set()
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            parents.add(int(f.read().rsplit(")", 1)[1].split()[1]))
    if len(pids) > 1 and len(parents) == 1 and not parents & set(pids):
        return parents.pop()
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            if int(f.read().rsplit(")", 1)[1].split()[1]) not in pids:
                return pid
    return pids[0]


# ---- one student -----------------------------------------------------------------------------


def _iterative_client() -> None:
    """Make ``bokeh.client`` read messages in a loop. Its connection awaits itself once per
    message received (``_handle_messages`` -> ``_next`` -> ``_handle_messages``), so a session
    that receives a few thousand frames ends in a RecursionError; a browser has no such limit.
    The loop below does what that chain does, one message at a time."""
    from bokeh.client.connection import ClientConnection
    from bokeh.client.states import DISCONNECTED, ErrorReason

    if getattr(ClientConnection, "_course_iterative", False):
        return

    async def handle_messages(self: Any) -> None:
        while True:
            if self._until_predicate is not None and self._until_predicate():
                self._until_predicate = None
                self._loop.stop()
                return
            message = await self._pop_message()
            if message is None:
                reason = DISCONNECTED(ErrorReason.HTTP_ERROR, 500, "Internal server error.")
                await self._transition_to_disconnected(reason)
                return
            if message.msgtype == "PATCH-DOC":
                self._session._handle_patch(message)

    ClientConnection._handle_messages = handle_messages
    ClientConnection._course_iterative = True


class Student(threading.Thread):
    """One simulated page: connects, waits for ``go``, trains, counts and echoes frames."""

    def __init__(self, url: str, arguments: dict[str, str], go: threading.Event) -> None:
        super().__init__(daemon=True)
        self.url, self.arguments, self.go = url, arguments, go
        self.connected = threading.Event()
        self.first_frame = threading.Event()
        self.done = threading.Event()
        self.frames = 0
        self.error: str | None = None
        self.loop: Any = None
        self.session: Any = None
        self.buttons: list[Any] = []
        self._last_echo = -float("inf")
        self._pending: dict[Any, int] = {}

    def run(self) -> None:
        from bokeh.client import pull_session

        _iterative_client()
        from tornado.ioloop import IOLoop

        asyncio.set_event_loop(asyncio.new_event_loop())
        self.loop = IOLoop.current()
        try:
            self.session = pull_session(url=self.url, arguments=self.arguments)
            self.loop = self.session._connection._loop  # the client made its own loop
            self._wire(self.session.document)
        except Exception as e:  # reported as this student's error
            self.error = f"connection failed: {e}"
            self.connected.set()
            self.done.set()
            return
        self.connected.set()
        self.loop.add_callback(self._ready)
        try:
            self.session._connection.loop_until_closed()  # the session's own public alias is gone
        except Exception as e:  # reported as this student's error
            self.error = f"connection lost: {e}"
        finally:
            self.done.set()

    def _wire(self, doc: Any) -> None:
        """Find the Train button and every clock/echo pair (the clock's JS names its echo)."""
        from bokeh.models import Button, ColumnDataSource

        self.buttons = [b for b in doc.select({"type": Button}) if b.label in ("Train", "Pause")]
        clocks = []
        for source in doc.select({"type": ColumnDataSource}):
            for callback in source.js_property_callbacks.get("change:tags", []):
                echo = callback.args.get("echo")
                if echo is not None:
                    clocks.append((source, echo))
        if not self.buttons or not clocks:
            raise RuntimeError("the page has no Train button or no frame clock")
        for clock, echo in clocks:
            clock.on_change("tags", self._on_frame(echo))

    def _on_frame(self, echo: Any) -> Any:
        def changed(_attr: str, _old: Any, new: Any) -> None:
            self.frames += 1
            self.first_frame.set()
            first = not self._pending
            self._pending[echo] = new[0]
            if first:
                wait = self._last_echo + ECHO_GAP_MS / 1000 - time.monotonic()
                self.loop.call_later(max(wait, 0), self._send_echoes)

        return changed

    def _send_echoes(self) -> None:
        self._last_echo = time.monotonic()
        pending, self._pending = self._pending, {}
        for echo, number in pending.items():
            echo.tags = [number]

    def _ready(self) -> None:
        """Tell the server the page has rendered, as a browser does (Panel holds its updates
        until then), then wait for the signal to press Train."""
        from bokeh.events import DocumentReady

        self.session.document.callbacks.send_event(DocumentReady())
        self._wait_for_go()

    def _wait_for_go(self) -> None:
        if self.go.is_set():
            self.press("Train")
        else:
            self.loop.call_later(0.01, self._wait_for_go)

    def press(self, label: str) -> None:
        """Click the button showing ``label``, as a browser does (a ButtonClick event)."""
        from bokeh.events import ButtonClick

        for button in self.buttons:
            if button.label == label:
                self.session.document.callbacks.send_event(ButtonClick(button))

    def finish(self) -> None:
        """From any thread: press Pause, then close the connection."""

        def pause_then_close() -> None:
            self.press("Pause")
            self.loop.call_later(0.3, self.session.close)

        if self.session is not None and not self.done.is_set():
            self.loop.add_callback(pause_then_close)


# ---- a run -----------------------------------------------------------------------------------


def check_url(url: str) -> str | None:
    """Why ``url`` may not be loaded (None if it may): only a course on this machine."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"not an http address: {url!r}"
    if parts.hostname not in LOCAL_HOSTS:
        return f"refusing {parts.hostname!r}: the load generator only loads a server on 127.0.0.1"
    return None


def _spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {"min": 0.0, "median": 0.0, "max": 0.0}
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def run_class(url: str, chapter: str, students: int, seconds: float, speed: int | None) -> dict:
    """Open ``students`` pages on ``url``, train for ``seconds`` and measure the server."""
    arguments = {"chapter": chapter}
    if speed is not None:
        arguments["speed"] = str(speed)
    pid = server_pid(url)
    rss_before = rss_mb(pid) if pid else None
    go = threading.Event()
    class_ = [Student(url, arguments, go) for _ in range(students)]
    for student in class_:
        student.start()
        time.sleep(STAGGER)
    deadline = time.monotonic() + RAMP_TIMEOUT
    for student in class_:
        student.connected.wait(max(deadline - time.monotonic(), 0))
    rss_idle = rss_mb(pid) if pid else None
    go.set()
    for student in class_:
        if student.error is None:
            student.first_frame.wait(max(deadline - time.monotonic(), 0))
    start_frames = [s.frames for s in class_]
    start, cpu_start = time.monotonic(), cpu_seconds(pid) if pid else None
    time.sleep(seconds)
    elapsed = time.monotonic() - start
    frames = [s.frames - f for s, f in zip(class_, start_frames, strict=True)]
    cpu = cpu_seconds(pid) - cpu_start if pid else None
    rss_training = rss_mb(pid) if pid else None
    for student in class_:
        student.finish()
    for student in class_:
        student.done.wait(10)

    errors = [s.error for s in class_ if s.error]
    errors += ["no frame" for s in class_ if s.error is None and not s.first_frame.is_set()]
    rates = [f / elapsed for f in frames]
    spread = _spread(rates)
    total = sum(frames)
    result = {
        "url": url,
        "chapter": chapter,
        "students": students,
        "seconds": round(elapsed, 2),
        "frames_per_second": {k: round(v, 2) for k, v in spread.items()},
        "fairness": round(spread["min"] / spread["median"], 2) if spread["median"] else 0.0,
        "frames": total,
        "errors": len(errors),
        "error_messages": sorted(set(errors)),
        "server_cpu_ms_per_frame": round(1000 * cpu / total, 2)
        if cpu is not None and total
        else None,
        "server_cpu_percent": round(100 * cpu / elapsed, 1) if cpu is not None else None,
        "rss_mb": {
            "before": _round(rss_before),
            "idle": _round(rss_idle),
            "training": _round(rss_training),
        },
        "mb_per_idle_session": _per(rss_idle, rss_before, students),
        "mb_per_training_session": _per(rss_training, rss_before, students),
    }
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def _per(after: float | None, before: float | None, n: int) -> float | None:
    return None if after is None or before is None else round((after - before) / n, 2)


def run_cycles(url: str, chapter: str, cycles: int) -> dict:
    """Open a page, wait for its document, close it; ``cycles`` times. Reports the server's RSS."""
    from bokeh.client import pull_session

    pid = server_pid(url)
    warm_up = min(20, max(cycles // 10, 1))
    readings: list[dict[str, float | None]] = []
    errors = 0
    for i in range(1, cycles + 1):
        try:
            with pull_session(url=url, arguments={"chapter": chapter}) as session:
                if session.document is None:
                    errors += 1
        except Exception:  # a failed cycle is counted, not fatal
            errors += 1
        if i in (warm_up, cycles) or i % 100 == 0:
            readings.append({"cycle": i, "rss_mb": _round(rss_mb(pid)) if pid else None})
    settled, end = readings[0]["rss_mb"], readings[-1]["rss_mb"]
    change = round(100 * (end - settled) / settled, 1) if settled and end else None
    return {
        "url": url,
        "chapter": chapter,
        "cycles": cycles,
        "errors": errors,
        "rss_mb": readings,
        "change_percent": change,
    }


# ---- the command line ------------------------------------------------------------------------


def _serve(workers: int) -> tuple[Any, str]:
    from course import devserver

    port = devserver.free_port()
    return devserver.serve(port, workers=workers), f"http://127.0.0.1:{port}/course"


def _stop(process: Any) -> None:
    """Stop a server started by ``_serve``, with its worker processes (with ``--num-procs``
    the parent's children would outlive it)."""
    from course import devserver

    workers = [p for p in _tree(process.pid) if p != process.pid]
    devserver.stop(process)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)


def _text(result: dict) -> str:
    if "cycles" in result:
        lines = [f"{r['cycle']:>6} cycles: {r['rss_mb']} MB" for r in result["rss_mb"]]
        lines.append(
            f"change since warm-up: {result['change_percent']} %, errors: {result['errors']}"
        )
        return "\n".join(lines)
    f, m = result["frames_per_second"], result["rss_mb"]
    return "\n".join(
        [
            f"{result['students']} students on {result['chapter']} for {result['seconds']} s",
            f"frames/s per student: min {f['min']}, median {f['median']}, max {f['max']}",
            f"fairness (min/median): {result['fairness']}",
            f"frames delivered: {result['frames']}, errors: {result['errors']}"
            + (f" ({'; '.join(result['error_messages'])})" if result["errors"] else ""),
            f"server CPU: {result['server_cpu_ms_per_frame']} ms/frame, "
            f"{result['server_cpu_percent']} % of one core",
            f"server RSS (MB): before {m['before']}, idle {m['idle']}, training {m['training']}",
            f"MB per idle session: {result['mb_per_idle_session']}, "
            f"per training session: {result['mb_per_training_session']}",
        ]
    )


def table(seconds: float) -> str:
    """The capacity matrix as a Markdown table; each cell on its own fresh server."""
    rows = [
        "| chapter | processes | students | frames/s min/median/max | fairness | frames | errors "
        "| CPU ms/frame | CPU % | RSS MB idle/training | MB per training session |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    # The table measures what a process can carry, so its servers train every run at once:
    # the per-process limit (course/engine/pool.py) is chosen from these figures.
    os.environ[LIMIT_VARIABLE] = "0"
    for chapter in ("collapse", HEAVIEST):
        for workers in (1, 2):
            for students in (10, 30, 100):
                process, url = _serve(workers)
                try:
                    r = run_class(url, chapter, students, seconds, None)
                finally:
                    _stop(process)
                f, m = r["frames_per_second"], r["rss_mb"]
                rows.append(
                    f"| {chapter} | {workers} | {students} | {f['min']}/{f['median']}/{f['max']} "
                    f"| {r['fairness']} | {r['frames']} | {r['errors']} "
                    f"| {r['server_cpu_ms_per_frame']} | {r['server_cpu_percent']} "
                    f"| {m['idle']}/{m['training']} | {r['mb_per_training_session']} |"
                )
                print(rows[-1], file=sys.stderr, flush=True)
    return "\n".join(rows)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="making-views-agree load", description="Load a course server with simulated students."
    )
    where = p.add_mutually_exclusive_group()
    where.add_argument("--url", help="a running course, e.g. http://127.0.0.1:5006/course")
    where.add_argument("--serve", action="store_true", help="start a course server for the run")
    p.add_argument("--workers", type=int, default=1, help="server processes with --serve")
    p.add_argument("--chapter", default="collapse")
    p.add_argument("--students", type=int, default=10, help=f"1 to {MAX_STUDENTS}")
    p.add_argument(
        "--seconds", type=float, default=10, help=f"measurement window, 1 to {MAX_SECONDS}"
    )
    p.add_argument("--speed", type=int, help="the page's speed control (steps per second)")
    p.add_argument("--cycles", type=int, help="memory mode: open and close this many sessions")
    p.add_argument("--table", action="store_true", help="run the capacity matrix (Markdown)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    return p


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit code (2 for bad arguments)."""
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    problem = None
    if not 1 <= args.students <= MAX_STUDENTS:
        problem = f"--students must be between 1 and {MAX_STUDENTS}, not {args.students}"
    elif not 1 <= args.seconds <= MAX_SECONDS:
        problem = f"--seconds must be between 1 and {MAX_SECONDS}, not {args.seconds}"
    elif not 1 <= args.workers <= 8:
        problem = f"--workers must be between 1 and 8, not {args.workers}"
    elif args.cycles is not None and not 1 <= args.cycles <= 100_000:
        problem = f"--cycles must be between 1 and 100000, not {args.cycles}"
    elif args.url:
        problem = check_url(args.url)
    elif not (args.serve or args.table):
        problem = "say where the course is: --url http://127.0.0.1:PORT/course or --serve"
    if problem:
        print(f"making-views-agree load: {problem}", file=sys.stderr)
        return 2

    if args.table:
        print(table(args.seconds))
        return 0
    process, url = _serve(args.workers) if args.serve else (None, args.url)
    try:
        if args.cycles:
            result = run_cycles(url, args.chapter, args.cycles)
        else:
            result = run_class(url, args.chapter, args.students, args.seconds, args.speed)
    finally:
        if process is not None:
            _stop(process)
    print(json.dumps(result, indent=2) if args.json else _text(result))
    return 0 if result["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
