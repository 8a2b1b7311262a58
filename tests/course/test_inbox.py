"""Flow control between the trainer and a page, step by step with a fake clock and scheduler."""

import numpy as np

from course.engine.inbox import FrameInbox
from course.engine.runner import Frame


def frame(i, reset=False, fresh=True, steps=()):
    history = (np.array(steps, dtype=float), np.array(steps, dtype=float) / 10)
    return Frame(i, i, {}, {}, history, reset=reset, fresh=fresh)


class Loop:
    """A stand-in for the event loop: counts scheduled flushes; a clock that moves by hand."""

    def __init__(self):
        self.scheduled, self.now = 0, 0.0

    def schedule(self):
        self.scheduled += 1

    def clock(self):
        return self.now


def inbox(loop, **kw):
    return FrameInbox(loop.schedule, clock=loop.clock, **kw)


def test_one_flush_for_many_frames_and_only_the_newest_is_drawn():
    loop = Loop()
    box = inbox(loop)
    for i in range(1, 4):
        box.put(frame(i, steps=[i]), running=True)
    assert loop.scheduled == 1
    delivery = box.take()
    assert delivery.frame.id == 3
    assert [h[0].tolist() for h in delivery.history] == [[1], [2], [3]]  # loss points kept
    assert box.take() is None  # drawn already


def test_a_busy_browser_gets_no_new_frame_until_it_acknowledges():
    loop = Loop()
    box = inbox(loop, in_flight=2)
    for i in (1, 2):
        box.put(frame(i), running=True)
        box.take()
        box.mark_sent()
    box.put(frame(3), running=True)
    assert loop.scheduled == 2, "two frames in flight: the third waits"
    box.ack(1)
    assert loop.scheduled == 3 and box.take().frame.id == 3


def test_a_browser_that_never_answers_still_gets_a_frame_after_the_timeout():
    loop = Loop()
    box = inbox(loop, in_flight=1, ack_timeout=1.0)
    box.put(frame(1), running=True)
    box.take()
    box.mark_sent()
    box.put(frame(2), running=True)
    assert loop.scheduled == 1
    loop.now = 1.5
    box.put(frame(3), running=True)
    assert loop.scheduled == 2 and box.take().frame.id == 3


def test_a_paused_run_is_drawn_at_once_however_busy_the_browser():
    loop = Loop()
    box = inbox(loop, in_flight=1)
    box.put(frame(1), running=True)
    box.take()
    box.mark_sent()
    box.put(frame(2), running=False)  # the frame that shows where the run paused
    assert loop.scheduled == 2


def test_a_reset_drops_the_loss_points_of_the_run_before_it():
    loop = Loop()
    box = inbox(loop)
    box.put(frame(1, steps=[1, 2]), running=True)
    box.put(frame(2, reset=True), running=True)
    box.put(frame(3, steps=[1]), running=True)
    delivery = box.take()
    assert delivery.reset
    assert [h[0].tolist() for h in delivery.history] == [[], [1]]


def test_freshness_survives_dropped_frames():
    """A measured frame overtaken by an unmeasured one still refreshes the readouts."""
    loop = Loop()
    box = inbox(loop)
    box.put(frame(1, fresh=True), running=True)
    box.put(frame(2, fresh=False), running=True)
    assert box.take().fresh
    box.put(frame(3, fresh=False), running=True)
    assert not box.take().fresh


def test_an_ack_with_nothing_new_schedules_nothing():
    loop = Loop()
    box = inbox(loop)
    box.put(frame(1), running=True)
    box.take()
    box.mark_sent()
    box.ack(1)
    assert loop.scheduled == 1
