"""Every figure the contrastive lesson quotes, recomputed (see ``tests/lessons/figures.py``).

Both sims are trained on seeds 0 to 2, the seeds their scenarios cover; a figure the text
gives as a range is checked as that range, to the decimals it is printed with.
"""

from __future__ import annotations

import itertools
import math
from functools import cache

import pytest
import torch

from models.contrastive import info_nce_diagonal, uniformity
from sims.contrastive_digits import ContrastiveDigitsSim
from sims.contrastive_toy import ContrastiveToySim
from tests.lessons.figures import lesson, percent, quoted, spans, within
from tests.runs import RUNS

SEEDS = (0, 1, 2)
LESSON = lesson("contrastive")


def toy(seed: int, **settings) -> ContrastiveToySim:
    """The toy run at step 1000: a copy of the shared run."""
    return RUNS.at(ContrastiveToySim, 1000, {"seed": seed, **settings})


def toy_measure(key: str, **settings) -> list[float]:
    return [toy(seed, **settings).measure()[key] for seed in SEEDS]


@cache
def digits(seed: int, phase: int = 1, **settings) -> dict[str, float]:
    """1,500 steps at the settings; phase 2 then trains 1,500 more without pixel noise."""
    sim = RUNS.at(ContrastiveDigitsSim, 1500, {"seed": seed, **settings})
    if phase == 2:
        sim.pixel_noise = 0.0
        sim.run(1500)
    return sim.measure()


def digits_measure(key: str, phase: int = 1, **settings) -> list[float]:
    return [digits(seed, phase, **settings)[key] for seed in SEEDS]


def test_untrained_probe_range_and_concentration_note():
    quoted(LESSON, "the untrained probe reads 51–61% on seeds 0–2")
    measured = [ContrastiveDigitsSim(seed=seed).measure() for seed in SEEDS]
    spans(percent(m["probe_accuracy"] for m in measured), 51, 61, 0)
    verdict = ContrastiveDigitsSim(seed=0).verdict(measured[0])
    assert verdict.state == "note" and verdict.text.startswith("concentrated:")


def test_closed_forms():
    quoted(LESSON, "The dashed ceiling drops to $\\log 4 = 1.39$ nats")
    assert round(math.log(4), 2) == 1.39
    quoted(LESSON, "of a 3.47-nat ceiling")
    assert round(math.log(32), 2) == 3.47
    quoted(LESSON, "the ceiling jumps to 4.85")
    assert round(math.log(128), 2) == 4.85
    quoted(LESSON, "$e^{2.2} \\approx 9$ codes")
    assert round(math.exp(2.2)) == 9
    quoted(LESSON, "scores can now differ by at most $2/\\tau = 2$")


def test_the_bound_is_for_the_expected_loss():
    quoted(LESSON, "I(z_1; z_2) \\;\\ge\\; \\log K - \\mathbb{E}[L]")
    quoted(LESSON, "The guarantee is for the *expected* loss: the $\\log K - L$ of one batch is")
    quoted(LESSON, "one batch's estimate of the bound, which only holds on average over batches")
    quoted(LESSON, "a bound computed on the training set speaks about the training set")


def test_the_training_set_shares_log_1297_nats():
    quoted(LESSON, "the pairs come from 1,297 digits whose halves are all different")
    quoted(LESSON, "there the halves share $\\log 1297 = 7.17$ nats")
    for seed in SEEDS:
        sim = ContrastiveDigitsSim(seed=seed)
        train = sim.train_idx
        assert len(train) == 1297
        for half in (sim.top[train], sim.bottom[train]):
            assert len(torch.unique(half, dim=0)) == 1297  # each half names its digit
    assert round(math.log(1297), 2) == 7.17


def test_go_deeper_the_split_and_why_normalise():
    quoted(LESSON, "the first term is $\\mathcal{L}_{\\text{align}}/(2\\tau)$ less the constant")
    quoted(LESSON, "with $t = 1/(2\\tau)$; the two constants cancel")
    quoted(LESSON, "so InfoNCE's push is a uniformity term with $t = 1/(2\\tau)$")
    quoted(LESSON, "(by Jensen's inequality the per-anchor form is never the larger)")
    g = torch.Generator().manual_seed(0)
    tau = ContrastiveToySim().tau
    z1, z2 = (
        torch.nn.functional.normalize(torch.randn(200, 3, generator=g, dtype=torch.float64), dim=1)
        for _ in range(2)
    )  # (200, 3) each, on the unit sphere
    align = float((z1 - z2).pow(2).sum(1).mean())
    pull = float(-(z1 * z2).sum(1).mean() / tau)
    assert pull == pytest.approx(align / (2 * tau) - 1 / tau)
    t = 1 / (2 * tau)
    off = ~torch.eye(200, dtype=torch.bool)
    dots, sq = z1 @ z1.T, torch.cdist(z1, z1).pow(2)  # (200, 200) each
    spread = torch.stack([torch.logsumexp(dots[i][off[i]] / tau, 0) for i in range(200)])
    potential = torch.stack([torch.logsumexp(-t * sq[i][off[i]], 0) for i in range(200)])
    assert torch.allclose(spread, 1 / tau + potential)  # the same term, up to 1 / tau
    per_anchor = float((potential - math.log(199)).mean())
    assert per_anchor <= float(uniformity(z1, t)) + 1e-12
    quoted(LESSON, "At the toy's $\\tau = 0.05$ that is $t = 10$")
    assert tau == 0.05 and t == pytest.approx(10)
    quoted(LESSON, "doubling every code multiplies every score by four")
    u, v = torch.randn(8, 4, generator=g), torch.randn(8, 4, generator=g)
    assert torch.allclose((2 * u) @ (2 * v).T, 4 * (u @ v.T))
    quoted(LESSON, "the loss can then be driven towards 0 just by making the codes longer")
    u = torch.randn(8, 16, generator=g, dtype=torch.float64)
    u = torch.nn.functional.normalize(u, dim=1)  # one direction per item
    v = u + 0.01 * torch.randn(8, 16, generator=g, dtype=torch.float64)
    assert all(int(i) == j for j, i in enumerate((u @ v.T).argmax(1)))  # positives on top
    losses = [float(info_nce_diagonal((c * u) @ (c * v).T)) for c in (1, 2, 4, 8)]  # same angles
    assert all(a > b for a, b in itertools.pairwise(losses)) and losses[-1] < 1e-6, losses
    quoted(LESSON, "On the sphere the scores are confined to $[-1/\\tau, 1/\\tau]$")


@pytest.mark.slow
def test_try_1_spread_then_negatives_off():
    quoted(LESSON, "reads 2.02 to 2.17 of a 3.47-nat ceiling (seeds 0 to 2)")
    spans(toy_measure("bound"), 2.02, 2.17, 2)
    quoted(LESSON, "and the collapse meter 0.04 to 0.08")
    spans(toy_measure("resultant_length"), 0.04, 0.08, 2)
    quoted(LESSON, "The loss drops to $-20$")
    quoted(LESSON, "within about 200 steps the collapse meter passes 0.99")
    for seed in SEEDS:
        sim = toy(seed)
        sim.negatives = False
        loss = sim.run(200)["loss"]
        assert loss == pytest.approx(-1 / sim.tau, abs=1e-3)
        measured = sim.measure()
        assert measured["resultant_length"] > 0.99 and measured["bound"] < 0.25, measured
        sim.run(400)  # and the bound goes on falling, towards 0
        assert sim.measure()["bound"] < 0.01


@pytest.mark.slow
def test_try_2_few_negatives_then_many():
    quoted(LESSON, "the held-out bound reads 1.05 to 1.16 (seeds 0 to 2), some 80% of the way up")
    bounds = toy_measure("bound", k=3)
    spans(bounds, 1.05, 1.16, 2)
    assert all(0.75 <= b / math.log(4) <= 0.85 for b in bounds), bounds
    quoted(LESSON, "while single training batches touch the ceiling")
    for seed in SEEDS:
        history = toy(seed, k=3).snapshot()["bound_history"][:, 1]
        assert history.max() >= math.log(4) - 0.01
    quoted(LESSON, "1,000 steps later the bound reads only 2.21 to 2.25")
    more = []
    for seed in SEEDS:
        sim = toy(seed, k=3)
        sim.k = 127
        sim.run(1000)
        more.append(sim.measure()["bound"])
    spans(more, 2.21, 2.25, 2)
    quoted(LESSON, "hardly more than the 2.02 to 2.17 it reaches with 31")


@pytest.mark.slow
def test_try_3_temperature():
    # At tau = 0.01 a run hinges on a few nearest negatives: these drift between CPUs.
    quoted(LESSON, "uniformity ends between $-1.5$ and $-0.9$ instead of about $-1.57$")
    within(toy_measure("uniformity", tau=0.01), -1.5, -0.9)
    spans(toy_measure("uniformity"), -1.58, -1.57, 2)  # "about -1.57"
    quoted(LESSON, "the collapse meter between 0.2 and 0.8")
    within(toy_measure("resultant_length", tau=0.01), 0.2, 0.8)
    quoted(LESSON, "the bound between 1.8 and 2.5 nats (seeds 0 to 2). That is no clear gain")
    cold = toy_measure("bound", tau=0.01)
    within(cold, 1.8, 2.5)
    # No order between the two is claimed: on one CPU every cold run ended higher, on another
    # seed 1 ended lower (1.86 against 2.10). Only "no clear gain": never far above.
    quoted(LESSON, "on the 2.02 to 2.17 it reaches at $\\tau = 0.05$")
    warm = toy_measure("bound")  # tau = 0.05, the same 1,000 steps
    assert all(c - w < 0.5 for c, w in zip(cold, warm, strict=True)), (cold, warm)
    quoted(LESSON, "the codes spread evenly (uniformity $-1.56$), yet the bound stalls at 0.71")
    spans(toy_measure("uniformity", tau=1.0), -1.56, -1.56, 2)
    spans(toy_measure("bound", tau=1.0), 0.71, 0.74, 2)


@pytest.mark.slow
def test_go_deeper_binary_nce_and_triplet():
    quoted(LESSON, "The alignment ends between 0.05 and 0.3 (seeds 0 to 2), four to twenty times")
    nce, infonce = toy_measure("alignment", loss="nce"), toy_measure("alignment")
    within(nce, 0.05, 0.3)  # binary NCE drifts between CPUs: a range rounded outward
    quoted(LESSON, "InfoNCE's 0.010 to 0.014")
    spans(infonce, 0.010, 0.014, 3)
    ratios = [a / b for a, b in zip(nce, infonce, strict=True)]
    assert all(3.5 <= r <= 20.5 for r in ratios), ratios
    quoted(LESSON, "the bound between $-1$ and 1.1 nats, far below InfoNCE's")
    within(toy_measure("bound", loss="nce"), -1.0, 1.1)
    quoted(LESSON, "The triplet loss does about as well as InfoNCE here")
    triplet = toy_measure("bound", loss="triplet")
    assert all(abs(t - b) < 0.1 for t, b in zip(triplet, toy_measure("bound"), strict=True))
    assert max(toy_measure("alignment", loss="triplet")) < 0.02


@pytest.mark.slow
def test_try_4_memorising_without_augmentation():
    # Probe accuracies and the bounds of 1,500-step runs drift between CPUs: ranges rounded out.
    quoted(LESSON, "the probe on the codes reads between 81 and 85% (seeds 0 to 2), against 51 to")
    within(percent(digits_measure("probe_accuracy")), 81, 85)
    spans(percent(digits_measure("untrained_accuracy")), 51, 61, 0)
    quoted(LESSON, "and 81 to 82% for the raw pixels")
    spans(percent(digits_measure("raw_accuracy")), 81, 82, 0)
    quoted(LESSON, "the bound on 500 of the training digits (between 2.6 and 2.7 nats)")
    within(digits_measure("bound_train"), 2.6, 2.7)
    quoted(LESSON, "and on the held-out ones (between 2.2 and 2.4)")
    within(digits_measure("bound"), 2.2, 2.4)
    quoted(LESSON, "The bound on training digits climbs to between 3.1 and 3.2")
    within(digits_measure("bound_train", phase=2), 3.1, 3.2)
    quoted(LESSON, "the held-out bound barely moves (between 2.3 and 2.4)")
    within(digits_measure("bound", phase=2), 2.3, 2.4)
    quoted(LESSON, "for on new digits the held-out bound hardly changed")
    before, after = digits_measure("bound"), digits_measure("bound", phase=2)
    changes = [b - a for a, b in zip(before, after, strict=True)]
    assert all(abs(c) < 0.25 for c in changes), changes
    quoted(LESSON, "and the probe falls to 70 to 72%")
    spans(percent(digits_measure("probe_accuracy", phase=2)), 70, 72, 0)
    quoted(LESSON, "each of their 1,297 training images")
    assert len(ContrastiveDigitsSim().train_idx) == 1297


@pytest.mark.slow
def test_go_deeper_code_sizes():
    quoted(LESSON, "with 2-number codes the probe reaches only between 20 and 50%")
    within(percent(digits_measure("probe_accuracy", code_dim=2)), 20, 50)
    quoted(LESSON, "against 81 to 85% with eight numbers")
    quoted(LESSON, "the probe on the 8-number codes reads between 81 and 85% of the held-out")
    within(percent(digits_measure("probe_accuracy")), 81, 85)
    quoted(LESSON, "With 32-number codes (*Code size* 32) the probe reaches between 84 and 90%")
    within(percent(digits_measure("probe_accuracy", code_dim=32)), 84, 90)
    untrained = [ContrastiveDigitsSim(seed=s, code_dim=32).measure() for s in SEEDS]
    quoted(LESSON, "an untrained 32-number encoder already scores 78 to 82%")
    spans(percent(m["probe_accuracy"] for m in untrained), 78, 82, 0)
