"""Every figure the agreement lesson quotes, recomputed (see ``tests/lessons/figures.py``).

The sim is trained on seeds 0 to 2, the seeds its scenario covers; a figure given as a range
is checked as the range over those seeds.
"""

from __future__ import annotations

import pytest
import torch

from sims.agreement import AgreementSim
from tests.lessons.figures import lesson, quoted, rounds_to
from tests.runs import RUNS

SEEDS = (0, 1, 2)
LESSON = lesson("agreement")


def trained(seed: int) -> dict[int, dict[str, float]]:
    """The normalised run measured at steps 0, 600 and 1050."""
    return {steps: RUNS.measure(AgreementSim, steps, {"seed": seed}) for steps in (0, 600, 1050)}


def unnormalised(seed: int) -> dict[str, float]:
    return RUNS.measure(AgreementSim, 600, {"seed": seed, "normalise": False})


@pytest.mark.slow
def test_try_1_disagreement_falls():
    quoted(LESSON, "falls from 69 to 99% at step 0 to below 1% by step 600 (seeds 0 to 2)")
    start = [trained(seed)[0]["disagreement"] for seed in SEEDS]
    assert round(100 * min(start)) == 69 and round(100 * max(start)) == 99, start
    assert all(trained(seed)[600]["disagreement"] < 0.01 for seed in SEEDS)


@pytest.mark.slow
def test_try_2_hidden_signal():
    quoted(LESSON, "is above 0.85 after 600 steps on seeds 0 to 2")
    assert all(trained(seed)[600]["signal_r2"] > 0.85 for seed in SEEDS)
    for seed, (before, after) in {0: (0.91, 0.96), 1: (0.72, 0.88), 2: (0.81, 1.00)}.items():
        quoted(LESSON, f"seed {seed}: {before:.2f} to {after:.2f}")
        rounds_to([trained(seed)[0]["signal_r2"]], before, 2)
        rounds_to([trained(seed)[600]["signal_r2"]], after, 2)
    quoted(LESSON, "it dips to about 0.76 around step 1,000")
    rounds_to([trained(1)[1050]["signal_r2"]], 0.76, 2)


@pytest.mark.slow
def test_try_4_without_the_normaliser():
    runs = [unnormalised(seed) for seed in SEEDS]
    quoted(LESSON, "drops to about zero (0.0001 at step 600)")
    rounds_to([m["loss"] for m in runs], 0.0001, 4)
    quoted(LESSON, "(0.01 to 0.04 of its start by step 600, seeds 0 to 2)")
    sizes = [m["spread_ratio"] for m in runs]
    assert round(min(sizes), 2) == 0.01 and round(max(sizes), 2) == 0.04, sizes
    quoted(
        LESSON,
        "on seeds 0 and 1 the colours stop sorting (*hidden signal in code A* 0.33 and 0.58)",
    )
    rounds_to([runs[0]["signal_r2"]], 0.33, 2)
    rounds_to([runs[1]["signal_r2"]], 0.58, 2)


def test_the_signal_can_be_read_off_each_view():
    """The condition under which agreement drops the nuisances: s is a function of each view.
    In the sim every camera lifts (s, its nuisance) into six numbers, and no two scenes give
    one camera the same view, so each view determines its scene's s."""
    quoted(LESSON, "$s$ must be a function of $x_A$, and likewise of $x_B$")
    quoted(LESSON, "each camera turns two numbers, $s$ and its own nuisance, into six")
    quoted(LESSON, "no two scenes look alike to it")
    for seed in SEEDS:
        sim = AgreementSim(seed=seed)
        assert sim.x_a.shape[1] == sim.x_b.shape[1] == 6
        for view in (sim.x_a, sim.x_b):
            apart = torch.cdist(view, view) + torch.eye(len(view))  # (n, n), diagonal lifted
            assert float(apart.min()) > 1e-3
    quoted(LESSON, "It fails for a view as simple as $x_A = s + u_A$")
