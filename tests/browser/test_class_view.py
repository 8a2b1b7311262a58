"""The instructor's class view, in Chromium: a student's page training shows up there live."""

from __future__ import annotations

import pytest

from tests.browser.conftest import open_page, prepare
from tests.browser.test_course import wait_until

pytestmark = pytest.mark.browser


def counts(page, slug: str) -> tuple[int, int]:
    row = page.locator(f'tr[data-chapter="{slug}"]')
    return int(row.locator('td[data-key="open"]').inner_text()), int(
        row.locator('td[data-key="training"]').inner_text()
    )


def test_the_class_view_follows_a_student_training(course, server):
    open_page(course, "?chapter=collapse&seed=5")
    teacher = prepare(course.context.new_page(), server)
    open_page(teacher, "?view=class")
    # an open websocket is not yet a drawn page: wait for the view's text
    teacher.get_by_text("Counts only: no names, no addresses.").wait_for()
    wait_until(teacher, lambda: counts(teacher, "collapse")[0] >= 1, message="1 open")
    course.get_by_role("button", name="Train").first.click()
    wait_until(teacher, lambda: counts(teacher, "collapse")[1] == 1, message="1 training")
    course.get_by_role("button", name="Pause").first.click()
    wait_until(teacher, lambda: counts(teacher, "collapse")[1] == 0, message="0 training")
    assert not teacher.errors, teacher.errors
