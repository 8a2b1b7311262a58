"""The MI-estimators sim: the staircase, the log K ceiling, the history and the readouts."""

import math

import numpy as np
import param
import pytest

from sims.mi_estimators import ESTIMATORS, MAX_POINTS, STAIRCASE, MIEstimatorsSim

SMALL = {"batch_size": 8, "dim": 2}  # quick runs for tests of bookkeeping


def test_staircase_climbs_two_to_ten_nats_then_holds():
    sim = MIEstimatorsSim(staircase=True, stair_steps=50, **SMALL)
    seen = []
    for _ in range(len(STAIRCASE) + 1):
        sim.run(50)
        seen.append(sim.measure()["true_mi"])
    assert seen == [*STAIRCASE, STAIRCASE[-1]]
    snap = sim.snapshot()
    assert snap["true_mi"][0] == 2.0 and snap["true_mi"][-1] == 10.0
    assert np.all(np.diff(snap["true_mi"]) >= 0)


def test_true_mi_is_live_and_ignored_under_the_staircase():
    sim = MIEstimatorsSim(staircase=False, true_mi=3.0, **SMALL)
    sim.run(5)
    sim.true_mi = 7.5
    sim.run(1)
    assert sim.steps == 6  # no reset
    assert sim.measure()["true_mi"] == 7.5
    stair = MIEstimatorsSim(staircase=True, true_mi=7.5, **SMALL)
    stair.run(1)
    assert stair.measure()["true_mi"] == STAIRCASE[0]


def test_infonce_never_reports_more_than_log_k():
    sim = MIEstimatorsSim(staircase=False, true_mi=10.0, batch_size=4, dim=2, lr=0.01)
    raw = [sim.step()["infonce"] for _ in range(200)]
    assert max(raw) <= math.log(4)
    measured = sim.measure()
    assert measured["infonce_max"] == max(raw)
    assert measured["infonce_max_over_log_k"] <= 0.0
    assert measured["log_k"] == math.log(4)
    assert np.all(sim.snapshot()["infonce"] <= np.float32(math.log(4)))


def test_smoothed_values_and_window_variance_follow_the_raw_estimates():
    sim = MIEstimatorsSim(staircase=False, true_mi=0.5, window=20, **SMALL)
    raw = {name: [] for name in ESTIMATORS}
    for _ in range(60):
        metrics = sim.step()
        for name in ESTIMATORS:
            raw[name].append(metrics[name])
    measured = sim.measure()
    alpha = 2 / 21
    for name in ESTIMATORS:
        ema = raw[name][0]
        for value in raw[name][1:]:
            ema += alpha * (value - ema)
        assert measured[f"{name}_smooth"] == pytest.approx(ema)
        assert measured[f"{name}_var"] == pytest.approx(np.var(raw[name][-20:]))
        assert measured[name] == raw[name][-1]
        assert measured[f"{name}_error"] == pytest.approx(ema - sim.true_mi)
        above = np.mean(np.array(raw[name][-20:]) > sim.true_mi)
        assert measured[f"{name}_above_truth"] == pytest.approx(above)
    assert any(0 < measured[f"{name}_above_truth"] < 1 for name in ESTIMATORS)
    assert measured["nwj_var_over_infonce_var"] == pytest.approx(
        measured["nwj_var"] / measured["infonce_var"]
    )


def test_history_keeps_the_whole_run_thinned_with_raw_values():
    sim = MIEstimatorsSim(staircase=False, **SMALL)
    returned = [sim.step()["dv"] for _ in range(2 * MAX_POINTS + 100)]
    snap = sim.snapshot()
    steps = snap["step"].astype(int)
    assert MAX_POINTS // 2 <= len(steps) <= MAX_POINTS
    assert steps[0] == 0 and np.all(np.diff(steps) == steps[1])  # evenly thinned from step 0
    assert steps[-1] >= len(returned) - steps[1]  # reaches the end of the run
    np.testing.assert_allclose(snap["dv"], np.float32(returned)[steps])
    window_var = snap.pop("window_var")
    for key, value in snap.items():
        assert value.dtype == np.float32 and len(value) == len(steps), key
    # the variance bars come from every step of the window, not from the thinned history
    recent, _ = sim.window_values()
    np.testing.assert_allclose(window_var, recent.var(axis=1), rtol=1e-5)


def test_live_learning_rate_reaches_the_optimiser_without_reset():
    sim = MIEstimatorsSim(**SMALL)
    sim.run(3)
    sim.lr = 0.0042
    sim.step()
    assert sim.steps == 4
    assert sim.optimiser.param_groups[0]["lr"] == 0.0042


def test_each_estimator_has_its_own_critic():
    sim = MIEstimatorsSim(**SMALL)
    before = [p.detach().clone() for p in sim.critics.parameters()]
    sim.step()
    for old, new in zip(before, sim.critics.parameters(), strict=True):
        changed = (old != new).flatten(1).any(dim=1)  # one flag per head
        assert changed.tolist() == [True] * len(ESTIMATORS)


def _extremes():
    for name, p in MIEstimatorsSim.param.objects().items():
        if isinstance(p, param.Number) and name != "seed":
            for value in p.bounds:
                yield name, value
    yield "critic", "joint"
    yield "staircase", False


@pytest.mark.parametrize(("name", "value"), list(_extremes()))
def test_sliders_at_their_extremes_do_not_raise(name, value):
    sim = MIEstimatorsSim(**{"staircase": False, "true_mi": 16.0, "batch_size": 16, name: value})
    sim.run(3)
    measured = sim.measure()
    sim.verdict(measured)
    assert set(sim.snapshot()) >= {"step", "true_mi", "log_k", *ESTIMATORS}


def test_verdict_names_the_cap_and_a_divergence():
    sim = MIEstimatorsSim(**SMALL)
    capped = {"log_k": math.log(64), "true_mi": 10.0, "infonce_smooth": 4.0}
    verdict = sim.verdict({**capped, **dict.fromkeys(ESTIMATORS, 1.0)})
    assert verdict.state == "note" and verdict.text.startswith("capped")
    assert sim.verdict({**capped, "infonce_smooth": 2.0, **dict.fromkeys(ESTIMATORS, 1.0)}) is None
    diverged = {**capped, **dict.fromkeys(ESTIMATORS, 1.0), "nwj": math.nan}
    verdict = sim.verdict(diverged)
    assert verdict.state == "note" and verdict.text.startswith("diverged: nwj")
    easy = {"log_k": math.log(64), "true_mi": 2.0, "infonce_smooth": 1.8}
    assert sim.verdict({**easy, **dict.fromkeys(ESTIMATORS, 1.8)}) is None
