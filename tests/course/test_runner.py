"""The engine's training state machine, without any UI."""

import math
import time

from course.engine.runner import Runner
from tests.course.conftest import Countdown


def test_first_frame_is_published_at_construction():
    runner = Runner(Countdown())
    assert runner.frame.step == 0 and runner.frame.reset
    assert runner.frame.snapshot["x"].tolist() == [1.0] * 4


def test_step_frame_runs_steps_per_frame_steps_and_pauses():
    runner = Runner(Countdown(), steps_per_frame=3)
    runner.toggle()
    frame = runner.step_frame()
    assert not runner.running
    assert frame.step == 3
    assert frame.history[0].tolist() == [1, 2, 3]
    assert frame.history[1].tolist() == [0.5, 0.25, 0.125]


def test_toggle_flips_and_reset_returns_to_step_zero():
    runner = Runner(Countdown(), steps_per_frame=2)
    assert runner.toggle() is True
    assert runner.toggle() is False
    runner.step_frame()
    frame = runner.reset()
    assert frame.step == 0 and frame.reset
    assert frame.snapshot["x"].tolist() == [1.0] * 4


def test_live_settings_apply_without_reset_others_reset():
    runner = Runner(Countdown(), steps_per_frame=2)
    runner.step_frame()
    assert runner.update(rate=0.1) is False
    assert runner.sim.steps == 2
    assert runner.update(size=6) is True
    assert runner.sim.steps == 0
    assert runner.frame.snapshot["x"].shape == (6,)


def test_nan_loss_stops_the_run_with_a_plain_message():
    runner = Runner(Countdown(blow_up=3), steps_per_frame=10)
    runner.toggle()
    frame = runner.advance(budget=math.inf)
    assert not runner.running
    assert frame.step == 3
    assert "diverged" in frame.problem and "lower the learning rate" in frame.problem
    assert runner.toggle() is False  # no training on until Reset
    runner.reset()
    assert runner.problem is None and runner.toggle() is True


def test_an_exception_in_the_sim_stops_the_run_instead_of_raising():
    runner = Runner(Countdown(), steps_per_frame=1)

    def broken():
        raise RuntimeError("boom")

    runner.sim.train_step = broken
    runner.toggle()
    frame = runner.advance(budget=math.inf)
    assert not runner.running and "boom" in frame.problem


def test_time_budget_cuts_a_frame_short_but_runs_at_least_one_step():
    runner = Runner(Countdown(), steps_per_frame=1000)
    runner.toggle()
    frame = runner.advance(budget=0.0)
    assert frame.step == 1


def test_pause_ends_a_long_frame_after_the_current_step():
    runner = Runner(Countdown(), steps_per_frame=1000)
    runner.toggle()
    step = runner.sim.train_step

    def step_then_pause_at_three():
        if runner.sim.steps == 2:
            runner.pause()  # as a click on Pause from the page's thread would, mid-frame
        return step()

    runner.sim.train_step = step_then_pause_at_three
    frame = runner.advance(budget=math.inf)
    assert frame.step == 3
    assert runner.advance(budget=math.inf) is None and runner.sim.steps == 3


def test_the_trainer_stands_aside_while_the_page_waits_for_the_sim():
    runner = Runner(Countdown(), steps_per_frame=1000)
    runner.toggle()
    runner._claims = 1  # a page call (reset, a setting) is waiting for the lock
    assert runner.advance(budget=math.inf) is None and runner.sim.steps == 0
    runner._claims = 0
    step = runner.sim.train_step

    def step_then_claim_at_three():
        if runner.sim.steps == 2:
            runner._claims = 1
        return step()

    runner.sim.train_step = step_then_claim_at_three
    assert runner.advance(budget=math.inf).step == 3
    assert runner.running  # standing aside is not pausing


def test_same_seed_same_frames():
    a, b = Runner(Countdown(seed=4)), Runner(Countdown(seed=4))
    for _ in range(3):
        assert a.step_frame().history[1].tolist() == b.step_frame().history[1].tolist()


def test_pool_trains_running_runners_and_stops_disconnected_ones(pool):
    runner = Runner(Countdown(rate=1.0), steps_per_frame=1)
    connected = {"yes": True}
    pool.add(runner, connected=lambda: connected["yes"])
    runner.toggle()
    pool.wake()
    deadline = time.time() + 5
    while runner.sim.steps < 5 and time.time() < deadline:
        time.sleep(0.01)
    assert runner.sim.steps >= 5
    connected["yes"] = False  # the tab was closed
    deadline = time.time() + 5
    while runner.running and time.time() < deadline:
        time.sleep(0.01)
    assert not runner.running
    steps = runner.sim.steps
    time.sleep(0.1)
    assert runner.sim.steps == steps


def test_pool_shares_time_between_runners(pool):
    runners = [Runner(Countdown(rate=1.0), steps_per_frame=1) for _ in range(3)]
    for r in runners:
        pool.add(r)
        r.toggle()
    pool.wake()
    deadline = time.time() + 10  # every runner gets steps: wait for that, not for a time
    while min(r.sim.steps for r in runners) < 5 and time.time() < deadline:
        time.sleep(0.01)
    for r in runners:
        r.pause()
    counts = [r.sim.steps for r in runners]
    assert min(counts) >= 5, counts
    pool.remove(runners[0])
    assert not runners[0].running


def test_after_a_pause_returns_no_frame_is_published(pool):
    """The page writes "Paused" once ``toggle`` returns: the frame it shows must be the run's
    last, so the trainer may not publish one after it (it once did, and points moved)."""
    runner = Runner(Countdown(rate=1.0), steps_per_frame=2)
    step = runner.sim.train_step

    def slow_step():  # a pause then most likely lands while the trainer is inside a frame
        time.sleep(0.003)
        return step()

    runner.sim.train_step = slow_step
    runner.measure_period = 0.0  # every frame measured: a pause need not measure one itself
    published = []
    runner.on_frame = published.append
    pool.add(runner)
    for _ in range(20):  # pause at many points of the trainer's loop
        runner.toggle()
        pool.wake()
        deadline = time.time() + 5
        start = runner.sim.steps
        while runner.sim.steps < start + 3 and time.time() < deadline:
            time.sleep(0.001)
        assert runner.toggle() is False
        last = runner.frame
        count = len(published)
        time.sleep(0.02)  # a trainer that had not stopped would publish again by now
        assert len(published) == count and runner.frame is last
        assert last.step == runner.sim.steps
