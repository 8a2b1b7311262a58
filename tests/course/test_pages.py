"""Every chapter page builds and its controls drive its sim (chapters are found automatically)."""

import re
from pathlib import Path

import numpy as np
import param
import pytest
import torch

from course.chapters import chapters
from course.engine.chapter import Text
from course.shell import build
from sims.base import discover

CHAPTERS = chapters()


def args(**kw):
    return {k: [str(v).encode()] for k, v in kw.items()}


def test_chapters_are_found_in_course_order():
    slugs = [c.slug for c in CHAPTERS]
    assert slugs[:2] == ["agreement", "collapse"]
    assert len(set(c.order for c in CHAPTERS)) == len(CHAPTERS)


PARTS = [(c, part) for c in CHAPTERS for part in c.part_classes()]


def test_readme_lists_every_chapter_in_course_order():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    listed = re.findall(r"^\| (\d+) \| \[[^]]+\]\(course/lessons/([\w-]+)\.md\)", readme, re.M)
    assert listed == [(str(i), c.slug) for i, c in enumerate(CHAPTERS, 1)]


def test_every_sim_is_on_a_page():
    shown = {part.sim for _, part in PARTS}
    missing = [cls.slug for cls in discover().values() if cls not in shown]
    assert not missing, f"sims on no page: {missing}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda c: c.slug)
def test_chapter_text_has_every_section(chapter):
    text = chapter.text()
    assert isinstance(text, Text)
    for field in ("title", "question", "summary", "lesson", "try_these", "deeper", "key_idea"):
        assert getattr(text, field).strip(), field


@pytest.mark.parametrize(
    ("chapter", "index"),
    [(c, i) for c in CHAPTERS for i in range(len(c.part_classes()))],
    ids=lambda x: getattr(x, "slug", str(x)),
)
def test_page_builds_and_controls_drive_the_sim(chapter, index):
    _template, views = build(args(chapter=chapter.slug))
    assert len(views) == len(chapter.part_classes())
    view = views[index]
    for v in views:
        v.pool.remove(v.runner)  # driven by hand below, not from the pool's thread
    part = type(view.part)
    first = {k: v.data for k, v in view.part.sources.items()}
    assert any(len(next(iter(d.values()), [])) for d in first.values()), "nothing drawn at step 0"

    view.step_button.clicks += 1
    view.flush()
    assert view.runner.sim.steps == view.runner.steps_per_frame
    assert part.controls, "a sim with no controls"
    assert len(view.loss_source.data["step"]) > 0
    assert "Paused at step" in view.status.text

    view.train_button.clicks += 1
    assert view.runner.running and view.train_button.label == "Pause"
    view.train_button.clicks += 1
    assert not view.runner.running and view.train_button.label == "Train"

    view.reset_button.clicks += 1
    view.flush()
    assert view.runner.sim.steps == 0
    assert len(view.loss_source.data["step"]) == 0
    for name, source in view.part.sources.items():
        for column, values in source.data.items():
            np.testing.assert_array_equal(values, first[name][column], err_msg=f"{name}.{column}")

    view.speed.value = 20
    assert view.runner.steps_per_frame == 20

    for name, widget in view.param_widgets.items():
        p = view.runner.sim.param[name]
        view.runner.step_frame()
        if hasattr(widget, "end"):  # a slider: drive it to both ends of its range
            for value in (widget.end, widget.start):
                _set(widget, value)
                assert getattr(view.runner.sim, name) == value
        elif hasattr(widget, "options"):
            _set(widget, widget.options[-1])
        else:
            _set(widget, not widget.value)
        if name in part.sim.live:
            assert view.runner.sim.steps > 0, f"live setting {name} reset the run"
        else:
            assert view.runner.sim.steps == 0, f"{p.label} should restart the run"
            assert "restarted" in view.status.text
        view.runner.step_frame()  # every extreme setting still trains without an exception
        view.flush()
        assert "stopped" not in (view.runner.problem or ""), view.runner.problem


def _set(widget, value):
    """As the browser does: ``value`` while dragging, ``value_throttled`` on release."""
    widget.value = value
    if "value_throttled" in widget.param:
        with param.edit_constant(widget):
            widget.value_throttled = value


def page(**kw):
    _, views = build(args(**kw))
    views[0].pool.remove(views[0].runner)  # driven by hand, not from the pool's thread
    return views[0]


def test_keyboard_shortcuts_map_to_controls():
    view = page(chapter="collapse")
    view.shortcuts._handle_msg("step")
    assert view.runner.sim.steps > 0
    view.shortcuts._handle_msg("space")
    assert view.runner.running
    view.shortcuts._handle_msg("space")
    view.shortcuts._handle_msg("reset")
    assert view.runner.sim.steps == 0 and not view.runner.running


def test_home_page_lists_every_chapter():
    template, views = build({})
    assert views == []
    html = template.sidebar[0].object
    for chapter in CHAPTERS:
        assert f"?chapter={chapter.slug}" in html


def test_unknown_chapter_shows_home_with_a_notice():
    template, views = build(args(chapter="<script>nope"))
    assert views == []
    notice = template.main[0][0].object
    assert "no chapter called" in notice and "<script>" not in notice


def test_url_settings_are_applied_clamped_or_ignored_with_notices():
    view = page(
        chapter="collapse",
        seed=7,
        lr="1e9",
        floor="banana",
        bogus=1,
        variance_floor="true",
        speed=3,
    )
    sim = view.runner.sim
    assert sim.seed == 7 and sim.lr == 1.0 and sim.variance_floor is True and sim.floor == 1.0
    assert view.runner.steps_per_frame == 2
    notices = " ".join(view.notices)
    assert "outside" in notices and "not a valid value" in notices and "unknown" in notices
    assert "speed=3" in notices
    assert "outside" in view.status.text


def test_view_drops_stale_frames_but_keeps_their_loss_points():
    view = page(chapter="collapse")
    for _ in range(3):  # three frames arrive before the page gets to draw
        view.runner.step_frame()
    view.flush()
    assert view.drawn_frame_id == view.runner.frame.id
    assert view.loss_source.data["step"][-1] == view.runner.sim.steps
    assert len(view.loss_source.data["step"]) == view.runner.sim.steps


def test_reset_drops_loss_points_not_yet_drawn():
    view = page(chapter="collapse")
    view.runner.toggle()
    for _ in range(2):  # frames while training: the loss curve waits for the next text refresh
        view.runner.advance(budget=1.0)
        view.flush()
    view.runner.advance(budget=1.0)  # and one the page has not drawn at all
    view.reset()
    view.runner.advance(budget=1.0)
    view.flush()
    steps = view.loss_source.data["step"]
    assert list(steps) == list(range(1, view.runner.sim.steps + 1)), "points from before Reset"


def test_diverged_run_shows_a_plain_message():
    view = page(chapter="collapse")
    view.runner.step_frame()
    with torch.no_grad():
        view.runner.sim.encoder[0].weight[0, 0] = float("inf")  # as an exploding step would
    view.train_button.clicks += 1
    view.runner.advance(budget=1.0)
    assert not view.runner.running
    view.flush()
    assert "diverged" in view.status.text and "lower the learning rate" in view.status.text
    assert 'data-state="diverged"' in view.status.text
