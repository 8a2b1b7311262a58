"""The one background thread that trains every session's sim, fairly, at a steady frame rate.

A thread per session would leave N trainers fighting the web server for two cores and the GIL;
one worker that visits the running sims in turn keeps the server responsive, shares compute
evenly, and under load gives each session fewer steps per frame rather than fewer frames.

Past ``limit`` runs training at once, a process cannot keep every one of them moving (the
capacity table in docs/benchmarks.md): a run whose student presses Train then waits in line,
first come first served, and starts by itself when a training run pauses or its page closes.
The limit is per server process; ``COURSE_MAX_TRAINING`` sets it (0: no limit).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections.abc import Callable

from course.engine.runner import Runner

FPS = 40  # frames per second each training session aims for when few sessions train
MAX_TOTAL_FPS = 320  # frames per second for all sessions together; past it, each gets fewer
MIN_SLICE = 0.004  # seconds of training per frame, at the least, however many sessions train
LONE_SLICE = 0.1  # seconds one frame may train when a single session runs at a high speed
MAX_TRAINING = 30  # runs one process trains at once (docs/benchmarks.md); more wait in line
LIMIT_VARIABLE = "COURSE_MAX_TRAINING"

log = logging.getLogger(__name__)


def training_limit(environ: dict[str, str] | None = None) -> int | None:
    """The per-process limit from ``COURSE_MAX_TRAINING``: a whole number, 0 for none; a bad
    value is reported in the server's log and the default is used."""
    value = (os.environ if environ is None else environ).get(LIMIT_VARIABLE, "").strip()
    if not value:
        return MAX_TRAINING
    try:
        limit = int(value)
        if limit < 0:
            raise ValueError
    except ValueError:
        log.warning(
            "%s=%r is not a whole number >= 0; training at most %d runs at once",
            LIMIT_VARIABLE,
            value,
            MAX_TRAINING,
        )
        return MAX_TRAINING
    return limit or None


class TrainerPool:
    def __init__(
        self, fps: float = FPS, max_total_fps: float = MAX_TOTAL_FPS, limit: int | None = None
    ) -> None:
        """``limit``: runs trained at once (None: no limit); the others wait in line."""
        self.fps, self.max_total_fps, self.limit = fps, max_total_fps, limit
        self._training: list[Runner] = []  # admitted, in the order they were
        self._line: list[Runner] = []  # running but waiting for a slot, first come first
        self._runners: weakref.WeakKeyDictionary[Runner, Callable[[], bool]] = (
            weakref.WeakKeyDictionary()
        )
        self._due: weakref.WeakKeyDictionary[Runner, float] = weakref.WeakKeyDictionary()
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, runner: Runner, connected: Callable[[], bool] = lambda: True) -> None:
        """Watch ``runner``; ``connected`` says whether its page is still open."""
        with self._wake:
            self._runners[runner] = connected
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name="trainer-pool", daemon=True)
                self._thread.start()

    def remove(self, runner: Runner) -> None:
        runner.pause()
        with self._wake:
            self._runners.pop(runner, None)
            self._wake.notify()  # its slot, if it had one, goes to the next in line at once

    def line(self) -> tuple[int, int]:
        """How many runs train, and how many wait in line (as of the last frame round)."""
        with self._wake:
            return len(self._training), len(self._line)

    def __len__(self) -> int:
        """How many runs the pool watches (running or not)."""
        with self._wake:
            return len(self._runners)

    def wake(self) -> None:
        """Call after starting a runner so its first frame comes at once."""
        with self._wake:
            self._wake.notify()

    def active(self) -> list[Runner]:
        with self._wake:
            items = list(self._runners.items())
        for runner, connected in items:
            if runner.running and not _safe(connected):
                runner.pause()  # the tab is gone: stop burning CPU before the session expires
                log.info(
                    "%s (seed %d): its page is gone; training paused",
                    type(runner.sim).__name__,
                    runner.sim.seed,
                )
        return [runner for runner, _ in items if runner.running]

    def _admit(self, running: list[Runner]) -> list[Runner]:
        """Of the runs that want to train, those that may: the ones already training, then the
        line's first, up to the limit. Tells each run in line its place when it changes."""
        wanted = set(running)
        with self._wake:
            training = [r for r in self._training if r in wanted]
            line = [r for r in self._line if r in wanted and r not in training]
            known = set(training) | set(line)
            line += [r for r in running if r not in known]
            while line and (self.limit is None or len(training) < self.limit):
                training.append(line.pop(0))
            left = [r for r in self._line if r not in wanted]  # paused, or their page closed
            self._training, self._line = training, line
        for runner in left:
            runner.waiting = runner.busy = 0
        for place, runner in [*((0, r) for r in training), *enumerate(line, 1)]:
            busy = len(training) if place else 0
            if (runner.waiting, runner.busy) != (place, busy):
                runner.waiting, runner.busy = place, busy
                _tell(runner)
        return training

    def _loop(self) -> None:
        while True:
            running = self._admit(self.active())
            if not running:
                with self._wake:
                    self._wake.wait(timeout=0.5)
                continue
            # Every frame costs a snapshot, a message and a redraw: with many sessions, send
            # each one fewer, larger frames rather than letting the frames pile up.
            period = max(1.0 / self.fps, len(running) / self.max_total_fps)
            budget = max(period / len(running), MIN_SLICE)
            if len(running) == 1:
                # Alone, a session whose speed asks for more steps than fit in one 1/fps frame
                # gets fewer, longer frames: each frame's redraw costs the same however many
                # steps it shows, so at top speed the steps, not the redraws, get the time.
                budget = LONE_SLICE
            now = time.perf_counter()
            for runner in running:
                due = self._due.get(runner, 0.0) <= now
                if due and runner.running and runner in self._runners:  # not removed meanwhile
                    self._due[runner] = now + period
                    runner.advance(budget)
                    now = time.perf_counter()
            wait = min(self._due.get(r, 0.0) for r in running) - time.perf_counter()
            if wait > 0:
                with self._wake:
                    self._wake.wait(timeout=wait)


def _tell(runner: Runner) -> None:
    """Tell a run's page that its place in line changed; a page's error stays with the page."""
    if runner.on_wait is None:
        return
    try:
        runner.on_wait()
    except Exception:
        log.exception("telling a page its place in line failed")


def _safe(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:
        return False


POOL = TrainerPool(limit=training_limit())
