"""Settings from the address and the status line: plain functions, no server, no page."""

import param
import pytest

from course.engine import render
from course.engine.runner import Frame
from course.engine.settings import clamp_setting, sim_settings, speed_setting, unknown_settings
from sims.base import Metric, Verdict
from tests.course.conftest import Countdown


@pytest.mark.parametrize(
    ("raw", "expected"), [("0.5", 0.5), ("-3", 0.0), ("nan", None), ("inf", None), ("x", None)]
)
def test_clamp_setting(raw, expected):
    value, _ = clamp_setting(param.Number(0.1, bounds=(0.0, 2.0)), raw)
    assert value == expected


def test_sim_settings_clamp_ignore_and_skip_what_the_sim_does_not_know():
    values, notices = sim_settings(
        Countdown.param, {"rate": "7", "size": "three", "chapter": "x", "other": "1"}
    )
    assert values == {"rate": 1.0}
    assert len(notices) == 2 and "outside" in notices[0] and "not a valid value" in notices[1]


def test_speed_goes_to_the_nearest_offered_stop():
    assert speed_setting(None, 5) == (5, None)
    assert speed_setting("20", 5) == (20, None)
    speed, notice = speed_setting("3", 5)
    assert speed == 2 and "not offered" in notice
    assert speed_setting("fast", 5)[0] == 5


def test_unknown_settings_are_named():
    assert unknown_settings(["seed", "speed", "bogus"], ["seed"]) == [
        "ignored unknown setting 'bogus'"
    ]


def frame(step=3, verdict=None, problem=None):
    return Frame(1, step, {}, {"x": 0.5}, ((), ()), verdict=verdict, problem=problem)


def test_status_states():
    assert render.status(frame(step=0), running=False)[0] == "ready"
    untrained = frame(step=0, verdict=Verdict("collapsed", "crowded"))
    assert render.status(untrained, running=False) == ("ready", "Ready · press Train (or Space)")
    assert render.status(frame(), running=True) == ("training", "Training")
    assert render.status(frame(), running=False)[0] == "paused"
    collapsed = frame(verdict=Verdict("collapsed", "all one point"))
    assert render.status(collapsed, running=True) == (
        "collapsed",
        "Training · all one point",
    )
    note = frame(verdict=Verdict("note", "near the ceiling"))
    assert render.status(note, running=True)[0] == "training"
    assert render.status(frame(problem="diverged"), running=True) == ("diverged", "diverged")


def test_verdict_states_are_checked():
    with pytest.raises(ValueError, match="state must be"):
        Verdict("broken", "text")


def test_readouts_show_label_value_and_unit_and_escape_html():
    metrics = {"x": Metric("<b>x</b>", "nats", "{:.2f}", "a doc")}
    html = render.readouts_html(frame(), metrics, ["x"])
    assert 'data-key="x"' in html and "0.50" in html and "nats" in html
    assert "<b>x</b>" not in html and "&lt;b&gt;" in html
    assert 'data-key="step"' in html


def test_status_html_escapes_notices():
    html = render.status_html("paused", "Paused", ["<script>"])
    assert 'data-state="paused"' in html and "<script>" not in html
