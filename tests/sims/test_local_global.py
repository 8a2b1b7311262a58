"""The local-global sim beyond the contract: determinism, the bound under its ceiling, the
snapshot, every param at both bounds, and the verdicts. The expected states (scenarios) run in
tests/sims/test_expectations.py."""

import math

import numpy as np
import param
import pytest
import torch

from sims.base import Verdict
from sims.local_global import N_BINS, LocalGlobalSim, shift_views


def test_same_seed_same_run_and_watching_does_not_change_it():
    quiet, watched = LocalGlobalSim(seed=4), LocalGlobalSim(seed=4)
    for _ in range(6):
        assert quiet.step()["loss"] == watched.step()["loss"]
        watched.measure()
        watched.snapshot()
    assert quiet.measure() == watched.measure()


def test_shift_moves_by_at_most_one_pixel_with_zeros_shifted_in():
    x = torch.zeros(50, 1, 8, 8)
    x[:, 0, 3, 4] = 1.0
    moved = shift_views(x, torch.Generator().manual_seed(0))
    assert moved.shape == x.shape and torch.all(moved.sum(dim=(1, 2, 3)) == 1)
    rows, cols = moved[:, 0].nonzero()[:, 1], moved[:, 0].nonzero()[:, 2]
    assert set(rows.tolist()) == {2, 3, 4} and set(cols.tolist()) == {3, 4, 5}


@pytest.mark.parametrize("batch_size", [4, 32, 64])
def test_held_out_bound_never_above_log_k(batch_size):
    sim = LocalGlobalSim(batch_size=batch_size, seed=1)
    sim.run(30)
    m = sim.measure()
    assert m["ceiling"] == pytest.approx(math.log(1 + 16 * (batch_size - 1)))
    assert m["bound"] <= m["ceiling"] and m["bound_train"] <= m["ceiling"]


def test_snapshot_shapes_and_fixed_histogram_edges():
    sim = LocalGlobalSim(clip=False, seed=2)
    first = sim.snapshot()
    sim.run(5)
    snap = sim.snapshot()
    assert snap["image"].shape == (8, 8) and snap["pos_map"].shape == (4, 4)
    assert snap["hist_edges"].shape == (N_BINS + 1,)
    assert snap["hist_pos"].shape == snap["hist_neg"].shape == (N_BINS,)
    np.testing.assert_array_equal(first["hist_edges"], snap["hist_edges"])
    assert snap["hist_edges"][-1] == pytest.approx(1.25 * sim.clip_c)
    for key in ("hist_pos", "hist_neg"):  # shares: every score lands in a bin, end bins too
        assert snap[key].sum() == pytest.approx(1.0, abs=1e-5)
    assert snap["probe_history"].shape[1] == 2 and snap["bound_history"].shape[1] == 2
    assert all(a.dtype == np.float32 for a in snap.values())


def _scale_global_head(sim, factor):
    """Every global vector in score space times ``factor``, so every score too."""
    head = sim.heads["global"]
    with torch.no_grad():
        for prm in (head.out.weight, head.out.bias, head.skip.weight):
            prm.mul_(factor)


def test_scores_beyond_the_edges_fall_into_the_end_bins():
    sim = LocalGlobalSim(clip=False)
    _scale_global_head(sim, 1e3)  # scores far beyond +-1.25 c
    snap = sim.snapshot()
    ends = snap["hist_neg"][0] + snap["hist_neg"][-1]
    assert ends > 0.5 and snap["hist_neg"].sum() == pytest.approx(1.0, abs=1e-5)


def test_the_clip_bounds_what_the_loss_sees():
    sim = LocalGlobalSim(clip_c=2.0)
    _scale_global_head(sim, 100.0)
    m = sim.measure()
    assert m["neg_abs_max"] > 2.0  # raw scores are reported before the clip
    assert m["near_clip"] > 0.0
    assert np.abs(sim.snapshot()["pos_map"]).max() <= 2.0


def _bounds(cls):
    for name, p in cls.param.objects().items():
        if name in ("name", "seed"):
            continue
        if isinstance(p, param.Boolean):
            yield from ((name, False), (name, True))
        elif p.bounds is not None:
            yield from ((name, p.bounds[0]), (name, p.bounds[1]))


@pytest.mark.parametrize(("name", "value"), list(_bounds(LocalGlobalSim)))
def test_every_param_at_its_bounds_runs_with_finite_metrics(name, value):
    sim = LocalGlobalSim(**{name: value})
    for metrics in [sim.step() for _ in range(20)] + [sim.measure()]:
        for key, v in metrics.items():
            assert isinstance(v, float) and math.isfinite(v), key


def test_live_params_change_the_run_without_a_reset():
    sim = LocalGlobalSim()
    sim.run(3)
    sim.param.update(lr=0.01, batch_size=8, clip=False, multiscale=False, augment=False)
    sim.run(2)
    assert sim.steps == 5
    assert sim.measure()["ceiling"] == pytest.approx(math.log(1 + 16 * 7))


def test_verdicts():
    sim = LocalGlobalSim()
    base = sim.measure()
    assert sim.verdict({**base, "neg_abs_max": 1e4}).text.startswith("scores growing without")
    dead = sim.verdict({**base, "score_std": 0.0})
    assert isinstance(dead, Verdict) and dead.state == "collapsed"
    saturated = sim.verdict({**base, "near_clip": 0.5})
    assert saturated.state == "note" and "clip" in saturated.text
    beats = sim.verdict({**base, "probe_accuracy": 0.99, "raw_accuracy": 0.9})
    assert "beat" in beats.text
    assert sim.verdict({**base, "probe_accuracy": 0.5, "raw_accuracy": 0.9}) is None
