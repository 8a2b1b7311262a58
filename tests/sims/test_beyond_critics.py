"""The three-critic sim beyond the contract: one start and one stream of batches for all three
runs, probes of the encoders' own codes, the promised ordering, and every slider at its ends."""

import copy
import math

import numpy as np
import pytest
import torch

from models.metrics import lda_probe
from sims.base import discover
from sims.beyond_critics import CRITICS, BeyondCriticsSim, make_critic
from sims.check import run_scenario
from tests.runs import RUNS


@pytest.fixture(scope="module")
def sim():
    return BeyondCriticsSim(seed=0)


def _state(module):
    return {k: v.clone() for k, v in module.state_dict().items()}


def _same(a, b):
    return all(torch.equal(a[k], b[k]) for k in a)


def test_the_three_runs_start_from_the_same_encoders_with_their_own_critics(sim):
    fresh = BeyondCriticsSim(seed=4)
    first = fresh.runs["bilinear"]
    for c in CRITICS[1:]:
        run = fresh.runs[c]
        assert _same(_state(run["top"]), _state(first["top"]))
        assert _same(_state(run["bottom"]), _state(first["bottom"]))
        assert run["top"] is not first["top"]  # copies, not one shared module
    kinds = {type(run["critic"]).__name__ for run in fresh.runs.values()}
    assert kinds == {"BilinearCritic", "SeparableCritic", "JointCritic"}
    m = fresh.measure()
    assert m["probe_bilinear"] == m["probe_separable"] == m["probe_joint"]
    assert m["untrained_accuracy"] == m["probe_bilinear"]


def test_the_three_runs_train_on_the_same_batches():
    """Give all three runs the bilinear critic: if they saw the same batches and shared nothing,
    they stay identical step after step."""
    sim = BeyondCriticsSim(seed=1, k=15)
    for c in CRITICS[1:]:
        sim.runs[c]["critic"] = copy.deepcopy(sim.runs["bilinear"]["critic"])
    sim.optimiser = torch.optim.Adam(sim.runs.parameters(), lr=sim.lr)
    for _ in range(5):
        out = sim.step()
        assert out["est_bilinear"] == out["est_separable"] == out["est_joint"]
    first = _state(sim.runs["bilinear"])
    assert all(_same(_state(sim.runs[c]), first) for c in CRITICS[1:])
    assert not _same(first, _state(BeyondCriticsSim(seed=1, k=15).runs["bilinear"]))  # trained


def test_different_critics_pull_the_encoders_apart():
    sim = BeyondCriticsSim(seed=1, k=15)
    sim.run(5)
    tops = [_state(sim.runs[c]["top"]) for c in CRITICS]
    assert not _same(tops[0], tops[1]) and not _same(tops[0], tops[2])


def test_same_seed_same_estimates_and_probes():
    a, b = BeyondCriticsSim(seed=2, probe_every=50), BeyondCriticsSim(seed=2, probe_every=50)
    a.run(60)
    b.run(60)
    assert a.measure() == b.measure()
    for key, value in a.snapshot().items():
        np.testing.assert_array_equal(value, b.snapshot()[key], err_msg=key)


def test_probes_read_the_top_encoders_codes_and_refresh_every_probe_every_steps():
    sim = BeyondCriticsSim(seed=0, probe_every=50)
    sim.run(120)
    history = sim.snapshot()["probe_history"]  # (n, 4): step, bilinear, separable, joint
    assert history.shape == (3, 4) and history[:, 0].tolist() == [0.0, 50.0, 100.0]
    sim.refresh(step=120)  # now by hand: the probe on u, the top-half encoder's output
    tr, te = sim.train_idx, sim.test_idx
    for c in CRITICS:
        with torch.no_grad():
            u = sim.runs[c]["top"](sim.top)  # (1797, code_dim)
        assert sim.probes[c] == lda_probe(u[tr], sim.labels[tr], u[te], sim.labels[te])
    assert sim.snapshot()["probe_history"][-1, 1:].tolist() == pytest.approx(
        [sim.probes[c] for c in CRITICS]
    )


def test_estimate_history_and_readouts(sim):
    sim.reset()
    sim.run(30)
    history = sim.snapshot()["estimate_history"]  # (n, 4): step, bilinear, separable, joint
    assert history.shape == (6, 4) and history[:, 0].tolist() == [0, 5, 10, 15, 20, 25]
    m = sim.measure()
    assert m["ceiling"] == pytest.approx(math.log(sim.k + 1))
    for c in CRITICS:
        assert m[f"estimate_{c}"] <= m["ceiling"] + 1e-6
        assert m[f"train_estimate_{c}"] <= m["ceiling"] + 1e-6
    assert m["estimate_joint_minus_bilinear"] == m["estimate_joint"] - m["estimate_bilinear"]
    assert m["probe_bilinear_minus_joint"] == m["probe_bilinear"] - m["probe_joint"]
    probes = [m[f"probe_{c}"] for c in CRITICS]
    assert m["probe_spread"] == max(probes) - min(probes)
    assert 0.75 <= m["raw_accuracy"] <= 0.9


def test_verdict_names_the_best_estimate_and_the_best_probe(sim):
    base = {f"probe_{c}": 0.8 for c in CRITICS} | {f"estimate_{c}": 2.0 for c in CRITICS}
    assert sim.verdict(base) is None  # all probes equal: before the first refresh
    differ = base | {"estimate_joint": 2.5, "probe_bilinear": 0.86}
    verdict = sim.verdict(differ)
    assert verdict.state == "note"
    assert verdict.text == (
        "the joint MLP critic reports the most information (2.50 nats), but the bilinear "
        "critic's codes read best (86%)"
    )
    same = base | {"estimate_bilinear": 2.5, "probe_bilinear": 0.86}
    assert sim.verdict(same).text == (
        "the bilinear critic both reports the most information (2.50 nats) and gives the "
        "codes that read best (86%)"
    )


@pytest.mark.parametrize(
    "settings",
    [
        {"lr": 0.0002},
        {"lr": 0.03},
        {"k": 3},
        {"k": 255},
        {"pixel_noise": 0.0},
        {"pixel_noise": 1.0},
        {"code_dim": 2},
        {"code_dim": 64},
        {"critic_hidden": 8},
        {"critic_hidden": 128},
        {"probe_every": 50},
        {"probe_every": 2000},
    ],
    ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()),
)
def test_every_param_at_both_bounds_runs_with_finite_metrics(settings):
    name, value = next(iter(settings.items()))
    assert value in BeyondCriticsSim.param[name].bounds  # really a bound of the slider
    sim = BeyondCriticsSim(**settings)
    for _ in range(20):
        assert all(math.isfinite(v) for v in sim.step().values())
    measured = sim.measure()
    assert all(isinstance(v, float) and math.isfinite(v) for v in measured.values())
    sim.snapshot()
    sim.verdict(measured)


def test_live_params_apply_without_a_restart():
    sim = BeyondCriticsSim(seed=0)
    sim.run(3)
    sim.k, sim.pixel_noise, sim.lr = 15, 0.5, 0.01
    sim.run(2)
    assert sim.steps == 5 and sim.measure()["ceiling"] == pytest.approx(math.log(16))
    assert sim.optimiser.param_groups[0]["lr"] == 0.01


def test_an_unknown_critic_is_a_clear_error():
    with pytest.raises(ValueError, match="critic must be one of"):
        make_critic("quadratic", 4, 8, torch.Generator())


def test_registered():
    assert discover()["beyond-mi-critics"] is BeyondCriticsSim


CASES = [(s, seed) for s in BeyondCriticsSim.scenarios for seed in s.seeds]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("scenario", "seed"), CASES, ids=[f"{s.name[:40]}-seed{seed}" for s, seed in CASES]
)
def test_the_promised_ordering_holds_on_every_seed(scenario, seed):
    torch.set_num_threads(1)
    rows = run_scenario(BeyondCriticsSim, scenario, seed, RUNS)
    failed = [f"{r.metric} = {r.value:.4g}, wanted {r.op} {r.target:g}" for r in rows if not r.ok]
    assert not failed, "; ".join(failed)
