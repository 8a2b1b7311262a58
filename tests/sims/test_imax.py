"""The IMAX chapter's sims: the Gaussian readouts and the stereo data."""

import math

import numpy as np
import pytest
import torch

from models.imax import gaussian_imax, two_view_gaussian_mi
from sims.imax_gaussian import ImaxGaussianSim
from sims.imax_stereo import ImaxStereoSim, stereo_strips

# -- the Gaussian picture -----------------------------------------------------------------------


def test_readouts_of_one_draw_match_numpy():
    sim = ImaxGaussianSim(n_samples=400, seed=5)
    shot, m = sim.snapshot(), sim.measure()
    a, b = shot["a"].astype(float), shot["b"].astype(float)
    assert m["var_sum"] == pytest.approx(np.var(a + b, ddof=1), rel=1e-5)
    assert m["var_diff"] == pytest.approx(np.var(a - b, ddof=1), rel=1e-5)
    assert m["corr"] == pytest.approx(np.corrcoef(a, b)[0, 1], rel=1e-5)
    assert m["imax"] == pytest.approx(0.5 * math.log(m["var_sum"] / m["var_diff"]))
    assert m["mi_sample"] == pytest.approx(-0.5 * math.log(1 - m["corr"] ** 2))


@pytest.mark.parametrize(
    ("signal", "noise_a", "noise_b"), [(1.0, 0.5, 0.5), (0.7, 0.3, 1.6), (2.0, 2.0, 0.4)]
)
def test_closed_forms_match_monte_carlo(signal, noise_a, noise_b):
    """200,000 samples: the sample readouts sit within 4 standard errors of the closed forms (the
    standard errors come from a bootstrap over 20 independent runs)."""

    def readouts(seed: int, steps: int) -> tuple[float, float]:
        sim = ImaxGaussianSim(
            signal=signal, noise_a=noise_a, noise_b=noise_b, n_samples=2000, seed=seed
        )
        sim.run(steps)
        m = sim.measure()
        return m["imax"], m["mi_sample"]

    imax, mi = readouts(0, 99)  # 100 draws of 2000
    small = np.array([readouts(seed, 4) for seed in range(1, 21)])  # 20 runs of 10,000
    se_imax, se_mi = small.std(axis=0, ddof=1) / math.sqrt(20)  # scale 10k -> 200k samples
    assert abs(imax - gaussian_imax(signal, noise_a, noise_b)) < 4 * se_imax
    assert abs(mi - two_view_gaussian_mi(signal, noise_a, noise_b)) < 4 * se_mi


def test_readouts_settle_as_samples_pile_up():
    sim = ImaxGaussianSim(signal=0.8, noise_a=1.0, noise_b=1.0, n_samples=20, seed=2)
    first = sim.measure()["imax_error"]
    sim.run(3999)
    assert sim.measure()["samples"] == 20 * 4000
    assert sim.measure()["imax_error"] < first / 5


def test_theory_readouts_grow_with_the_signal_slider():
    values = [ImaxGaussianSim(signal=s).measure() for s in np.linspace(0.0, 3.0, 13)]
    for key in ("imax_theory", "mi_theory", "info_about_signal"):
        assert np.all(np.diff([v[key] for v in values]) > 0), key


def test_sliders_at_their_extremes_do_not_raise():
    for signal in (0.0, 3.0):
        for noise in (0.05, 5.0):
            for n in (20, 2000):
                sim = ImaxGaussianSim(signal=signal, noise_a=noise, noise_b=0.05, n_samples=n)
                sim.run(2)
                assert all(math.isfinite(v) for v in sim.measure().values())


# -- the stereo data ----------------------------------------------------------------------------


def test_right_eye_sees_the_left_eye_shifted_by_the_disparity():
    left, right, d = stereo_strips(200, 16, 2, 0.5, torch.Generator().manual_seed(0))
    assert left.shape == right.shape == (200, 2, 16) and d.shape == (200, 2)
    assert set(left.unique().tolist()) == {-1.0, 1.0}
    for n in range(200):
        for p in range(2):
            k = int(d[n, p])
            lo, hi = max(0, -k), min(16, 16 - k)  # pixels i with i + k inside the strip
            assert torch.equal(right[n, p, lo:hi], left[n, p, lo + k : hi + k])


def test_slant_sets_how_often_the_patches_differ():
    g = torch.Generator().manual_seed(1)
    _, _, flat = stereo_strips(2000, 8, 2, 0.0, g)
    assert torch.equal(flat[:, 0], flat[:, 1])
    _, _, tilted = stereo_strips(2000, 8, 2, 1.0, g)
    assert torch.equal((tilted[:, 1] - tilted[:, 0]).abs(), torch.ones(2000, dtype=torch.long))
    _, _, some = stereo_strips(20000, 8, 3, 0.25, g)
    step = some[:, 1] - some[:, 0]
    assert set(some[:, 0].unique().tolist()) == set(range(-3, 4))
    assert (step != 0).float().mean().item() == pytest.approx(0.25, abs=0.015)
    assert (step == 1).float().mean().item() == pytest.approx(0.125, abs=0.01)


def test_the_patches_share_no_pixels():
    """Every pixel of patch A is uncorrelated with every pixel of patch B (both eyes): the
    disparity is the only thing they have in common."""
    n = 20000
    left, right, _ = stereo_strips(n, 10, 2, 0.0, torch.Generator().manual_seed(2))
    pixels = torch.cat([left, right], dim=2)  # (n, 2, 20)
    cross = pixels[:, 0].T @ pixels[:, 1] / n  # (20, 20) mean products, +-1 dots
    assert cross.abs().max().item() < 5 / math.sqrt(n)


def test_stereo_snapshot_and_verdicts():
    sim = ImaxStereoSim(seed=0)
    shot = sim.snapshot()
    assert {k: v.shape for k, v in shot.items()} == {
        "a": (300,),
        "b": (300,),
        "disparity": (300,),
        "disparity_b": (300,),
        "disparities": (5,),
        "mean_by_disparity": (5,),
    }
    assert set(np.unique(shot["disparity"])) <= {-2.0, -1.0, 0.0, 1.0, 2.0}
    assert shot["disparities"].tolist() == [-2.0, -1.0, 0.0, 1.0, 2.0]
    for d, mean in zip(shot["disparities"], shot["mean_by_disparity"], strict=True):
        assert mean == pytest.approx(shot["a"][shot["disparity"] == d].mean(), abs=1e-6)
    collapsed = sim.verdict({"spread_ratio": 0.01})
    assert collapsed.state == "collapsed" and collapsed.text.startswith("collapsed:")
    depth = sim.verdict({"corr_ab": 0.95, "abs_corr_disparity": 0.95})
    assert depth.state == "note" and depth.text.startswith("found depth")
    code = sim.verdict({"corr_ab": 0.99, "abs_corr_disparity": 0.3, "disparity_r2": 0.99})
    assert code.state == "note" and "code of the disparity" in code.text
    other = sim.verdict({"corr_ab": 0.99, "abs_corr_disparity": 0.3, "disparity_r2": 0.5})
    assert other.text == "agreeing on something other than the disparity"
    assert sim.verdict({"corr_ab": 0.2}) is None


def test_stereo_sliders_at_their_extremes_do_not_raise():
    for settings in (
        {"width": 8, "max_disparity": 3, "batch_size": 32, "lr": 0.1, "slant": 1.0},
        {
            "width": 64,
            "max_disparity": 1,
            "batch_size": 1024,
            "lr": 0.0005,
            "naive": True,
            "weight_decay": 0.0,
        },
    ):
        sim = ImaxStereoSim(**settings)
        sim.run(3)
        sim.measure()
        sim.snapshot()


def test_gaussian_snapshot_carries_the_latest_batch_terms():
    sim = ImaxGaussianSim(seed=2)
    sim.run(3)
    a, b = sim.a.numpy(), sim.b.numpy()
    expected = [np.var(a + b, ddof=1), np.var(a - b, ddof=1)]
    np.testing.assert_allclose(sim.snapshot()["batch_terms"], expected, rtol=1e-5)
