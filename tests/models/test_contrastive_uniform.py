"""The uniformity of evenly spaced points on the circle and its limit: against SciPy's Bessel
function and quadrature, against ``uniformity()`` of the points themselves, and bad input."""

import math

import pytest
import scipy.integrate
import scipy.special
import torch

from models.contrastive import uniformity, uniformity_circle_limit, uniformity_evenly_spaced


def circle(n):
    angles = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    return torch.stack([angles.cos(), angles.sin()], dim=1)  # (n, 2)


@pytest.mark.parametrize("t", [0.05, 0.5, 1.0, 2.0, 4.0, 8.0])
def test_circle_limit_is_minus_2t_plus_log_bessel_i0(t):
    assert uniformity_circle_limit(t) == pytest.approx(
        -2 * t + math.log(scipy.special.i0(2 * t)), rel=1e-12
    )


@pytest.mark.parametrize("t", [0.5, 2.0, 8.0])
def test_circle_limit_is_the_mean_over_the_circle_of_exp_minus_t_squared_distance(t):
    # for unit vectors at angle theta, |x - y|^2 = 2 - 2 cos(theta)
    mean, _ = scipy.integrate.quad(lambda a: math.exp(-2 * t * (1 - math.cos(a))), 0, 2 * math.pi)
    assert uniformity_circle_limit(t) == pytest.approx(math.log(mean / (2 * math.pi)), rel=1e-9)


def test_circle_limit_at_t_2_and_for_large_t_without_overflow():
    assert uniformity_circle_limit(2.0) == pytest.approx(-1.5750, abs=1e-4)
    assert uniformity_evenly_spaced(300, 2.0) == pytest.approx(-1.5879, abs=1e-4)
    # I0(2t) overflows a double past t ~ 356; the scaled form does not
    big = uniformity_circle_limit(1000.0)
    assert math.isfinite(big)
    assert big == pytest.approx(-0.5 * math.log(4 * math.pi * 1000.0), abs=1e-3)  # I0 ~ e^x/√2πx


@pytest.mark.parametrize("n", [2, 3, 7, 50, 300])
@pytest.mark.parametrize("t", [0.5, 2.0, 8.0])
def test_evenly_spaced_matches_uniformity_of_the_points(n, t):
    assert uniformity_evenly_spaced(n, t) == pytest.approx(
        uniformity(circle(n), t).item(), rel=1e-9, abs=1e-12
    )


def test_evenly_spaced_exact_small_cases():
    assert uniformity_evenly_spaced(2, 2.0) == pytest.approx(-8.0)  # antipodes: |x - y|^2 = 4
    assert uniformity_evenly_spaced(3, 1.0) == pytest.approx(-3.0)  # triangle: |x - y|^2 = 3
    assert uniformity_evenly_spaced(4, 1.0) == pytest.approx(
        math.log((2 * math.exp(-2) + math.exp(-4)) / 3)
    )


@pytest.mark.parametrize("t", [0.5, 2.0])
def test_evenly_spaced_leaves_out_each_point_with_itself_and_tends_to_the_limit(t):
    # the mean over all n^2 ordered pairs (self-pairs included) is the circle's mean c to
    # machine precision; leaving out the n self-pairs (each worth 1) gives (n c - 1) / (n - 1)
    c = math.exp(uniformity_circle_limit(t))
    for n in (50, 300, 5000):
        assert uniformity_evenly_spaced(n, t) == pytest.approx(
            math.log((n * c - 1) / (n - 1)), rel=1e-10
        )
        assert uniformity_evenly_spaced(n, t) < uniformity_circle_limit(t)
    assert uniformity_evenly_spaced(10**6, t) == pytest.approx(uniformity_circle_limit(t), abs=1e-5)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="n >= 2"):
        uniformity_evenly_spaced(1)
    with pytest.raises(ValueError, match="t must be positive"):
        uniformity_evenly_spaced(10, 0.0)
    with pytest.raises(ValueError, match="t must be positive"):
        uniformity_circle_limit(-1.0)
