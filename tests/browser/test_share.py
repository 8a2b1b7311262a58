"""Predict, set up, pin, download and share, clicked through in Chromium: each test waits for
the state it needs (a step count, a verdict, an address), never for a fixed time."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from sims.collapse import CollapseSim
from tests.browser.conftest import open_page
from tests.browser.test_course import READ, state, status_text, wait_until

pytestmark = pytest.mark.browser


def query(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def notices(page) -> str:
    return " ".join(page.locator(".notice").all_inner_texts())


def step_shown(page, index=0) -> int:
    text = page.locator('td[data-key="step"]').nth(index).inner_text()
    return int(text.replace(",", "") or 0)


def test_the_address_follows_the_controls_and_reopens_them(course):
    open_page(course, "?chapter=collapse")
    wait_until(course, lambda: query(course).get("floor_weight") == "1.0", message="full address")
    assert set(query(course)) >= {"chapter", "variance_floor", "lr", "seed", "speed"}
    course.locator("input[type=checkbox]").first.check()  # Variance floor
    wait_until(course, lambda: query(course).get("variance_floor") == "true", message="the tick")
    course.get_by_role("button", name="Step").click()
    wait_until(course, lambda: query(course).get("step") == "2", message="the paused step")
    link = course.url
    open_page(course, "?chapter=agreement")
    open_page(course, link[len(course.server) :])
    wait_until(course, lambda: "Opened at step 2" in notices(course), message="step 2 again")
    assert step_shown(course) == 2
    assert course.locator("input[type=checkbox]").first.is_checked()


def test_a_link_with_a_step_opens_paused_there_and_an_absurd_step_is_capped(course):
    open_page(course, "?chapter=collapse&step=150&speed=2")
    wait_until(course, lambda: "Paused at step 150" in status_text(course), message="step 150")
    assert step_shown(course) == 150
    open_page(course, "?chapter=collapse&step=banana")
    course.locator("[data-state] + .notice").first.wait_for()
    assert "ignored step='banana'" in notices(course)


def test_lock_disables_and_hide_removes_a_control(course):
    open_page(course, "?chapter=collapse&lock=variance_floor&hide=floor_weight,nope")
    box = course.locator("input[type=checkbox]").first
    box.wait_for()
    assert box.is_disabled()
    controls = course.locator(".sim-controls").first
    assert controls.get_by_text("Floor:").filter(visible=True).count() == 1
    assert controls.get_by_text("Floor weight:").filter(visible=True).count() == 0
    said = notices(course)
    assert "Fixed by this link: Variance floor" in said and "hide of 'nope'" in said


def test_more_settings_are_collapsed_until_opened(course):
    open_page(course, "?chapter=collapse")
    seed = course.get_by_text("Seed:", exact=False)
    course.get_by_text("More settings").first.wait_for()
    assert seed.filter(visible=True).count() == 0
    course.get_by_text("More settings").first.click()
    wait_until(course, lambda: seed.filter(visible=True).count() == 1, message="seed shown")


@pytest.mark.parametrize("right", [True, False], ids=["right", "wrong"])
def test_a_prediction_is_graded_by_what_the_sim_measures(course, right):
    prediction = CollapseSim.predictions[0]
    answer = int(prediction.answer)
    chosen = answer if right else (answer + 1) % len(prediction.choices)
    open_page(course, "?chapter=collapse&speed=20")
    card = course.locator(".prediction").first
    card.get_by_role("button", name=prediction.choices[chosen].label, exact=True).click()
    verdict = card.locator("[data-prediction]")
    wait_until(
        course,
        lambda: verdict.count() and verdict.get_attribute("data-prediction") in {"right", "wrong"},
        timeout=60,
        message="the verdict",
    )
    assert verdict.get_attribute("data-prediction") == ("right" if right else "wrong")
    assert step_shown(course) == prediction.steps and state(course) in {"paused", "collapsed"}
    assert prediction.why in verdict.inner_text()


def test_set_this_up_applies_an_experiment(course):
    preset = next(p for p in CollapseSim.presets if p.settings.get("variance_floor"))
    open_page(course, "?chapter=collapse")
    course.get_by_role("button", name="Step").click()
    wait_until(course, lambda: step_shown(course) == 2, message="a step")
    items = [p.name for p in CollapseSim.presets]
    course.get_by_role("button", name="Set this up").nth(items.index(preset.name)).click()
    wait_until(course, lambda: step_shown(course) == 0, message="back to step 0")
    assert course.locator("input[type=checkbox]").first.is_checked()
    wait_until(course, lambda: query(course).get("variance_floor") == "true", message="address")


def test_pin_keeps_a_ghost_and_clear_removes_it(course):
    open_page(course, "?chapter=collapse&speed=20")
    course.get_by_role("button", name="Train").click()
    wait_until(course, lambda: step_shown(course) >= 100, timeout=90, message="100 steps")
    course.get_by_role("button", name="Pause").click()
    wait_until(course, lambda: "Paused" in status_text(course), message="paused")
    course.get_by_role("button", name="Pin", exact=True).click()
    ghost = lambda: course.evaluate(READ, ["pin-a-0-loss", "step"]) or []  # noqa: E731
    wait_until(course, lambda: len(ghost()) > 0, message="the ghost")
    course.get_by_text("Pinned: A").wait_for()
    course.get_by_role("button", name="Clear pins").click()
    wait_until(course, lambda: len(ghost()) == 0, message="the ghost gone")


def test_download_script_gives_the_runs_script(course):
    open_page(course, "?chapter=collapse&lr=0.1")
    with course.expect_download() as download:
        course.get_by_role("button", name="Download script").click()
    path = download.value.path()
    text = Path(path).read_text(encoding="utf-8")
    assert download.value.suggested_filename == "collapse_run.py"
    assert "'lr': 0.1" in text or '"lr": 0.1' in text
    compile(text, "collapse_run.py", "exec")


def test_copy_link_copies_the_address(course, context):
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_page(course, "?chapter=collapse&seed=3")
    wait_until(course, lambda: query(course).get("floor") == "1.0", message="full address")
    course.get_by_role("button", name="Copy link").click()
    course.get_by_role("button", name="Link copied").wait_for()
    assert course.evaluate("navigator.clipboard.readText()") == course.url
