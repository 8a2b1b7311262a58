"""The one background thread that trains every session's sim, fairly, at a steady frame rate.

A thread per session would leave N trainers fighting the web server for two cores and the GIL;
one worker that visits the running sims in turn keeps the server responsive, shares compute
evenly, and under load gives each session fewer steps per frame rather than fewer frames.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections.abc import Callable

from course.engine.runner import Runner

FPS = 40  # frames per second each training session aims for when few sessions train
MAX_TOTAL_FPS = 160  # frames per second for all sessions together; past it, each gets fewer
MIN_SLICE = 0.004  # seconds of training per frame, at the least, however many sessions train
LONE_SLICE = 0.1  # seconds one frame may train when a single session runs at a high speed

log = logging.getLogger(__name__)


class TrainerPool:
    def __init__(self, fps: float = FPS, max_total_fps: float = MAX_TOTAL_FPS) -> None:
        self.fps, self.max_total_fps = fps, max_total_fps
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

    def _loop(self) -> None:
        while True:
            running = self.active()
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
                if self._due.get(runner, 0.0) <= now and runner.running:
                    self._due[runner] = now + period
                    runner.advance(budget)
                    now = time.perf_counter()
            wait = min(self._due.get(r, 0.0) for r in running) - time.perf_counter()
            if wait > 0:
                with self._wake:
                    self._wake.wait(timeout=wait)


def _safe(check: Callable[[], bool]) -> bool:
    try:
        return bool(check())
    except Exception:
        return False


POOL = TrainerPool()
