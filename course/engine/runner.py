"""One sim, its training state, and the frames it publishes: no UI, no event loop.

A ``Runner`` is driven from the ``TrainerPool``'s thread (``advance``) and from the page's
event loop (``toggle``, ``step_frame``, ``reset``); a lock keeps the sim consistent between
them. Each call that moves the sim publishes a new ``Frame``; readers take the newest frame
and never see a half-finished step.

A frame always carries a snapshot (the plots move every frame), but the sim is measured only
a few times a second while it trains (``MEASURE_PERIOD``): readouts that change forty times a
second cannot be read, and a measurement may cost a forward pass over a whole data set. Frames
in between carry the latest measurement; ``fresh`` says which frames measured anew.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sims.base import Sim, Verdict

MEASURE_PERIOD = 0.25  # seconds between two measurements while training
DIVERGED = "The run diverged ({what} at step {step}): lower the learning rate, then press Reset."


@dataclass(frozen=True)
class Frame:
    """Everything a page draws for one moment of a run."""

    id: int
    step: int
    snapshot: Mapping[str, np.ndarray]
    measured: Mapping[str, float]
    history: tuple[np.ndarray, np.ndarray]  # (steps, losses) since the previous frame
    verdict: Verdict | None = None
    problem: str | None = None  # why the run stopped by itself, if it did
    reset: bool = False  # the run went back to step 0 with this frame
    fresh: bool = True  # measured for this frame (else ``measured`` is from an earlier one)


@dataclass(eq=False)  # identity, not value: runners are keys of the pool
class Runner:
    """Holds a sim and decides when it trains; publishes frames for a page to draw."""

    sim: Sim
    steps_per_frame: int = 5
    on_frame: Callable[[Frame], None] | None = None
    running: bool = False
    problem: str | None = None
    frame: Frame | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    measure_period: float = MEASURE_PERIOD
    _ids: int = 0
    _pending: list[tuple[int, float]] = field(default_factory=list)
    _claims: int = 0  # page calls waiting for the lock; the trainer stands aside for them
    _measured: Mapping[str, float] = field(default_factory=dict)
    _verdict: Verdict | None = None
    _measured_at: float = -math.inf
    stop_at: int | None = None  # pause when the run reaches this step (a prediction, ?step=N)
    rush: bool = False  # on the way to ``stop_at``: as many steps per frame as the budget allows
    # Set by the trainer pool: this run's place in the line of runs waiting for a free training
    # slot (0: not waiting), how many runs train meanwhile, and whom to tell when they change.
    waiting: int = 0
    busy: int = 0
    on_wait: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        self.publish(reset=True)

    # -- called from the page (event loop) ---------------------------------------------------

    @contextmanager
    def _claim(self) -> Iterator[None]:
        """Take the sim for the page. The trainer drops the lock between frames and takes it
        straight back, so a plain wait could last many frames: it stands aside instead."""
        self._claims += 1
        try:
            with self.lock:
                yield
        finally:
            self._claims -= 1

    def toggle(self) -> bool:
        """Train if paused, pause if training (not after a divergence); returns ``running``.
        Starting needs no lock: the trainer checks ``running`` after every step. A pause waits
        for the frame in progress, and one between two measurements publishes a measured frame,
        so the readouts show where the run stopped."""
        self.running = not self.running and self.problem is None
        self.rush = False
        if self.running and self.stop_at is not None and self.sim.steps >= self.stop_at:
            self.stop_at = None  # already there: train on
        if not self.running and self.frame is not None:
            # The claim makes the trainer end the frame it is in, so the frame the page shows
            # with "Paused" is the run's last one; it is measured if it was not.
            with self._claim():
                if not self.frame.fresh:
                    self.publish()
        return self.running

    def pause(self) -> None:
        self.running = False

    def train_to(self, step: int, rush: bool = False) -> None:
        """Train until step ``step``, then pause with a measured frame; with ``rush``, each
        frame trains as many steps as its time budget allows (opening a page at a step)."""
        self.stop_at, self.rush = step, rush
        self.running = self.problem is None and self.sim.steps < step

    def step_frame(self) -> Frame:
        """Pause, then advance exactly one frame's worth of steps."""
        self.running = False
        with self._claim():
            self.advance(budget=math.inf, stepping=True)
        assert self.frame is not None
        return self.frame

    def reset(self) -> Frame:
        """Back to step 0 from the same seed; keeps training if it was (and forgets a step it
        was training to)."""
        with self._claim():
            self.sim.reset()
            self.problem = None
            self.stop_at, self.rush = None, False
            self._pending.clear()
            return self.publish(reset=True)

    def setup(self, **settings: Any) -> Frame:
        """Apply param changes and go back to step 0, whatever they change (a preset)."""
        with self._claim():
            self.sim.param.update(**settings)
            return self.reset()

    def update(self, **settings: Any) -> bool:
        """Apply param changes; returns True if they required a reset (data or model changed)."""
        with self._claim():
            self.sim.param.update(**settings)
            if set(settings) - set(self.sim.live):
                self.reset()
                return True
            return False

    # -- called from the trainer pool's thread -----------------------------------------------

    def advance(self, budget: float, stepping: bool = False) -> Frame | None:
        """Train up to ``steps_per_frame`` steps or until ``budget`` seconds pass (at least one
        step), then publish a frame. Stops the run on NaN/inf or on an error in the sim. Unless
        ``stepping`` (the page's Step), a pause or a waiting page call ends the frame early."""

        def interrupted() -> bool:
            return not stepping and (self._claims > 0 or not self.running)

        if interrupted():
            return None
        with self.lock:
            if interrupted():  # paused, or stopped at its step, while this waited for the lock
                return None
            if self.problem is not None:
                self.running = False
                return None
            deadline = time.perf_counter() + budget
            steps = max(1, int(self.steps_per_frame))
            if self.stop_at is not None:
                steps = self.stop_at - self.sim.steps if self.rush else steps
                steps = max(1, min(steps, self.stop_at - self.sim.steps))
            try:
                for _ in range(steps):
                    loss = self.sim.step()["loss"]
                    self._pending.append((self.sim.steps, loss))
                    if not math.isfinite(loss):
                        self._stop(DIVERGED.format(what=f"loss = {loss}", step=self.sim.steps))
                        break
                    if time.perf_counter() >= deadline or interrupted():
                        break
                if self.stop_at is not None and self.sim.steps >= self.stop_at:
                    self.running, self.stop_at, self.rush = False, None, False
                due = time.perf_counter() - self._measured_at >= self.measure_period
                return self.publish(measure=due or stepping or not self.running)
            except Exception as error:  # a sim must never take the page down with it
                self._stop(f"The run stopped at step {self.sim.steps}: {error}. Press Reset.")
                return self.publish()

    # -- shared ------------------------------------------------------------------------------

    def _stop(self, problem: str) -> None:
        self.running = False
        self.problem = problem

    def publish(self, reset: bool = False, measure: bool = True) -> Frame:
        """Snapshot the sim as a new frame, measuring it too unless ``measure`` is False
        (caller holds the lock or owns the sim)."""
        with self.lock:
            snapshot: Mapping[str, np.ndarray] = {}
            try:
                if measure or reset:
                    self._measure()
                snapshot = self.sim.snapshot()
            except Exception as error:
                self._stop(f"The run stopped at step {self.sim.steps}: {error}. Press Reset.")
            steps = np.array([s for s, _ in self._pending], dtype=np.float64)
            losses = np.array([v for _, v in self._pending], dtype=np.float64)
            self._pending.clear()
            self._ids += 1
            self.frame = Frame(
                id=self._ids,
                step=self.sim.steps,
                snapshot=snapshot,
                measured=self._measured,
                history=(steps, losses),
                verdict=self._verdict,
                problem=self.problem,
                reset=reset,
                fresh=measure or reset,
            )
        if self.on_frame is not None:
            self.on_frame(self.frame)
        return self.frame

    def _measure(self) -> None:
        """Measure the sim and judge it; a non-finite number stops the run (lock held)."""
        self._measured_at = time.perf_counter()
        self._measured, self._verdict = {}, None
        measured = self.sim.measure()
        bad = [k for k, v in measured.items() if not math.isfinite(v)]
        if bad:
            if self.problem is None:
                self._stop(DIVERGED.format(what=f"{bad[0]} is not finite", step=self.sim.steps))
            self._measured = measured
            return
        self._measured, self._verdict = measured, self.sim.verdict(measured)
