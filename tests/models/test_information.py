"""Entropy, KL, channels and Gaussian information against scipy, numpy and closed forms."""

import math

import numpy as np
import pytest
import scipy.special
import scipy.stats
import torch

from models.information import (
    binary_entropy,
    blahut_arimoto,
    channel_terms,
    cross_entropy,
    entropy,
    gaussian_channel_mi,
    gaussian_stage_mi,
    kl_divergence,
    symmetric_channel,
    z_channel,
    z_channel_capacity,
)

LOG2 = math.log(2.0)
P = [0.1, 0.2, 0.3, 0.4]
Q = [0.25, 0.25, 0.4, 0.1]
P_ZERO = [0.5, 0.0, 0.3, 0.2]  # an impossible outcome: 0 · log 0 = 0


def t(values):
    return torch.tensor(values, dtype=torch.float64)


def random_distribution(k, rng):
    return rng.dirichlet(np.ones(k))


def random_channel(k, m, rng):
    return np.stack([rng.dirichlet(np.ones(m)) for _ in range(k)])


# -- entropy, cross-entropy, KL -----------------------------------------------------------------


@pytest.mark.parametrize("p", [P, Q, P_ZERO, [1.0, 0.0], [0.5, 0.5]])
def test_entropy_matches_scipy_in_nats_and_bits(p):
    assert float(entropy(t(p))) == pytest.approx(scipy.stats.entropy(p), abs=1e-12)
    assert float(entropy(t(p))) / LOG2 == pytest.approx(scipy.stats.entropy(p, base=2), abs=1e-12)


def test_entropy_works_over_the_last_axis():
    rng = np.random.default_rng(0)
    p = np.stack([random_distribution(5, rng) for _ in range(3)])
    np.testing.assert_allclose(
        entropy(t(p)).numpy(), scipy.stats.entropy(p, axis=-1), rtol=0, atol=1e-12
    )


@pytest.mark.parametrize(("p", "q"), [(P, Q), (Q, P), (P_ZERO, Q), (P, P)])
def test_cross_entropy_and_kl_match_scipy(p, q):
    kl = scipy.special.rel_entr(p, q).sum()
    assert kl == pytest.approx(scipy.stats.entropy(p, q))  # the two references agree
    assert float(kl_divergence(t(p), t(q))) == pytest.approx(kl, abs=1e-12)
    assert float(cross_entropy(t(p), t(q))) == pytest.approx(scipy.stats.entropy(p) + kl, abs=1e-12)


def test_kl_of_a_distribution_with_itself_is_zero():
    assert float(kl_divergence(t(P_ZERO), t(P_ZERO))) == pytest.approx(0.0, abs=1e-15)


def test_cross_entropy_is_infinite_where_q_misses_an_outcome_of_p():
    p, q = [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]
    assert math.isinf(scipy.special.rel_entr(p, q).sum())
    assert float(cross_entropy(t(p), t(q))) == math.inf
    assert float(kl_divergence(t(p), t(q))) == math.inf
    # but q may miss an outcome that p never produces
    assert float(cross_entropy(t(q), t(p))) == pytest.approx(LOG2)


def test_zero_probability_gives_finite_values_and_gradients_in_p():
    p = t(P_ZERO).requires_grad_()
    q = t(Q)
    for fn in (lambda: entropy(p), lambda: cross_entropy(p, q), lambda: kl_divergence(p, q)):
        p.grad = None
        value = fn()
        assert torch.isfinite(value)
        value.backward()
        assert torch.isfinite(p.grad).all(), p.grad


def test_binary_entropy():
    assert binary_entropy(0.5) == pytest.approx(LOG2, abs=1e-15)
    assert binary_entropy(0.0) == 0.0
    assert binary_entropy(1.0) == 0.0
    for e in (0.01, 0.1, 0.3):
        assert binary_entropy(e) == pytest.approx(scipy.stats.entropy([e, 1 - e]), abs=1e-12)
        assert binary_entropy(e) == pytest.approx(binary_entropy(1 - e), abs=1e-15)


# -- channels -----------------------------------------------------------------------------------


def test_channel_matrices_are_stochastic_with_the_right_entries():
    for k in (2, 3, 6):
        for error in (0.0, 0.3, 1.0):
            for channel in (symmetric_channel(k, error), z_channel(k, error)):
                assert channel.shape == (k, k)
                assert torch.allclose(channel.sum(1), torch.ones(k, dtype=torch.float64))
                assert (channel >= 0).all()
    s = symmetric_channel(3, 0.3)
    assert torch.allclose(s, t([[0.7, 0.15, 0.15], [0.15, 0.7, 0.15], [0.15, 0.15, 0.7]]))
    z = z_channel(3, 0.3)
    assert torch.allclose(z, t([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.3, 0.0, 0.7]]))
    with pytest.raises(ValueError):
        symmetric_channel(1, 0.0)
    with pytest.raises(ValueError):
        z_channel(1, 0.0)


@pytest.mark.parametrize(("k", "m", "seed"), [(2, 2, 0), (3, 5, 1), (6, 4, 2)])
def test_channel_terms_identities_and_kl_of_the_joint(k, m, seed):
    rng = np.random.default_rng(seed)
    px, w = random_distribution(k, rng), random_channel(k, m, rng)
    terms = {key: float(v) for key, v in channel_terms(t(px), t(w)).items()}
    joint = px[:, None] * w
    py = joint.sum(0)
    h_x, h_y = scipy.stats.entropy(px), scipy.stats.entropy(py)
    mi = scipy.special.rel_entr(joint, px[:, None] * py[None, :]).sum()
    h_x_given_y = -(joint * np.log(joint / py[None, :])).sum()
    h_y_given_x = -(joint * np.log(w)).sum()
    assert terms["h_x"] == pytest.approx(h_x, abs=1e-12)
    assert terms["h_y"] == pytest.approx(h_y, abs=1e-12)
    assert terms["h_x_given_y"] == pytest.approx(h_x_given_y, abs=1e-12)
    assert terms["h_y_given_x"] == pytest.approx(h_y_given_x, abs=1e-12)
    assert terms["mi"] == pytest.approx(mi, abs=1e-12)
    assert terms["mi"] == pytest.approx(terms["h_x"] - terms["h_x_given_y"], abs=1e-12)
    assert terms["mi"] == pytest.approx(terms["h_y"] - terms["h_y_given_x"], abs=1e-12)


@pytest.mark.parametrize("k", [2, 3, 6])
def test_ideal_channel_carries_h_x_and_useless_channel_carries_nothing(k):
    px = t(random_distribution(k, np.random.default_rng(k)))
    ideal = channel_terms(px, symmetric_channel(k, 0.0))
    assert float(ideal["mi"]) == pytest.approx(float(entropy(px)), abs=1e-12)
    assert float(ideal["h_x_given_y"]) == pytest.approx(0.0, abs=1e-12)
    useless = channel_terms(px, symmetric_channel(k, (k - 1) / k))
    assert float(useless["mi"]) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("error", [0.0, 0.01, 0.1, 0.25, 0.5, 0.8, 1.0])
def test_blahut_arimoto_bsc_capacity_is_one_minus_binary_entropy_bits(error):
    capacity, px = blahut_arimoto(symmetric_channel(2, error))
    assert capacity / LOG2 == pytest.approx(1.0 - binary_entropy(error) / LOG2, abs=1e-6)
    assert torch.allclose(px, t([0.5, 0.5]), atol=1e-6)


@pytest.mark.parametrize("error", [0.05, 0.1, 0.3, 0.5, 0.7, 0.9])
def test_blahut_arimoto_matches_the_z_channel_closed_form(error):
    capacity, px = blahut_arimoto(z_channel(2, error))
    closed, p1 = z_channel_capacity(error)
    assert capacity == pytest.approx(closed, abs=1e-6)
    assert float(px[-1]) == pytest.approx(p1, abs=1e-6)
    # the closed-form input reaches the capacity
    best = channel_terms(t([1.0 - p1, p1]), z_channel(2, error))["mi"]
    assert float(best) == pytest.approx(closed, abs=1e-12)


def test_z_channel_closed_form_at_half():
    capacity, p1 = z_channel_capacity(0.5)
    assert p1 == pytest.approx(0.4, abs=1e-12)
    assert capacity == pytest.approx(math.log(1.25), abs=1e-12)


def test_z_channel_closed_form_at_the_ends():
    assert z_channel_capacity(0.0) == pytest.approx((LOG2, 0.5))
    assert z_channel_capacity(1.0) == (0.0, 0.5)
    assert blahut_arimoto(z_channel(2, 1.0))[0] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("k", [2, 4])
def test_mi_gradient_is_finite_for_a_symbol_never_received(k):
    """Z-channel with error 1: the last symbol always arrives as the first, so p(y = last) = 0."""
    scores = torch.randn(k, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    scores.requires_grad_()
    terms = channel_terms(torch.softmax(scores, 0), z_channel(k, 1.0))
    assert all(torch.isfinite(v) for v in terms.values())
    terms["mi"].backward()
    assert torch.isfinite(scores.grad).all(), scores.grad


# -- Gaussian channels --------------------------------------------------------------------------


def random_cov(n, rng):
    a = rng.standard_normal((n, n))
    return a @ a.T + 0.5 * np.eye(n)


@pytest.mark.parametrize(
    ("m", "n", "noise", "seed"), [(1, 3, 0.5, 0), (3, 4, 0.3, 1), (4, 2, 1.7, 2)]
)
def test_gaussian_channel_mi_matches_slogdet(m, n, noise, seed):
    rng = np.random.default_rng(seed)
    w, cov = rng.standard_normal((m, n)), random_cov(n, rng)
    cov_y = w @ cov @ w.T + noise**2 * np.eye(m)
    sign_y, logdet_y = np.linalg.slogdet(cov_y)
    sign_n, logdet_n = np.linalg.slogdet(noise**2 * np.eye(m))
    assert sign_y > 0 and sign_n > 0
    expected = 0.5 * (logdet_y - logdet_n)
    assert float(gaussian_channel_mi(t(w), t(cov), noise)) == pytest.approx(expected, abs=1e-10)


def test_gaussian_channel_mi_of_one_unit():
    rng = np.random.default_rng(3)
    cov = random_cov(3, rng)
    for noise in (0.1, 1.0, 3.0):
        w = rng.standard_normal(3)
        expected = 0.5 * math.log(1 + w @ cov @ w / noise**2)
        assert float(gaussian_channel_mi(t(w[None, :]), t(cov), noise)) == pytest.approx(
            expected, abs=1e-12
        )


@pytest.mark.parametrize(("m", "n", "seed"), [(2, 2, 0), (3, 4, 1), (4, 2, 2)])
def test_invertible_stage_keeps_the_information_and_projection_loses_some(m, n, seed):
    rng = np.random.default_rng(seed)
    w, cov, noise = t(rng.standard_normal((m, n))), t(random_cov(n, rng)), 0.4
    mi = float(gaussian_channel_mi(w, cov, noise))
    mixer = t(rng.standard_normal((m, m)))
    assert abs(float(torch.linalg.det(mixer))) > 1e-3
    assert float(gaussian_stage_mi(w, cov, noise, mixer)) == pytest.approx(mi, abs=1e-9)
    identity = torch.eye(m, dtype=torch.float64)
    assert float(gaussian_stage_mi(w, cov, noise, identity)) == pytest.approx(mi, abs=1e-12)
    projected = float(gaussian_stage_mi(w, cov, noise, identity[:1]))
    assert projected < mi - 1e-6
    # keeping unit 1 only is that unit's own channel
    assert projected == pytest.approx(float(gaussian_channel_mi(w[:1], cov, noise)), abs=1e-12)


def test_zero_probabilities_stay_finite_in_float32_too():
    p = torch.tensor([0.5, 0.5, 0.0], requires_grad=True)  # float32
    h = entropy(p)
    h.backward()
    assert math.isclose(float(h), math.log(2), rel_tol=1e-6)
    assert torch.isfinite(p.grad).all()


def test_kl_gradient_in_q_is_finite_where_both_are_zero():
    p = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64)
    q = torch.tensor([0.5, 0.5, 0.0], dtype=torch.float64, requires_grad=True)
    kl = kl_divergence(p, q)
    kl.backward()
    assert float(kl) == 0.0
    assert torch.isfinite(q.grad).all()
