"""The distance sweep beyond the contract: what the views share at each distance, the same start
for every run, the sweep's bookkeeping, the state after it, and the promised sweet spot."""

import math

import numpy as np
import pytest
import torch

from models.metrics import lda_probe, linear_fit_r2
from sims.base import Verdict
from sims.check import run_scenario
from sims.many_views_distance import (
    N_SHOWN,
    ManyViewsDistanceSim,
    Scenes,
    ViewMaker,
    sharing,
)
from tests.runs import RUNS

SHORT = {"points": 3, "steps_per_point": 50}  # a whole sweep in 150 steps


# -- the data ----------------------------------------------------------------------------------


def test_sharing_goes_from_everything_through_the_label_only_to_nothing():
    assert sharing(0.0) == pytest.approx((1.0, 1.0))
    assert sharing(0.5) == pytest.approx((0.0, 1.0), abs=1e-12)
    assert sharing(1.0) == pytest.approx((0.0, 0.0), abs=1e-12)
    grid = np.linspace(0, 1, 21)
    corr, keep = np.array([sharing(d) for d in grid]).T
    assert np.all(np.diff(corr) <= 0) and np.all(np.diff(keep) <= 0)  # never more shared
    assert sharing(-1.0) == sharing(0.0) and sharing(2.0) == sharing(1.0)  # clamped


def _raw_probes(distance: float, n_classes: int = 6) -> tuple[float, float]:
    """From raw view 2 at ``distance``: R² of a linear fit to the scene's background (which view
    1 shows) and the accuracy of a linear probe on the scene's label."""
    g = torch.Generator().manual_seed(0)
    maker, s = ViewMaker(n_classes, g), Scenes.draw(4000, n_classes, g)
    x2 = maker.view2(s, distance)  # (4000, INPUT_DIM)
    r2 = linear_fit_r2(x2, s.nuisance)
    probe = lda_probe(x2[:2000], s.label[:2000], x2[2000:], s.label[2000:], n_classes=n_classes)
    return r2, probe


def test_at_distance_0_view_2_shows_the_scenes_background_and_label():
    r2, probe = _raw_probes(0.0)
    assert r2 >= 0.9 and probe >= 0.95


def test_in_the_middle_view_2_shows_the_label_but_not_the_background():
    r2, probe = _raw_probes(0.5)
    assert r2 <= 0.02 and probe >= 0.95


def test_at_distance_1_view_2_shows_neither():
    r2, probe = _raw_probes(1.0)
    assert r2 <= 0.02 and probe <= 1 / 6 + 0.04


def test_view_1_never_depends_on_the_distance_and_view_2_only_through_it():
    g = torch.Generator().manual_seed(1)
    maker, s = ViewMaker(4, g), Scenes.draw(64, 4, g)
    torch.testing.assert_close(
        maker.view2(s, 0.0), maker._lift(s.label, s.nuisance, s.noise2, maker.lift2)
    )
    assert not torch.equal(maker.view2(s, 0.0), maker.view2(s, 0.3))


# -- the sweep's mechanics ---------------------------------------------------------------------


def _weights(sim: ManyViewsDistanceSim) -> list[torch.Tensor]:
    return [p.detach().clone() for enc in (sim.enc1, sim.enc2) for p in enc.parameters()]


def test_every_distance_starts_from_the_same_encoders_and_the_same_batches():
    sim = ManyViewsDistanceSim(seed=4, **SHORT)
    start, losses = _weights(sim), []
    for point in range(3):
        assert sim.index == point and sim.point_step == 0
        for a, b in zip(_weights(sim), start, strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
        first = Scenes.draw(8, sim.n_classes, torch.Generator().manual_seed(sim.stream_seed))
        replay = Scenes.draw(8, sim.n_classes, sim.stream)
        torch.testing.assert_close(first.nuisance, replay.nuisance, rtol=0, atol=0)
        sim.stream.manual_seed(sim.stream_seed)  # put the stream back where it was
        losses.append(sim.step()["loss"])
        assert any(not torch.equal(a, b) for a, b in zip(_weights(sim), start, strict=True))
        sim.run(49)
    assert sim.done and len(set(losses)) == 3  # same start, different views: different losses


def test_same_seed_same_sweep():
    a, b = ManyViewsDistanceSim(seed=7, **SHORT), ManyViewsDistanceSim(seed=7, **SHORT)
    a.run(150)
    b.run(150)
    np.testing.assert_array_equal(a.snapshot()["sweep"], b.snapshot()["sweep"])
    # The probes' least squares (LAPACK) may round a last bit by where their buffers lie in
    # memory (seen: nuisance_r2 ...213 against ...225); another trajectory differs by far more.
    seen, again = a.measure(), b.measure()
    assert seen.keys() == again.keys()
    for key, value in seen.items():
        assert math.isclose(value, again[key], rel_tol=1e-9, abs_tol=1e-12), key


def test_watching_the_sweep_does_not_change_it():
    quiet, watched = ManyViewsDistanceSim(seed=2, **SHORT), ManyViewsDistanceSim(seed=2, **SHORT)
    for _ in range(120):
        quiet.step()
        watched.step()
        watched.measure()
        watched.snapshot()
    np.testing.assert_array_equal(quiet.snapshot()["sweep"], watched.snapshot()["sweep"])
    np.testing.assert_array_equal(quiet.snapshot()["xy"], watched.snapshot()["xy"])


def test_the_sweep_records_one_row_per_distance_and_summarises_only_what_is_done():
    sim = ManyViewsDistanceSim(seed=0, **SHORT)
    m = sim.measure()
    assert m["points_done"] == 0 and m["sweep_done"] == 0 and m["point"] == 1
    assert m["peak_margin"] == 0 and m["probe_at_1"] == 0 and m["bound_drop"] == 0
    assert sim.verdict(m) is None
    sim.run(50)
    m = sim.measure()
    assert m["points_done"] == 1 and m["point"] == 2 and m["distance"] == 0.5
    assert m["probe_at_0"] == sim.sweep[0][2] and m["best_probe"] == sim.sweep[0][2]
    assert m["peak_margin"] == 0 and m["probe_at_1"] == 0 and sim.verdict(m) is None
    sim.run(100)
    m = sim.measure()
    rows = sim.snapshot()["sweep"]  # (3, 3): distance, bound, probe
    assert rows.shape == (3, 3) and rows[:, 0].tolist() == [0.0, 0.5, 1.0]
    assert m["sweep_done"] == 1 and m["points_done"] == 3
    assert m["probe_at_1"] == pytest.approx(rows[2, 2])
    assert m["peak_margin"] == pytest.approx(rows[1, 2] - max(rows[0, 2], rows[2, 2]))
    assert m["bound_drop"] == pytest.approx(rows[0, 1] - rows[2, 1])
    best = int(np.argmax(rows[:, 2]))
    assert m["best_distance"] == rows[best, 0] and m["best_probe"] == pytest.approx(rows[best, 2])


def test_bound_monotone_allows_a_small_rise_only():
    sim = ManyViewsDistanceSim(**SHORT)
    sim.sweep = [(0.0, 2.0, 0.3), (0.5, 2.04, 0.9), (1.0, 0.0, 0.2)]
    assert sim.measure()["bound_monotone"] == 1.0
    sim.sweep = [(0.0, 2.0, 0.3), (0.5, 2.2, 0.9), (1.0, 0.0, 0.2)]
    assert sim.measure()["bound_monotone"] == 0.0


def test_after_the_sweep_steps_change_nothing_and_return_the_last_loss():
    sim = ManyViewsDistanceSim(seed=1, **SHORT)
    last = sim.run(150)
    assert sim.done
    before, weights = sim.measure(), _weights(sim)
    snap = sim.snapshot()
    for _ in range(5):
        assert sim.step() == last
    assert sim.steps == 155 and sim.measure() == before
    for a, b in zip(_weights(sim), weights, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for key, value in sim.snapshot().items():
        np.testing.assert_array_equal(value, snap[key], err_msg=key)


def test_snapshot_shapes():
    sim = ManyViewsDistanceSim(seed=0, points=4, steps_per_point=50, code_dim=4)
    snap = sim.snapshot()
    assert snap["sweep"].shape == (0, 3) and snap["sweep_xy"].shape == (0, N_SHOWN, 2)
    sim.run(110)
    snap = sim.snapshot()
    assert snap["sweep"].shape == (2, 3) and snap["sweep_xy"].shape == (2, N_SHOWN, 2)
    assert snap["sweep_nuisance_r2"].shape == (2,)
    assert snap["xy"].shape == (N_SHOWN, 2) and snap["xy"].dtype == np.float32
    assert snap["labels"].shape == (N_SHOWN,) and snap["nuisance_angle"].shape == (N_SHOWN,)
    assert snap["distances"].tolist() == pytest.approx([0, 1 / 3, 2 / 3, 1])
    history = snap["history"]  # (n, 2): step within the current run, bound
    assert history[0, 0] == 0 and history[-1, 0] <= 10 and history.shape[1] == 2


def test_verdict_names_the_sweet_spot_and_both_ends():
    sim = ManyViewsDistanceSim(**SHORT)
    measured = {"sweep_done": 1.0, "best_distance": 0.5, "best_probe": 0.78}
    measured |= {"probe_at_0": 0.4, "probe_at_1": 0.2}
    verdict = sim.verdict(measured)
    assert verdict == Verdict(
        "note",
        "sweep done: sweet spot at distance 0.50: probe 78%, against 40% when the views share "
        "everything and 20% when they share nothing",
    )
    assert sim.verdict({**measured, "sweep_done": 0.0}) is None


BOUNDS = [
    (name, value)
    for name in ("points", "steps_per_point", "code_dim", "n_classes", "tau", "lr")
    for value in ManyViewsDistanceSim.param[name].bounds
]


@pytest.mark.parametrize(("name", "value"), BOUNDS, ids=[f"{n}={v}" for n, v in BOUNDS])
def test_every_param_at_its_bounds_runs_a_short_sweep_with_finite_metrics(name, value):
    sim = ManyViewsDistanceSim(**{**SHORT, name: value})
    sim.run(min(sim.points * sim.steps_per_point, 700))
    m = sim.measure()
    assert all(isinstance(v, float) and math.isfinite(v) for v in m.values()), m
    assert m["points_done"] >= 1
    sim.snapshot()
    verdict = sim.verdict(m)
    assert (verdict is not None) == sim.done


# -- the promised state, per seed --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("seed", ManyViewsDistanceSim.scenarios[0].seeds)
def test_the_sweep_finds_a_sweet_spot_in_the_middle(seed):
    scenario = ManyViewsDistanceSim.scenarios[0]
    rows = run_scenario(ManyViewsDistanceSim, scenario, seed, RUNS)
    failed = [f"{r.metric} = {r.value:.4g}, wanted {r.op} {r.target:g}" for r in rows if not r.ok]
    assert not failed, "; ".join(failed)


@pytest.mark.slow
def test_the_codes_match_on_the_background_when_it_is_shared_and_on_the_label_after():
    sim = ManyViewsDistanceSim(seed=0)
    sim.run(sim.points * sim.steps_per_point)
    m, snap = sim.measure(), sim.snapshot()
    r2, probes = snap["sweep_nuisance_r2"], snap["sweep"][:, 2]
    assert r2[0] >= 0.5 and r2[4] <= 0.1  # background in the codes at 0, gone at 0.5
    assert probes[4] >= 0.85 and 0 < m["best_distance"] < 1
    assert sim.verdict(m).text.startswith(
        f"sweep done: sweet spot at distance {m['best_distance']:.2f}"
    )
