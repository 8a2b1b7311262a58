"""Every figure the collapse lesson quotes, recomputed (see ``tests/lessons/figures.py``).

The training figures come from the sim on seeds 0 to 2, the seeds its scenarios cover; a
figure the text gives as a range is checked as that range.
"""

from __future__ import annotations

import copy
import math
from functools import cache

import pytest
import torch

from models.losses import variance_floor_loss
from sims.collapse import CollapseSim
from tests.lessons.figures import lesson, quoted, rounds_to

SEEDS = (0, 1, 2)
LESSON = lesson("collapse")


@cache
def naive(seed: int) -> dict[str, float]:
    torch.set_num_threads(1)
    sim = CollapseSim(seed=seed)
    sim.run(400)
    return sim.measure()


@cache
def floored(seed: int) -> CollapseSim:
    torch.set_num_threads(1)
    sim = CollapseSim(seed=seed, variance_floor=True)
    sim.run(600)
    return sim


@cache
def weakened(weight: float, seed: int) -> dict[str, float]:
    """Train with the floor for 600 steps, set the floor weight, and train 600 more.

    Every reader works on a copy, so the floored run's random stream is the same whatever the
    order the tests run in."""
    sim = copy.deepcopy(floored(seed))
    sim.floor_weight = weight
    sim.run(600)
    return sim.measure()


def test_a_constant_costs_lambda_times_gamma_minus_root_eps():
    quoted(LESSON, "a constant now costs $\\lambda(\\gamma - \\sqrt{\\epsilon})$ per view")
    quoted(LESSON, "(0.99 at the defaults $\\lambda = \\gamma = 1$)")
    constant = torch.zeros(64, 2)
    sim = CollapseSim()
    cost = sim.floor_weight * float(variance_floor_loss(constant, sim.floor))
    assert cost == pytest.approx(sim.floor_weight * (sim.floor - math.sqrt(1e-4)))
    rounds_to([cost], 0.99, 2)


@pytest.mark.slow
def test_the_floored_run_ends_as_a_line():
    quoted(LESSON, "ends with an effective rank of 1.01 to 1.04 (seeds 0 to 2, step 600)")
    quoted(LESSON, "it ends close to 1 (1.01 to 1.04 on seeds 0 to 2 at step 600)")
    ranks = [copy.deepcopy(floored(seed)).measure()["effective_rank"] for seed in SEEDS]
    assert all(1.005 <= r < 1.045 for r in ranks), ranks
    assert min(round(r, 2) for r in ranks) == 1.01, ranks
    assert max(round(r, 2) for r in ranks) == 1.04, ranks


@pytest.mark.slow
def test_naive_agreement_collapses_below_one_percent():
    quoted(LESSON, "*spread vs start* falls below 1% within a few hundred steps")
    assert all(naive(seed)["spread_ratio"] < 0.01 for seed in SEEDS)


@pytest.mark.slow
def test_weakening_the_floor():
    quoted(LESSON, "Even at 0.1 the bars still reach the dashed line")
    assert all(weakened(0.1, seed)["min_spread_over_floor"] >= 0.99 for seed in SEEDS)
    quoted(LESSON, "reads between 0.46 and 1.00 on seeds 0 to 2")
    ratios = [weakened(0.03, seed)["min_spread_over_floor"] for seed in SEEDS]
    assert min(round(r, 2) for r in ratios) == 0.46, ratios
    assert max(round(r, 2) for r in ratios) == 1.00, ratios
    quoted(LESSON, "within 600 steps the spread is below 1% of its start")
    assert all(weakened(0.0, seed)["spread_ratio"] < 0.01 for seed in SEEDS)
