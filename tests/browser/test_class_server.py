"""Serving a class, in Chromium: a server with two processes runs chapters, and past the
training limit a student waits in line and starts by himself when a place frees."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from course.chapters import chapters
from course.devserver import free_port, log_path, serve, stop
from tests.browser.conftest import open_page, prepare
from tests.browser.test_course import state, status_text, wait_until

pytestmark = pytest.mark.browser

CLEAN_UP = ("--check-unused-sessions", "1000", "--unused-session-lifetime", "6000")


def course_server(**options):
    port = free_port()
    process = serve(port, *CLEAN_UP, **options)
    return process, SimpleNamespace(
        url=f"http://127.0.0.1:{port}/course", pid=process.pid, log=log_path(port)
    )


@pytest.fixture(scope="module")
def two_processes():
    process, server = course_server(workers=2)
    yield server
    stop(process)


@pytest.fixture(scope="module")
def one_slot():
    process, server = course_server(env={"COURSE_MAX_TRAINING": "1"})
    yield server
    stop(process)


def steps(page, index=0) -> int:
    text = page.locator('td[data-key="step"]').nth(index).inner_text()
    return int(text.replace(",", "") or 0)


# Each chapter's page is trained in a browser by test_course.py; here what is new is the two
# processes (a page's HTML and its websocket may reach different ones): the lightest page, the
# heaviest and one with several sims.
ON_TWO = ("collapse", "contrastive", "beyond-mi")


def test_chapters_train_on_a_server_with_two_processes(page, two_processes):
    course = prepare(page, two_processes)
    assert set(ON_TWO) <= {c.slug for c in chapters()}
    for slug in ON_TWO:
        open_page(course, f"?chapter={slug}")
        course.get_by_role("button", name="Train").first.click()
        wait_until(course, lambda: steps(course) > 0, message=f"{slug} to train")
        course.get_by_role("button", name="Pause").first.click()
        wait_until(course, lambda: state(course) != "training", message=f"{slug} paused")
    assert not course.errors, course.errors


def test_past_the_limit_a_student_waits_in_line_then_trains(page, one_slot):
    first = prepare(page, one_slot)
    open_page(first, "?chapter=collapse&seed=11")
    first.get_by_role("button", name="Train").click()
    wait_until(first, lambda: steps(first) > 0, message="the first student to train")

    second = prepare(first.context.new_page(), one_slot)
    open_page(second, "?chapter=collapse&seed=12")
    second.get_by_role("button", name="Train").click()
    wait_until(second, lambda: state(second) == "waiting", message="the second to wait")
    said = status_text(second)
    assert "The class server is busy: 1 student is training; you are next in line" in said
    assert steps(second) == 0

    first.get_by_role("button", name="Pause").click()
    wait_until(second, lambda: steps(second) > 0, message="the second to start by itself")
    wait_until(second, lambda: state(second) == "training", message="the second's status")
    assert not first.errors and not second.errors, first.errors + second.errors
