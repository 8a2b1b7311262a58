"""IMAX and the Gaussian model's closed forms: exact values, independent computations, bad input."""

import itertools
import math

import numpy as np
import pytest
import torch

from models.imax import (
    BinocularModule,
    correlation,
    gaussian_correlation,
    gaussian_imax,
    gaussian_info_about_signal,
    imax_objective,
    mi_from_correlation,
    two_view_gaussian_mi,
)


def gaussian_mi_from_covariance(cov: np.ndarray, x: list[int], y: list[int]) -> float:
    """I(X;Y) of jointly Gaussian variables: 1/2 log(det C_xx det C_yy / det C), independent of
    every formula in models/imax.py."""
    joint = cov[np.ix_(x + y, x + y)]
    return 0.5 * math.log(
        np.linalg.det(cov[np.ix_(x, x)]) * np.linalg.det(cov[np.ix_(y, y)]) / np.linalg.det(joint)
    )


def model_covariance(signal: float, noise_a: float, noise_b: float) -> np.ndarray:
    """Covariance of (s, a, b, (a+b)/2) under a = s + n_A, b = s + n_B, built as M M^T from the
    linear map M that takes the independent sources (s, n_A, n_B) to those variables."""
    m = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 0.5, 0.5]], dtype=float)
    m = m * np.array([signal, noise_a, noise_b])
    return m @ m.T


GRID = [
    (s, na, nb)
    for s, na, nb in itertools.product([0.1, 0.5, 1.0, 2.5], [0.2, 0.7, 1.5], [0.2, 0.7, 1.5])
]


# -- imax_objective and correlation --------------------------------------------------------------


def test_imax_exact_value():
    a = torch.tensor([0.0, 1.0, 2.0, 3.0])
    b = torch.tensor([1.0, 0.0, 3.0, 2.0])
    # a + b = (1, 1, 5, 5): var 16/3;  a - b = (-1, 1, -1, 1): var 4/3;  1/2 log 4 = log 2
    assert imax_objective(a, b, eps=0.0).item() == pytest.approx(math.log(2.0))


def test_imax_invariances():
    g = torch.Generator().manual_seed(0)
    s = torch.randn(64, generator=g, dtype=torch.float64)
    a = s + 0.5 * torch.randn(64, generator=g, dtype=torch.float64)
    b = s + 0.5 * torch.randn(64, generator=g, dtype=torch.float64)
    value = imax_objective(a, b).item()
    assert imax_objective(b, a).item() == pytest.approx(value)  # symmetric
    assert imax_objective(3 * a + 1, 3 * b - 2).item() == pytest.approx(value)  # one scale, shifts
    assert imax_objective(a, -b).item() == pytest.approx(-value)  # anti-agreement is negative


def test_constant_outputs_earn_nothing():
    """Collapse cannot pay: the objective is a ratio, and a constant pair scores exactly 0."""
    const = torch.full((10,), 0.3)
    assert imax_objective(const, const.clone()).item() == pytest.approx(0.0, abs=1e-6)


def test_imax_with_equal_spreads_is_the_fisher_transform_of_the_correlation():
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(2, 50, generator=g, dtype=torch.float64)
    b = b + a
    a, b = (a - a.mean()) / a.std(), (b - b.mean()) / b.std()
    r = correlation(a, b).item()
    assert imax_objective(a, b, eps=0.0).item() == pytest.approx(math.atanh(r))


def test_correlation_exact_values():
    a = torch.tensor([1.0, 2.0, 3.0])
    assert correlation(a, 2 * a + 5).item() == pytest.approx(1.0)
    assert correlation(a, -a).item() == pytest.approx(-1.0)
    assert correlation(a, torch.tensor([1.0, 0.0, 1.0])).item() == pytest.approx(0.0)
    assert correlation(a, torch.ones(3)).item() == 0.0  # a constant output correlates with nothing


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (torch.zeros(4), torch.zeros(5)),
        (torch.zeros(4, 1), torch.zeros(4, 1)),
        (torch.zeros(1), torch.zeros(1)),
    ],
)
def test_imax_and_correlation_reject_bad_shapes(a, b):
    with pytest.raises(ValueError, match=r"\(N,\)"):
        imax_objective(a, b)
    with pytest.raises(ValueError, match=r"\(N,\)"):
        correlation(a, b)


def test_imax_rejects_negative_eps():
    with pytest.raises(ValueError, match="eps"):
        imax_objective(torch.zeros(3), torch.ones(3), eps=-1.0)


# -- closed forms of the Gaussian model ---------------------------------------------------------


def test_mi_from_correlation_exact_values():
    assert mi_from_correlation(0.0) == 0.0
    assert mi_from_correlation(math.sqrt(3) / 2) == pytest.approx(math.log(2.0))  # 1 - r^2 = 1/4
    assert mi_from_correlation(-0.6) == mi_from_correlation(0.6)
    assert mi_from_correlation(1.0) == math.inf
    with pytest.raises(ValueError, match="correlation"):
        mi_from_correlation(1.5)


def test_closed_forms_exact_values():
    # S = 1, both noises 1: var(a+b) = 6, var(a-b) = 2, corr = 1/2
    assert gaussian_imax(1.0, 1.0, 1.0) == pytest.approx(0.5 * math.log(3.0))
    assert gaussian_correlation(1.0, 1.0, 1.0) == pytest.approx(0.5)
    assert two_view_gaussian_mi(1.0, 1.0, 1.0) == pytest.approx(-0.5 * math.log(0.75))
    assert gaussian_info_about_signal(1.0, 1.0, 1.0) == pytest.approx(0.5 * math.log(3.0))
    # no signal: nothing shared
    assert gaussian_imax(0.0, 1.0, 2.0) == two_view_gaussian_mi(0.0, 1.0, 2.0) == 0.0


@pytest.mark.parametrize(("signal", "noise_a", "noise_b"), GRID)
def test_closed_forms_match_the_covariance_determinants(signal, noise_a, noise_b):
    cov = model_covariance(signal, noise_a, noise_b)  # order: s, a, b, (a+b)/2
    assert two_view_gaussian_mi(signal, noise_a, noise_b) == pytest.approx(
        gaussian_mi_from_covariance(cov, [1], [2]), rel=1e-9
    )
    assert gaussian_info_about_signal(signal, noise_a, noise_b) == pytest.approx(
        gaussian_mi_from_covariance(cov, [0], [1, 2]), rel=1e-9
    )
    assert two_view_gaussian_mi(signal, noise_a, noise_b) == pytest.approx(
        mi_from_correlation(gaussian_correlation(signal, noise_a, noise_b)), rel=1e-9
    )


@pytest.mark.parametrize(("signal", "noise_a", "noise_b"), GRID)
def test_imax_is_the_information_the_average_carries_about_the_signal(signal, noise_a, noise_b):
    """IMAX = I(s; (a+b)/2) for independent Gaussian noise, equal or not."""
    cov = model_covariance(signal, noise_a, noise_b)
    assert gaussian_imax(signal, noise_a, noise_b) == pytest.approx(
        gaussian_mi_from_covariance(cov, [0], [3]), rel=1e-9
    )


@pytest.mark.parametrize(("signal", "noise_a", "noise_b"), GRID)
def test_imax_reaches_all_the_pair_knows_only_with_equal_noise(signal, noise_a, noise_b):
    imax, total = (
        gaussian_imax(signal, noise_a, noise_b),
        gaussian_info_about_signal(signal, noise_a, noise_b),
    )
    if noise_a == noise_b:
        assert imax == pytest.approx(total, rel=1e-12)
    else:
        assert imax < total - 1e-9


def test_with_equal_noise_imax_and_mi_depend_only_on_snr_and_grow_with_it():
    snrs = np.linspace(0.01, 20.0, 60)
    for noise in (0.3, 1.0, 2.0):  # same SNR at another scale gives the same values
        imax = [gaussian_imax(noise * math.sqrt(q), noise, noise) for q in snrs]
        mi = [two_view_gaussian_mi(noise * math.sqrt(q), noise, noise) for q in snrs]
        assert np.all(np.diff(imax) > 0) and np.all(np.diff(mi) > 0)
        np.testing.assert_allclose(imax, 0.5 * np.log1p(2 * snrs), rtol=1e-12)
        # and one is a function of the other: I(a;b) = log(1 + SNR) - IMAX
        np.testing.assert_allclose(mi, np.log1p(snrs) - np.array(imax), rtol=1e-9)


def test_unequal_noise_breaks_the_link():
    """Moving noise from one view to the other at a fixed total leaves IMAX unchanged but changes
    I(a;b): IMAX sees only sa^2 + sb^2."""
    even, lopsided = (1.0, 1.0, 1.0), (1.0, 0.2, math.sqrt(2 - 0.04))
    assert gaussian_imax(*even) == pytest.approx(gaussian_imax(*lopsided))
    assert two_view_gaussian_mi(*lopsided) > two_view_gaussian_mi(*even) + 0.05


@pytest.mark.parametrize(
    "model", [(-1.0, 1.0, 1.0), (1.0, -0.5, 1.0), (1.0, 0.0, 0.0)], ids=["signal", "noise", "zero"]
)
def test_closed_forms_reject_bad_models(model):
    for f in (
        gaussian_imax,
        two_view_gaussian_mi,
        gaussian_correlation,
        gaussian_info_about_signal,
    ):
        with pytest.raises(ValueError):
            f(*model)


# -- the stereo module --------------------------------------------------------------------------


def test_one_tap_units_are_cross_correlations_of_the_strips():
    module = BinocularModule(torch.Generator().manual_seed(0), units=1, taps=3)
    with torch.no_grad():
        module.u.zero_()
        module.v.zero_()
        module.u[0, 0] = 1.0  # left pixel i
        module.v[2, 0] = 1.0  # right pixel i + 2
    left = torch.tensor([[1.0, -1.0, 1.0, 1.0, -1.0]])
    right = torch.tensor([[-1.0, 1.0, 1.0, -1.0, 1.0]])
    # positions i = 0, 1, 2: left[i] * right[i + 2] = 1*1, -1*-1, 1*1 -> mean 1
    assert module.units(left, right).item() == pytest.approx(1.0)


def test_module_shapes_reproducibility_and_bad_input():
    a = BinocularModule(torch.Generator().manual_seed(4))
    b = BinocularModule(torch.Generator().manual_seed(4))
    strips = torch.randn(2, 7, 12, generator=torch.Generator().manual_seed(0))
    out = a(strips[0], strips[1])
    assert out.shape == (7,)
    assert torch.equal(out, b(strips[0], strips[1]))
    with pytest.raises(ValueError, match="strips"):
        a(strips[0], strips[1, :, :10])
    with pytest.raises(ValueError, match="strips"):
        a(strips[0, :, :3], strips[1, :, :3])  # narrower than the filters
    with pytest.raises(ValueError, match=">= 1"):
        BinocularModule(torch.Generator(), units=0)
