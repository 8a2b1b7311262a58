"""Every figure the collapse lesson quotes, recomputed (see ``tests/lessons/figures.py``).

The training figures come from the sim on seeds 0 to 2, the seeds its scenarios cover; a
figure the text gives as a range is checked as that range.
"""

from __future__ import annotations

import math
from functools import cache

import pytest
import torch

from models.losses import variance_floor_loss
from sims.collapse import CollapseSim
from tests.lessons.figures import lesson, quoted, rounds_to
from tests.runs import RUNS

SEEDS = (0, 1, 2)
LESSON = lesson("collapse")


def naive(seed: int) -> dict[str, float]:
    return RUNS.measure(CollapseSim, 400, {"seed": seed})


def floored(seed: int) -> CollapseSim:
    """The floored run at step 600: a copy of the shared run."""
    return RUNS.at(CollapseSim, 600, {"seed": seed, "variance_floor": True})


@cache
def weakened(weight: float, seed: int) -> dict[str, float]:
    """Train with the floor for 600 steps, set the floor weight, and train 600 more."""
    sim = floored(seed)
    sim.floor_weight = weight
    sim.run(600)
    return sim.measure()


def test_the_floor_penalises_collapse_it_does_not_forbid_it():
    """A constant is charged a finite lambda (gamma - sqrt(eps)) per view, a price that scales
    with the weight, not a constraint (try 3 reads how little a small weight holds)."""
    quoted(
        LESSON, "a variance floor penalises that complete collapse, as strongly as its weight says"
    )
    quoted(LESSON, "The floor does not forbid collapse; it makes it cost something, and the weight")
    constant = torch.zeros(64, 2)
    sim = CollapseSim()
    cost = float(variance_floor_loss(constant, sim.floor))
    assert 0 < cost < math.inf  # a price, paid in full by a collapsed run at any weight


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
    ranks = [floored(seed).measure()["effective_rank"] for seed in SEEDS]
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
    quoted(LESSON, "at $\\lambda = 0.03$ the smallest spread can sink to 0.46 of the floor (try 3)")
    ratios = [weakened(0.03, seed)["min_spread_over_floor"] for seed in SEEDS]
    assert min(round(r, 2) for r in ratios) == 0.46, ratios
    assert max(round(r, 2) for r in ratios) == 1.00, ratios
    quoted(LESSON, "within 600 steps the spread is below 1% of its start")
    assert all(weakened(0.0, seed)["spread_ratio"] < 0.01 for seed in SEEDS)
