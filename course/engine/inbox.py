"""Between the trainer's thread and the page's event loop: the newest frame, and when to send it.

Frames arrive from the trainer pool's thread; the page keeps only the newest (a stale frame is
dropped, its loss points kept) and asks for one flush on the event loop. A slow browser must not
build a queue of stale frames (a click on Pause would wait behind them), so every frame sent is
numbered, the browser echoes the number once it has applied it, and at most ``in_flight``
frames go unacknowledged; a browser that never answers still gets a frame every
``ack_timeout`` seconds. No UI and no event loop here: the scheduler and the clock are given,
so the rules can be tested step by step.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from course.engine.runner import Frame

FRAMES_IN_FLIGHT = 4  # frames sent but not acknowledged, at most (the browser acks every 50 ms)
ACK_TIMEOUT = 1.0  # seconds: send anyway if the browser never acknowledges


@dataclass(frozen=True)
class Delivery:
    """What one flush draws: the newest frame, the loss points of every frame since the last
    flush, whether a reset came in between, and whether any of them was freshly measured."""

    frame: Frame
    history: list[tuple[np.ndarray, np.ndarray]]
    reset: bool
    fresh: bool


class FrameInbox:
    def __init__(
        self,
        schedule: Callable[[], None],
        clock: Callable[[], float] = time.perf_counter,
        in_flight: int = FRAMES_IN_FLIGHT,
        ack_timeout: float = ACK_TIMEOUT,
    ) -> None:
        """``schedule()`` must arrange one call of the page's flush on its event loop."""
        self._schedule, self._clock = schedule, clock
        self.in_flight, self.ack_timeout = in_flight, ack_timeout
        self._lock = threading.Lock()
        self._latest: Frame | None = None
        self._history: list[tuple[np.ndarray, np.ndarray]] = []
        self._reset = self._fresh = False
        self._scheduled = False
        self.sent = self.acked = 0
        self._sent_at = -float("inf")
        self.drawn_id = 0

    def put(self, frame: Frame, running: bool) -> None:
        """Any thread: keep ``frame`` as the newest; schedule a flush unless one is scheduled
        or the browser is still busy with earlier frames (then its next ack does)."""
        with self._lock:
            self._latest = frame
            if frame.reset:  # the points of earlier frames belong to the run that was reset
                self._history = []
            self._history.append(frame.history)
            self._reset |= frame.reset
            self._fresh |= frame.fresh
            if self._scheduled:
                return
            busy = self.sent - self.acked >= self.in_flight
            if busy and running and self._clock() - self._sent_at < self.ack_timeout:
                return
            self._scheduled = True
        self._schedule()

    def ack(self, applied: int) -> None:
        """Event loop: the browser has applied frame number ``applied``; send the newest frame
        if it has not been drawn."""
        with self._lock:
            self.acked = max(self.acked, applied)
            waiting = self._latest is not None and self._latest.id != self.drawn_id
            if not waiting or self._scheduled:
                return
            self._scheduled = True
        self._schedule()

    def take(self) -> Delivery | None:
        """Event loop, in the flush: what to draw, or None if the newest frame is drawn."""
        with self._lock:
            frame, history, reset, fresh = self._latest, self._history, self._reset, self._fresh
            self._history, self._reset, self._fresh, self._scheduled = [], False, False, False
        if frame is None or frame.id == self.drawn_id:
            return None
        self.drawn_id = frame.id
        return Delivery(frame, history, reset, fresh)

    def mark_sent(self) -> int:
        """Event loop: a delivery went out; returns its number for the browser to echo."""
        self.sent += 1
        self._sent_at = self._clock()
        return self.sent
