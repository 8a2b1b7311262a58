"""Measuring a sim never changes its run: the page measures a few times a second, whenever a
frame is due, and a headless run (a test, a prediction's grade, a downloaded script) measures
when it likes; both must see the same trajectory."""

import math

import pytest

from sims.base import discover

SIMS = list(discover().values())
STEPS = 6


@pytest.mark.parametrize("cls", SIMS, ids=lambda c: c.slug)
def test_measuring_and_snapshotting_leave_the_trajectory_alone(cls):
    watched, alone = cls(), cls()
    for _ in range(STEPS):
        watched.step()
        watched.measure()
        watched.snapshot()
    alone.run(STEPS)
    seen, expected = watched.measure(), alone.measure()
    for key, value in expected.items():
        if key in cls.metrics and cls.metrics[key].clock:
            continue  # a time per step
        # LAPACK may round a last bit by the alignment of its buffers; a changed trajectory
        # moves every value by far more.
        assert math.isclose(seen[key], value, rel_tol=1e-9, abs_tol=1e-12), (key, seen[key], value)
