"""Click through the served course in headless Chromium, as a student would."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from course.chapters import chapters
from tests.browser.conftest import open_page

pytestmark = pytest.mark.browser

CHAPTERS = chapters()

READ = """([name, column]) => {
  for (const doc of Bokeh.documents) {
    const model = doc.get_model_by_name(name);
    if (model) return Array.from(model.data[column]);
  }
  return null;
}"""


VISIBLE = """(name) => {
  for (const doc of Bokeh.documents) {
    const model = doc.get_model_by_name(name);
    if (model) return model.visible;
  }
  return null;
}"""


def watched(part_class):
    """The first data source a part draws (it moves while the sim trains), and its first
    column."""
    part = part_class()
    part.plots()
    name, source = next(iter(part.sources.items()))
    return name, next(iter(source.data))


def read(page, part_class):
    return page.evaluate(READ, list(watched(part_class)))


def wait_until(page, condition, timeout=60.0, message="condition"):
    """Poll ``condition`` until it holds; the timeout is a bound for a loaded machine (CI runs
    the suite on two shared cores), not a wait: a state that comes comes in well under it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        page.wait_for_timeout(50)
    raise AssertionError(f"timed out waiting for {message}")


def state(page, index=0):
    return page.locator("[data-state]").nth(index).get_attribute("data-state")


def status_text(page, index=0):
    return page.locator("[data-state]").nth(index).inner_text()


def log_lines(page, text):
    return [line for line in Path(page.server_log).read_text().splitlines() if text in line]


def test_home_lists_every_chapter_in_order(course):
    open_page(course)
    links = course.locator("ol.chapter-list a")
    links.first.wait_for()  # an open websocket is not yet a rendered page
    assert links.count() == len(CHAPTERS)
    for link, chapter in zip(links.all(), CHAPTERS, strict=True):
        assert link.get_attribute("href") == f"?chapter={chapter.slug}"
    links.first.click()
    course.wait_for_url(f"**?chapter={CHAPTERS[0].slug}")


@pytest.mark.parametrize("chapter", CHAPTERS, ids=[c.slug for c in CHAPTERS])
def test_train_moves_points_pause_stops_reset_restores(course, chapter):
    """Every sim of the page in turn, on one load of it."""
    open_page(course, f"?chapter={chapter.slug}")
    for index, part in enumerate(chapter.part_classes()):
        assert state(course, index) == "ready", part.__name__
        first = read(course, part)
        assert first, f"{part.__name__}: nothing plotted before training"

        course.get_by_role("button", name="Train").nth(index).click()
        wait_until(course, lambda: read(course, part) != first, message="points to move")  # noqa: B023
        assert state(course, index) in {"training", "collapsed"}, part.__name__

        # Only this part trains: its Train button became the page's one Pause button.
        course.get_by_role("button", name="Pause").click()
        wait_until(
            course,
            lambda: "Paused" in status_text(course, index),  # noqa: B023
            message="the status to say paused",
        )
        paused = read(course, part)
        course.wait_for_timeout(700)  # a paused run stays put: there is no state to wait for
        assert read(course, part) == paused, f"{part.__name__}: points moved while paused"

        course.get_by_role("button", name="Reset").nth(index).click()
        wait_until(course, lambda: read(course, part) == first, message="the first frame back")  # noqa: B023
        assert state(course, index) == "ready", part.__name__


def test_step_and_keyboard_shortcuts(course):
    open_page(course, "?chapter=collapse")
    step = course.locator('td[data-key="step"]')
    course.get_by_role("button", name="Step").click()
    wait_until(course, lambda: step.inner_text() == "2", message="one frame of steps")
    course.locator("h1").first.click()  # focus the page, not a widget
    course.keyboard.press("s")
    wait_until(course, lambda: step.inner_text() == "4", message="S to step")
    course.keyboard.press(" ")
    wait_until(
        course,
        lambda: (
            state(course) in {"training", "collapsed"}
            and course.get_by_role("button", name="Pause").count() == 1
        ),
        message="Space to train",
    )
    course.keyboard.press(" ")
    wait_until(
        course,
        lambda: course.get_by_role("button", name="Train").count() == 1,
        message="Space to pause",
    )
    course.keyboard.press("r")
    wait_until(course, lambda: step.inner_text() == "0", message="R to reset")


def test_collapse_chapter_shows_collapse_and_the_floor_prevents_it(course):
    open_page(course, "?chapter=collapse&speed=20")
    course.get_by_role("button", name="Train").click()
    wait_until(course, lambda: state(course) == "collapsed", timeout=90, message="collapse")
    course.get_by_role("button", name="Pause").click()
    course.locator("input[type=checkbox]").first.check()  # the only one: Variance floor
    wait_until(course, lambda: course.evaluate(VISIBLE, "floor-line"), message="the floor line")
    course.get_by_role("button", name="Reset").click()
    course.get_by_role("button", name="Train").click()
    step = course.locator('td[data-key="step"]')
    wait_until(
        course,
        lambda: int(step.inner_text().replace(",", "")) >= 600,
        timeout=90,
        message="600 steps",
    )
    status = course.locator("[data-state]").first.inner_text()
    assert state(course) == "training", f"{status!r} at step {step.inner_text()}"
    ratio = course.locator('td[data-key="min_spread_over_floor"]').inner_text()
    assert float(ratio) >= 0.9


def test_unknown_chapter_and_bad_settings_show_notices(course):
    open_page(course, "?chapter=nonsense")
    course.get_by_text("There is no chapter called “nonsense”").wait_for()
    open_page(course, "?chapter=collapse&lr=banana&seed=99999")
    course.locator("[data-state] + .notice").first.wait_for()
    notices = " ".join(course.locator(".notice").all_inner_texts())
    assert "lr='banana'" in notices and "seed=99999 is outside" in notices


def test_go_deeper_is_collapsed_and_opens(course):
    open_page(course, "?chapter=agreement")
    deeper = course.get_by_text("Why the private part is dropped")
    assert not deeper.is_visible()
    course.get_by_text("Go deeper").first.click()
    deeper.wait_for(state="visible")


def test_dark_theme_and_navigation(course):
    open_page(course, "?chapter=agreement&theme=dark")
    course.get_by_role("link", name="Collapse →").click()
    course.wait_for_url("**?chapter=collapse")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def steps_shown(page) -> int:
    text = page.locator('[data-key="step"]').first.inner_text().replace(",", "")
    return int(text) if text.isdigit() else 0


def test_closing_the_tab_stops_training(course, browser):
    """While a run trains the server works; once its tab closes it goes quiet. Both are measured
    as CPU per second of wall time over a state (so many steps trained, the run's end logged),
    so a loaded machine slows both sides alike."""
    pid = course.server_pid
    other = browser.new_page()
    other.set_default_navigation_timeout(90_000)  # an upper bound on a loaded machine
    other.goto(course.server + "?chapter=collapse&speed=500&seed=4322")
    other.get_by_role("button", name="Train").click()
    other.get_by_role("button", name="Pause").wait_for()
    wait_until(other, lambda: steps_shown(other) > 0, timeout=90, message="training to start")
    start, before, began = steps_shown(other), cpu_seconds(pid), time.time()
    wait_until(
        other, lambda: steps_shown(other) >= start + 3000, timeout=120, message="3,000 steps"
    )
    busy = (cpu_seconds(pid) - before) / (time.time() - began)
    other.close()
    wait_until(
        course,
        lambda: log_lines(course, "CollapseChapter (seed 4322)"),
        timeout=90,
        message="the server to pause or close the orphaned run",
    )
    before, began = cpu_seconds(pid), time.time()
    course.wait_for_timeout(1500)  # a quiet server stays quiet: nothing to wait for
    idle = (cpu_seconds(pid) - before) / (time.time() - began)
    assert busy > 0, "training used no CPU"
    assert idle < 0.25 * busy, f"{idle:.2f} CPU-s/s after the tab closed, {busy:.2f} while training"


def test_leaving_a_chapter_ends_its_session_cleanly(course):
    """Bokeh destroys the session of a page that has gone: the page's runs must leave the
    trainer pool, and the clean-up callback must not fail (it once read a cleared global)."""
    open_page(course, "?chapter=contrastive&seed=4321")
    course.get_by_role("button", name="Train").first.click()
    wait_until(course, lambda: state(course) in {"training", "collapsed"}, message="training")
    open_page(course)  # leave: the chapter's session has no connection any more
    closed = wait_until(
        course,
        lambda: log_lines(course, "(seed 4321): session closed"),
        timeout=90,
        message="the session's clean-up",
    )
    wait_until(
        course,
        lambda: len(log_lines(course, "(seed 4321): session closed")) == 2,
        message="both parts' clean-up",
    )
    closed = log_lines(course, "(seed 4321): session closed")
    assert any("PushAndPull" in line for line in closed), closed
    assert any("TopAndBottom" in line for line in closed), closed
    assert all("left the trainer pool" in line for line in closed)
    assert not log_lines(course, "failed with following error")
