"""Every figure the local-global lesson quotes, recomputed (see ``tests/lessons/figures.py``).

The sim is trained for 300 steps (400 at the top learning rate) on seeds 0 to 2, the seeds its
scenarios cover; a figure the text gives as a range is checked as that range, to the decimals it
is printed with, and a range it gives as "between X and Y" (a figure that drifts between
machines) only has to hold every seed.
"""

from __future__ import annotations

import math
from functools import cache

import pytest
import torch

from models.dim import global_local_nce, score_penalty, soft_clip
from sims.local_global import LocalGlobalSim
from tests.lessons.figures import lesson, percent, quoted, rounds_to, spans, within
from tests.runs import RUNS

SEEDS = (0, 1, 2)
LESSON = lesson("local-global")
OFF = {"penalty": False, "clip": False}


@cache
def trained(seed: int, steps: int = 300, **settings) -> tuple[dict, LocalGlobalSim]:
    """The run's measurements and (for its verdict) the run; kept, as the tests read it often."""
    sim = RUNS.at(LocalGlobalSim, steps, {"seed": seed, **settings})
    return sim.measure(), sim


def measured(key: str, **settings) -> list[float]:
    return [trained(seed, **settings)[0][key] for seed in SEEDS]


def test_the_candidates_and_the_ceiling():
    quoted(LESSON, "$K = 1 + 16 \\cdot 31 = 497$ candidates and the ceiling is $\\log 497 = 6.21$")
    assert LocalGlobalSim().measure()["ceiling"] == pytest.approx(math.log(1 + 16 * 31))
    rounds_to([math.log(497)], 6.21, 2)


def test_go_deeper_what_the_clip_and_the_penalty_change():
    quoted(LESSON, "The clip is strictly increasing, so it keeps every ranking")
    c = LocalGlobalSim().clip_c
    scores = torch.linspace(-80, 80, 401, dtype=torch.float64).requires_grad_()
    clipped = soft_clip(scores, c)
    steps = clipped.detach().diff()
    assert bool((steps > 0).all())  # every ranking kept, however large the scores
    assert float(steps[-1]) < float(scores.detach().diff()[-1]) / 10  # by a smaller margin
    quoted(LESSON, "the clip scales each score's gradient by $1 - \\tanh^2(s/c)$")
    (grad,) = torch.autograd.grad(clipped.sum(), scores)
    assert torch.allclose(grad, 1 - torch.tanh(scores.detach() / c) ** 2)
    assert grad[200] == pytest.approx(1.0) and float(grad[-1]) < 0.01  # s = 0 and s = 4c
    quoted(LESSON, "The penalty adds a term to the objective, so the scores that minimise the")
    # A batch the NCE cost alone would score ever higher: its gradient never vanishes, while
    # with the penalty the total has a finite minimiser, so the best scores move.
    gap = torch.tensor(5.0, requires_grad=True)
    eye = torch.eye(4).unsqueeze(2).expand(4, 4, 3)  # (N, N, P): positives on the diagonal
    nce = global_local_nce(gap * eye)
    (nce_grad,) = torch.autograd.grad(nce, gap)
    assert float(nce_grad) < 0  # the NCE cost alone still rewards a larger gap
    total = global_local_nce(gap * eye) + 0.04 * score_penalty(gap * eye)
    (total_grad,) = torch.autograd.grad(total, gap)
    assert float(total_grad) > 0  # with the penalty, a gap of 5 is already too large
    quoted(LESSON, "the penalty adds to each score a pull towards 0 in proportion to its size")
    s_ = torch.tensor([1.0, -3.0, 7.0], requires_grad=True)
    (pull,) = torch.autograd.grad(score_penalty(s_), s_)
    assert torch.allclose(pull, 2 * s_.detach() / 3)


@pytest.mark.slow
def test_try_1_everything_on():
    quoted(
        LESSON, "the largest is between 5 and 11 in size (seeds 0 to 2), far inside the clip of 20"
    )
    within(measured("neg_abs_max"), 5, 11)
    assert LocalGlobalSim().clip_c == 20
    quoted(LESSON, "nothing reaches it")
    assert all(v == 0 for v in measured("near_clip"))
    quoted(LESSON, "The bound on held-out digits reads only between 0.8 and 1.2 of its 6.21-nat")
    within(measured("bound"), 0.8, 1.2)
    quoted(
        LESSON, "the probe ends between 85 and 92%, between 2 and 10 points *below* the untrained"
    )
    within(percent(measured("probe_accuracy")), 85, 92)
    within(percent(-g for g in measured("probe_gain")), 2, 10)
    quoted(LESSON, "the untrained encoder's 90 to 94%")
    spans(percent(measured("untrained_accuracy")), 90, 94, 0)


@pytest.mark.slow
def test_try_2_no_stabilisers():
    quoted(LESSON, "the largest negative grows to between 25 and 35, and their spread from")
    within(measured("neg_abs_max", **OFF), 25, 35)
    quoted(LESSON, "their spread from between 1.2 and 1.7 to between 3 and 4")
    within(measured("score_std"), 1.2, 1.7)
    within(measured("score_std", **OFF), 3, 4)
    quoted(LESSON, "They do not run away")
    assert max(measured("neg_abs_max", **OFF)) < 100
    for seed in SEEDS:
        measures, sim = trained(seed, **OFF)
        verdict = sim.verdict(measures)
        assert verdict is None or not verdict.text.startswith("scores growing"), verdict


@pytest.mark.slow
def test_try_3_the_top_learning_rate_kills_the_encoder_either_way():
    quoted(LESSON, "Within 400 steps the status line says *collapsed*")
    for settings in (OFF, {}):
        for seed in SEEDS:
            measures, sim = trained(seed, 400, lr=0.05, **settings)
            assert sim.verdict(measures).state == "collapsed", (settings, seed)
    quoted(LESSON, "the probe drops to chance (7 to 9%, for 10 digits)")
    probes = [trained(seed, 400, lr=0.05, **OFF)[0]["probe_accuracy"] for seed in SEEDS]
    spans(percent(probes), 7, 9, 0)
    quoted(LESSON, "With both stabilisers on it collapses just the same")


@pytest.mark.slow
def test_try_4_one_clean_view():
    quoted(LESSON, "The game gets easier (the bound reads between 1.3 and 1.7)")
    within(measured("bound", augment=False), 1.3, 1.7)
    quoted(LESSON, "the probe now ends between 92 and 97%, slightly *above* the untrained encoder")
    within(percent(measured("probe_accuracy", augment=False)), 92, 97)
    quoted(LESSON, "by between 1 and 3 points")
    within(percent(measured("probe_gain", augment=False)), 1, 3)
    quoted(
        LESSON, "a random convolutional encoder is already a strong feature extractor (90 to 94%"
    )


def test_dim_estimators_named_as_hjelm_et_al_used_them():
    quoted(LESSON, "Hjelm et al. trained this mainly with a Jensen–Shannon estimator")
    quoted(LESSON, "They also ran an NCE variant (InfoNCE), and that is the form AMDIM adopted")
