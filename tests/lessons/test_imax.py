"""Every figure the imax lesson quotes about its sims, recomputed (see
``tests/lessons/figures.py``): closed forms from ``models.imax``, sample figures from the sims on
the seeds the text names.
"""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
import torch

from models.imax import (
    gaussian_imax,
    gaussian_info_about_signal,
    imax_objective,
    two_view_gaussian_mi,
)
from sims.imax_gaussian import ImaxGaussianSim
from sims.imax_stereo import ImaxStereoSim
from tests.lessons.figures import lesson, quoted, rounds_to, within
from tests.runs import RUNS

LESSON = lesson("imax")


def gaussian(seed: int = 0, **settings) -> dict[str, float]:
    return RUNS.measure(ImaxGaussianSim, 100, {"seed": seed, **settings})


def test_the_ratio_is_of_the_sum_and_the_difference():
    quoted(LESSON, "the variance of the two outputs' sum over the variance of their difference")
    quoted(LESSON, "the variance of two outputs' sum over the variance of their difference")
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(2, 500, generator=g, dtype=torch.float64)
    b = a + 0.5 * b
    expected = 0.5 * math.log(float((a + b).var() / (a - b).var()))
    assert float(imax_objective(a, b, eps=0.0)) == pytest.approx(expected)
    quoted(LESSON, "so do two constants, once a small $\\epsilon$ is added to both variances")
    constant = torch.full((500,), 3.0, dtype=torch.float64)
    assert float(imax_objective(constant, constant)) == 0.0
    assert math.isnan(float(imax_objective(constant, constant, eps=0.0)))  # 0 / 0 without it


def test_try_1_the_samples_settle():
    quoted(LESSON, "IMAX $= \\tfrac12\\ln 9 = 1.099$ nats and $I(a;b) = 0.511$ nats")
    rounds_to([gaussian_imax(1, 0.5, 0.5), 0.5 * math.log(9)], 1.099, 3)
    rounds_to([two_view_gaussian_mi(1, 0.5, 0.5)], 0.511, 3)
    quoted(LESSON, "100 steps (30,300 pairs, seed 0) the samples give 1.092 and 0.506")
    m = gaussian()
    assert m["samples"] == 30300
    rounds_to([m["imax"]], 1.092, 3)
    rounds_to([m["mi_sample"]], 0.506, 3)


def test_try_2_drown_the_signal():
    m = gaussian(signal=0.1, noise_a=3.0, noise_b=3.0)
    quoted(LESSON, "the two bars are equal (about 18 each)")
    rounds_to([m["var_sum"], m["var_diff"]], 18, 0)
    quoted(LESSON, "the closed-form IMAX drops to 0.001 nats")
    rounds_to([gaussian_imax(0.1, 3.0, 3.0)], 0.001, 3)
    quoted(LESSON, "(−0.004 after 100 steps with seed 0)")
    rounds_to([m["imax"]], -0.004, 3)


def test_try_3_move_the_noise():
    quoted(LESSON, "IMAX does not move (1.099 nats), but $I(a;b)$ rises to 0.546 nats")
    rounds_to([gaussian_imax(1, 0.1, 0.7)], 1.099, 3)
    rounds_to([two_view_gaussian_mi(1, 0.1, 0.7)], 0.546, 3)
    quoted(LESSON, "jumps from 1.099 to 2.318 nats")
    rounds_to([gaussian_info_about_signal(1, 0.5, 0.5)], 1.099, 3)
    rounds_to([gaussian_info_about_signal(1, 0.1, 0.7)], 2.318, 3)


@cache
def stereo() -> tuple[dict[str, float], list[dict[str, float]]]:
    """Seed 0 at 600 steps, then after 150, 300, 450 and 600 naive steps."""
    sim = RUNS.at(ImaxStereoSim, 600, {"seed": 0})
    trained = sim.measure()
    sim.naive = True
    naive = []
    for _ in range(4):
        sim.run(150)
        naive.append(sim.measure())
    return trained, naive


def flat(seed: int) -> dict[str, float]:
    return RUNS.measure(ImaxStereoSim, 600, {"seed": seed, "slant": 0.0})


@pytest.mark.slow
def test_try_4_learn_depth_then_collapse_it():
    trained, naive = stereo()
    quoted(LESSON, "(seed 0 at 600 steps: corr(A, B) 0.951, corr(A, disparity) +0.988,")
    quoted(LESSON, "IMAX 1.81 nats, spread 3.5 times its start)")
    rounds_to([trained["corr_ab"]], 0.951, 3)
    rounds_to([trained["corr_disparity"]], 0.988, 3)
    rounds_to([trained["imax"]], 1.81, 2)
    rounds_to([trained["spread_ratio"]], 3.5, 1)
    quoted(LESSON, "in the stereo sim, 1.81 nats against $\\operatorname{artanh}(0.951) = 1.84$")
    rounds_to([math.atanh(round(trained["corr_ab"], 3))], 1.84, 2)
    quoted(LESSON, "about 2.0, 1.1, 0.52 and 0.24 times its start after 150, 300, 450 and 600")
    for m, figure, decimals in zip(naive, (2.0, 1.1, 0.52, 0.24), (1, 1, 2, 2), strict=True):
        rounds_to([m["spread_ratio"]], figure, decimals)


@pytest.mark.slow
def test_try_5_flat_surfaces():
    quoted(LESSON, "(corr(A, B) above 0.999, and disparity explains over 99.9% of the output)")
    within([flat(0)["corr_ab"]], 0.999, 1.0)  # its 4th decimal drifts between CPUs
    within([100 * flat(0)["disparity_r2"]], 99.9, 100.0)
    quoted(LESSON, "corr(A, disparity) is only 0.87")
    rounds_to([flat(0)["corr_disparity"]], 0.87, 2)
    quoted(LESSON, "(corr(A, |disparity|) about −0.8)")
    rounds_to([flat(1)["corr_depth_magnitude"], flat(2)["corr_depth_magnitude"]], -0.8, 1)


def test_go_deeper_maximal_correlation_of_the_tilted_recipe():
    """Hirschfeld-Gebelein-Renyi: the second singular value of P(a, b) / sqrt(P(a) P(b)) is the
    highest correlation any codes f(d_A), g(d_B) reach; its left singular vector gives f."""
    quoted(LESSON, "the best code is $(-1, -0.615, 0, 0.615, 1)$ over disparities $-2$ to $2$")
    sim = ImaxStereoSim()
    slant, top = sim.slant, sim.max_disparity
    d_a = np.arange(-top, top + 1)
    joint = np.zeros((len(d_a), len(d_a) + 2))  # d_B runs one step further each way
    for i in range(len(d_a)):
        for step, p in ((-1, slant / 2), (0, 1 - slant), (1, slant / 2)):
            joint[i, i + 1 + step] += p / len(d_a)
    p_a, p_b = joint.sum(axis=1), joint.sum(axis=0)
    u, s, _ = np.linalg.svd(joint / np.sqrt(np.outer(p_a, p_b)))
    code = u[:, 1] / np.sqrt(p_a)
    code = code / np.abs(code).max() * np.sign(code[-1])
    np.testing.assert_allclose(code, [-1, -0.615, 0, 0.615, 1], atol=5e-4)
    quoted(LESSON, "monotone and correlated with $d$ at 0.996")
    assert np.all(np.diff(code) > 0)
    rounds_to([np.corrcoef(code, d_a)[0, 1]], 0.996, 3)  # d_A is uniform: plain corrcoef
    quoted(LESSON, "its agreement ceiling is 0.952 (0.943 for a straight-line code)")
    rounds_to([s[1]], 0.952, 3)
    rounds_to([math.sqrt(d_a.var() / (d_a.var() + slant))], 0.943, 3)  # var(step) = slant
