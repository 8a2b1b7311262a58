"""Every figure the agreement lesson quotes, recomputed (see ``tests/lessons/figures.py``).

The sim is trained on seeds 0 to 2, the seeds its scenario covers; a figure given as a range
is checked as the range over those seeds.
"""

from __future__ import annotations

import copy
from functools import cache

import pytest
import torch

from sims.agreement import AgreementSim
from tests.lessons.figures import lesson, quoted, rounds_to

SEEDS = (0, 1, 2)
LESSON = lesson("agreement")


@cache
def trained(seed: int) -> dict[int, dict[str, float]]:
    """The normalised run measured at steps 0, 600 and 1050 (each on a copy of the run)."""
    torch.set_num_threads(1)
    sim = AgreementSim(seed=seed)
    out = {0: copy.deepcopy(sim).measure()}
    sim.run(600)
    out[600] = copy.deepcopy(sim).measure()
    sim.run(450)
    out[1050] = sim.measure()
    return out


@cache
def unnormalised(seed: int) -> dict[str, float]:
    torch.set_num_threads(1)
    sim = AgreementSim(seed=seed, normalise=False)
    sim.run(600)
    return sim.measure()


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
