"""The prediction sims beyond the shared contract: the exact references are right, a forced
collapse really is constant, the guardrails do what their names say, extremes do not crash."""

import math

import numpy as np
import pytest
import torch

from models.prediction import cosine_prediction_loss
from sims.prediction import PredictionSim, bar_covariance, bar_inputs, bar_loadings
from sims.prediction_embedding import PredictionEmbeddingSim


def test_bars_have_the_covariance_the_references_assume():
    g = torch.Generator().manual_seed(0)
    loadings = bar_loadings(12, 3, g)
    x, _ = bar_inputs(100_000, loadings, 0.5, g)
    empirical = x.T @ x / len(x)
    torch.testing.assert_close(empirical, bar_covariance(loadings, 0.5), atol=0.03, rtol=0.0)
    # every bar: factor variance 1 plus noise variance 0.25
    torch.testing.assert_close(bar_covariance(loadings, 0.5).diagonal(), torch.full((12,), 1.25))


def test_references_exact_and_on_held_out_rows_agree():
    sim = PredictionSim(noise=0.5)
    assert sim.mean_error_exact == pytest.approx(1.25)
    assert sim.best_error == pytest.approx(sim.best_error_exact, rel=0.08)
    assert sim.mean_error == pytest.approx(sim.mean_error_exact, rel=0.08)


def test_without_noise_the_hidden_bars_are_exactly_predictable():
    """3 factors and 8 seen bars: the seen bars pin the factors down, so nothing is left."""
    sim = PredictionSim(noise=0.0, factors=3, n_hidden=4)
    assert sim.best_error_exact == pytest.approx(0.0, abs=1e-4)


def test_forced_collapse_gives_one_prediction_for_every_input():
    sim = PredictionSim(force_collapse=True)
    sim.run(20)
    snap = sim.snapshot()
    assert (snap["code"] == snap["code"][0]).all()
    assert (snap["predicted"] == snap["predicted"][0]).all()
    verdict = sim.verdict(sim.measure())
    assert verdict.state == "collapsed" and verdict.text.startswith("collapsed (forced)")


def test_collapse_can_be_forced_live_and_the_error_jumps_to_the_average():
    sim = PredictionSim()
    sim.run(400)
    assert sim.measure()["error_over_mean"] <= 0.3
    sim.force_collapse = True  # live: no reset
    sim.run(300)
    assert sim.steps == 700
    assert sim.measure()["error_over_mean"] >= 0.95


def test_a_one_number_code_cannot_carry_three_factors():
    sim = PredictionSim(code_size=1, factors=3)
    sim.run(800)
    assert sim.measure()["error_over_best"] >= 1.5


def test_snapshot_shapes_follow_the_settings():
    sim = PredictionSim(n_hidden=5, code_size=2)
    snap = sim.snapshot()
    assert snap["bars"].shape == (4, 12)
    assert snap["predicted"].shape == snap["best"].shape == (4, 5)
    assert snap["hidden_mask"].sum() == 5
    assert snap["hidden_index"].tolist() == [7, 8, 9, 10, 11]
    assert snap["code"].shape == (4, 2)


def extremes(cls):
    for name, p in cls.param.objects().items():
        if name in {"name", "seed"} or getattr(p, "bounds", None) is None:
            continue
        for value in p.bounds:
            yield name, value


@pytest.mark.parametrize("cls", [PredictionSim, PredictionEmbeddingSim], ids=lambda c: c.slug)
def test_sliders_at_their_extremes_do_not_raise(cls):
    for name, value in extremes(cls):
        sim = cls(**{name: value})
        sim.run(3)
        sim.measure()
        sim.snapshot()


def first_gradient(**settings) -> tuple[float, list[torch.Tensor]]:
    sim = PredictionEmbeddingSim(**settings)
    prediction, target = sim.branches(sim.x_eval)
    loss = cosine_prediction_loss(prediction, target)
    loss.backward()
    return loss.item(), [p.grad.clone() for p in sim.encoder.parameters()]


@pytest.mark.parametrize("stop_gradient", [False, True])
def test_a_fresh_ema_target_is_the_encoder_itself(stop_gradient):
    """At step 0 the EMA copy equals the encoder, so switching the EMA on changes nothing yet:
    same loss and same gradient, with and without stop-gradient."""
    loss_a, grads_a = first_gradient(stop_gradient=stop_gradient, ema_target=False)
    loss_b, grads_b = first_gradient(stop_gradient=stop_gradient, ema_target=True)
    assert loss_a == loss_b
    for a, b in zip(grads_a, grads_b, strict=True):
        torch.testing.assert_close(a, b)


def test_stop_gradient_changes_the_gradient():
    _, free = first_gradient(stop_gradient=False)
    _, stopped = first_gradient(stop_gradient=True)
    assert any(not torch.allclose(a, b) for a, b in zip(free, stopped, strict=True))


def test_ema_target_lags_and_plain_target_follows():
    lagging = PredictionEmbeddingSim(ema_target=True, stop_gradient=True, ema_rate=0.99)
    following = PredictionEmbeddingSim(ema_target=False, stop_gradient=True)
    lagging.run(20)
    following.run(20)
    pairs = zip(following.target_encoder.parameters(), following.encoder.parameters(), strict=True)
    assert all(torch.equal(t, o) for t, o in pairs)
    pairs = zip(lagging.target_encoder.parameters(), lagging.encoder.parameters(), strict=True)
    assert not all(torch.equal(t, o) for t, o in pairs)


def test_without_a_predictor_the_head_is_not_trained():
    sim = PredictionEmbeddingSim(predictor=False)
    before = sim.head.weight.clone()
    sim.run(5)
    assert torch.equal(before, sim.head.weight)
    assert len(sim.optimiser.param_groups) == 1


def test_spread_ratio_starts_at_one_and_metrics_are_finite():
    sim = PredictionEmbeddingSim()
    measured = sim.measure()
    assert measured["spread_ratio"] == pytest.approx(1.0)
    assert all(math.isfinite(v) for v in measured.values())
    assert 1.0 <= measured["effective_rank"] <= sim.dim


def test_snapshot_errors_are_the_squared_errors_of_the_shown_inputs():
    sim = PredictionSim(seed=1)
    sim.run(20)
    shot = sim.snapshot()
    truth = shot["bars"][:, shot["hidden_index"].astype(int)]
    expected = np.stack(
        [
            (truth**2).mean(axis=1),
            ((shot["predicted"] - truth) ** 2).mean(axis=1),
            ((shot["best"] - truth) ** 2).mean(axis=1),
        ],
        axis=1,
    )
    np.testing.assert_allclose(shot["errors"], expected, rtol=1e-5)
