"""A floor instead of a crawl: past the pool's limit, a run waits in line for a training slot,
is told its place, and starts by itself when a slot frees. Also: a page still opening is not
taken for a closed one."""

import logging
import time
from types import SimpleNamespace

import pytest

from course.engine import render
from course.engine.pool import MAX_TRAINING, TrainerPool, training_limit
from course.engine.runner import Runner
from course.engine.view import SimView
from tests.course.conftest import Countdown


def wait_for(condition, timeout=10.0):
    deadline = time.time() + timeout
    while not condition():
        assert time.time() < deadline, "timed out"
        time.sleep(0.005)


def runners(pool, n):
    made = [Runner(Countdown(rate=1.0), steps_per_frame=1) for _ in range(n)]
    for runner in made:
        pool.add(runner)
    return made


def start(pool, runner):
    runner.toggle()
    pool.wake()


def test_past_the_limit_a_run_waits_in_line_and_is_told_its_place():
    pool = TrainerPool(fps=200, limit=2)
    a, b, c, d = runners(pool, 4)
    told = []
    c.on_wait = lambda: told.append(("c", c.waiting))
    for runner in (a, b, c, d):
        start(pool, runner)
    wait_for(lambda: a.sim.steps > 5 and b.sim.steps > 5 and d.waiting == 2)
    assert (c.waiting, c.busy, c.sim.steps) == (1, 2, 0)
    assert (d.waiting, d.busy, d.sim.steps) == (2, 2, 0)
    assert pool.line() == (2, 2)
    assert told == [("c", 1)]
    frame = c.frame
    assert render.status(frame, c.running, c.waiting, c.busy) == (
        "waiting",
        "The class server is busy: 2 students are training; you are next in line. Your run "
        "starts by itself as soon as a place frees up (Pause leaves the line).",
    )
    assert "you are number 2 in line" in render.status(d.frame, True, d.waiting, d.busy)[1]

    a.toggle()  # a student pauses: the first in line gets the slot and trains
    wait_for(lambda: c.sim.steps > 5)
    assert (c.waiting, c.busy) == (0, 0) and told[-1] == ("c", 0)
    assert (d.waiting, d.busy) == (1, 2)
    pool.remove(b)  # a page closes: the next one starts too
    wait_for(lambda: d.sim.steps > 5)
    assert pool.line() == (2, 0)


def test_pausing_in_line_leaves_it_and_the_others_move_up():
    pool = TrainerPool(fps=200, limit=1)
    a, b, c = runners(pool, 3)
    for runner in (a, b, c):
        start(pool, runner)
    wait_for(lambda: c.waiting == 2)
    b.toggle()  # Pause while waiting: out of the line
    wait_for(lambda: c.waiting == 1)
    assert (b.waiting, b.busy, b.running) == (0, 0, False)
    assert b.sim.steps == 0 and a.sim.steps > 0


def test_without_a_limit_every_run_trains():
    pool = TrainerPool(fps=200, limit=None)
    made = runners(pool, 5)
    for runner in made:
        start(pool, runner)
    wait_for(lambda: min(r.sim.steps for r in made) > 3)
    assert all(r.waiting == 0 for r in made)


def test_the_limit_comes_from_the_environment_and_a_bad_value_is_reported(caplog):
    assert training_limit({}) == MAX_TRAINING
    assert training_limit({"COURSE_MAX_TRAINING": "12"}) == 12
    assert training_limit({"COURSE_MAX_TRAINING": "0"}) is None
    with caplog.at_level(logging.WARNING):
        assert training_limit({"COURSE_MAX_TRAINING": "lots"}) == MAX_TRAINING
        assert training_limit({"COURSE_MAX_TRAINING": "-3"}) == MAX_TRAINING
    assert "COURSE_MAX_TRAINING='lots' is not a whole number" in caplog.text


class Session:
    """What ``SimView._connected`` reads of a Bokeh session: its open websockets."""

    def __init__(self):
        self.connection_count = 0


@pytest.fixture
def opening_view(monkeypatch):
    from course.chapters import chapters

    part = chapters()[0].part_classes()[0]()
    session = Session()
    doc = SimpleNamespace(session_context=SimpleNamespace(_session=session))
    view = SimView(part, pool=TrainerPool(fps=200))
    view.doc = doc  # after construction: the test drives the connection by hand
    return view, session


def test_a_page_still_opening_is_not_taken_for_a_closed_one(opening_view, monkeypatch):
    view, session = opening_view
    assert view._connected()  # no browser yet, just opened: give it time
    session.connection_count = 1
    assert view._connected()
    session.connection_count = 0  # connected once, now gone: the tab was closed
    assert not view._connected()


def test_a_page_asked_before_bokeh_made_its_session_still_waits_for_its_browser(opening_view):
    # The trainer asks while the page is being built (a page opening at a step trains from
    # its constructor), before Bokeh has a session for it: that is no sign of a browser, and
    # the page must not pass for one whose browser came and went once the session exists.
    view, session = opening_view
    view.doc.session_context._session = None
    assert view._connected()
    view.doc.session_context._session = session  # built; the websocket is not open yet
    assert view._connected()


def test_a_browser_that_never_connects_is_given_up_after_the_grace(opening_view, monkeypatch):
    view, _ = opening_view
    monkeypatch.setattr("course.engine.view.time.monotonic", lambda: view._born + 61)
    assert not view._connected()
