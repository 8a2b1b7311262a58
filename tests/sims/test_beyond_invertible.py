"""The invertible-encoder sim beyond the contract: the MI it reports is exact and never moves,
the encoders stay invertible at every measurement, the adversary lowers the probe by at least
15 points on every seed, and every slider's extremes run."""

import math

import numpy as np
import param
import pytest
import torch

from sims.beyond_invertible import N_HELD_OUT, BeyondInvertibleSim
from sims.contrastive_digits import digits
from tests.runs import RUNS

SEEDS = (0, 1, 2)
STEPS = 400  # as in the scenarios


@pytest.mark.parametrize("seed", SEEDS)
def test_halves_are_distinct_so_the_true_mi_is_log_n_train(seed):
    sim = BeyondInvertibleSim(seed=seed)
    n_train = len(sim.train_idx)
    assert n_train == len(digits()[0]) - N_HELD_OUT == 1297
    assert len(torch.unique(sim.top[sim.train_idx], dim=0)) == n_train
    assert len(torch.unique(sim.bottom[sim.train_idx], dim=0)) == n_train
    m = sim.measure()
    assert m["true_mi"] == pytest.approx(math.log(n_train), abs=1e-12)  # 7.1678 nats
    sim.run(20)
    assert sim.measure()["true_mi"] == m["true_mi"]


def test_step_zero_estimate_is_zero_and_the_ceiling_is_log_k():
    sim = BeyondInvertibleSim(k=63)
    m = sim.measure()
    assert m["estimate"] == pytest.approx(0.0, abs=1e-6)  # W = 0: every score equal
    assert m["estimate_gain"] == pytest.approx(0.0, abs=1e-6)
    assert m["ceiling"] == pytest.approx(math.log(64))
    assert m["raw_accuracy"] == pytest.approx(m["probe_accuracy"], abs=0.02)  # g starts near x
    sim.run(30)
    m = sim.measure()
    assert 0 < m["estimate"] <= m["ceiling"]
    assert m["train_estimate"] <= m["ceiling"]


def test_invertible_at_every_measurement_even_with_the_adversary():
    sim = BeyondInvertibleSim(adversarial=True, probe_every=50)
    errors = []
    for _ in range(6):
        sim.run(50)
        m = sim.measure()
        errors.append((m["reconstruction_error"], m["reconstruction_error_float32"]))
    assert max(e for e, _ in errors) < 1e-10  # float64: exact up to rounding
    assert max(e for _, e in errors) < 1e-4  # float32, as trained
    assert sim.measure()["true_mi"] == pytest.approx(math.log(1297))


@pytest.fixture(scope="module")
def runs():
    """Plain and adversarial runs of the scenario length, per seed: their final measures."""
    out = {}
    for seed in SEEDS:
        for adversarial in (False, True):
            settings = {"seed": seed, "adversarial": adversarial}
            start = RUNS.measure(BeyondInvertibleSim, 0, settings)
            sim = RUNS.at(BeyondInvertibleSim, STEPS, settings)
            out[seed, adversarial] = (start, sim.measure(), sim)
    return out


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_adversary_lowers_the_probe_by_at_least_15_points(runs, seed):
    _, plain, _ = runs[seed, False]
    _, adversarial, sim = runs[seed, True]
    assert plain["probe_accuracy"] - adversarial["probe_accuracy"] >= 0.15
    assert adversarial["probe_accuracy"] < adversarial["raw_accuracy"] - 0.15
    assert adversarial["true_mi"] == plain["true_mi"] == pytest.approx(math.log(1297))
    verdict = sim.verdict(adversarial)
    assert verdict.state == "note" and verdict.text.startswith("MI unchanged at 7.17 nats")


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_plain_training_raises_the_estimate_and_worsens_the_conditioning(runs, seed):
    start, end, sim = runs[seed, False]
    assert end["estimate_gain"] >= 2.0
    assert end["estimate"] < end["ceiling"] < end["true_mi"]
    assert end["condition_number"] > 5 * start["condition_number"]  # "less smooth" maps
    assert sim.verdict(end) is None
    history = sim.snapshot()["probe_history"]  # (step, probe, condition number)
    assert history[0, 0] == 0 and history[-1, 0] == STEPS
    assert history[-1, 2] > history[0, 2]


def test_adversary_with_zero_weight_leaves_the_run_unchanged():
    plain = BeyondInvertibleSim(seed=4)
    weightless = BeyondInvertibleSim(seed=4, adversarial=True, adversary_weight=0.0)
    a = [plain.step()["loss"] for _ in range(15)]
    b = [weightless.step()["loss"] for _ in range(15)]
    assert a == b
    weighted = BeyondInvertibleSim(seed=4, adversarial=True)
    assert [weighted.step()["loss"] for _ in range(15)] != a


def test_adversary_switch_is_live():
    sim = BeyondInvertibleSim(seed=0)
    sim.run(10)
    sim.adversarial = True
    assert sim.steps == 10
    sim.run(5)
    assert sim.steps == 15
    assert "adversarial" in BeyondInvertibleSim.live
    assert "adversary_weight" in BeyondInvertibleSim.live


def test_same_seed_same_run_with_the_adversary():
    a = BeyondInvertibleSim(seed=7, adversarial=True, probe_every=20)
    b = BeyondInvertibleSim(seed=7, adversarial=True, probe_every=20)
    a.run(40)
    b.run(40)
    assert a.measure() == b.measure()
    for key, value in a.snapshot().items():
        np.testing.assert_array_equal(value, b.snapshot()[key], err_msg=key)


def test_snapshot_shapes_and_histories():
    sim = BeyondInvertibleSim(probe_every=20)
    sim.run(40)
    snap = sim.snapshot()
    assert snap["xy"].shape == (300, 2) and snap["xy"].dtype == np.float32
    assert snap["labels"].shape == (300,)
    assert snap["estimate_history"].shape == (8, 2)  # every 5 steps: 0, 5, ..., 35
    assert snap["probe_history"].shape == (3, 3)  # steps 0, 20, 40
    np.testing.assert_array_equal(snap["probe_history"][:, 0], [0, 20, 40])
    assert snap["heldout_history"].shape == (3, 2)
    snap["xy"][:] = 0  # a copy: the sim's next snapshot is untouched
    assert np.abs(sim.snapshot()["xy"]).max() > 0


def test_verdict_cases():
    sim = BeyondInvertibleSim()
    low = {"probe_accuracy": 0.4, "raw_accuracy": 0.82, "true_mi": math.log(1297)}
    low["reconstruction_error"] = 1e-14
    assert sim.verdict(low) is None  # no adversary: no note
    sim.adversarial = True
    verdict = sim.verdict(low)
    assert verdict.state == "note"
    assert verdict.text == "MI unchanged at 7.17 nats, yet the probe reads 40% (raw pixels: 82%)"
    assert sim.verdict({**low, "probe_accuracy": 0.9}) is None
    assert sim.verdict({**low, "reconstruction_error": 1.0}) is None


def _edges():
    for name, p in BeyondInvertibleSim.param.objects().items():
        if name in ("name", "seed") or isinstance(p, param.Boolean):
            continue
        for value in p.bounds:
            yield {name: value, "adversarial": True}


@pytest.mark.parametrize("settings", list(_edges()), ids=str)
def test_every_param_at_its_bounds_runs_20_steps_with_finite_metrics(settings):
    sim = BeyondInvertibleSim(**settings)
    for value in sim.run(20).values():
        assert math.isfinite(value)
    for key, value in sim.measure().items():
        assert isinstance(value, float) and math.isfinite(value), key
    assert sim.measure()["reconstruction_error"] < 1e-4
    sim.snapshot()
    sim.verdict(sim.measure())


@pytest.mark.parametrize("adversarial", [False, True])
def test_a_linear_encoder_leaves_the_probe_at_the_raw_pixels(adversarial):
    """With no coupling layers g is affine and invertible: LDA (shrunk a little) reads within a
    point or two of the raw pixels, however InfoNCE or the adversary move it."""
    sim = BeyondInvertibleSim(n_coupling=0, adversarial=adversarial)
    sim.run(200)
    m = sim.measure()
    assert m["estimate_gain"] > 1.0  # training did move the map
    assert abs(m["probe_accuracy"] - m["raw_accuracy"]) <= 0.02
