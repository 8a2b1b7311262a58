"""Invertible layers against exact inverses, autograd Jacobians, torch.logdet and numpy's
condition number; the empirical MI against counts done by hand; bad sizes rejected."""

import math

import numpy as np
import pytest
import torch
from torch.autograd.functional import jacobian

from models.invertible import (
    AffineCoupling,
    InvertibleEncoder,
    InvertibleLinear,
    Permutation,
    condition_numbers,
    empirical_mi,
    jacobians,
    reconstruction_error,
)
from models.metrics import lda_probe


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def scrambled(module, seed=1, scale=0.2):
    """``module`` with every parameter moved at random, so no layer sits at its identity."""
    g = gen(seed)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g))
    return module


def layers(dim=6):
    g = gen()
    return {
        "permutation": Permutation(dim, g),
        "linear": scrambled(InvertibleLinear(dim)),
        "coupling": scrambled(AffineCoupling(dim, 16, g, max_log_scale=2.0)),
        "encoder": scrambled(InvertibleEncoder(dim, 3, 16, g)),
        "odd-size encoder": scrambled(InvertibleEncoder(dim + 1, 2, 8, g)),
    }


NAMES = list(layers())


@pytest.mark.parametrize("name", NAMES)
def test_inverse_undoes_forward_for_random_inputs(name):
    layer = layers()[name]
    x = 2 * torch.randn(200, layer.dim, generator=gen(2))
    with torch.no_grad():
        np.testing.assert_allclose(layer.inverse(layer(x)), x, atol=1e-5)
        np.testing.assert_allclose(layer(layer.inverse(x)), x, atol=1e-5)
    assert reconstruction_error(layer, x) < 1e-5


def test_inverse_still_exact_after_training_steps():
    g = gen(3)
    encoder = InvertibleEncoder(8, 4, 32, g)
    x = torch.rand(64, 8, generator=g)
    target = torch.randn(64, 8, generator=g)
    optimiser = torch.optim.Adam(encoder.parameters(), lr=0.01)
    for _ in range(50):  # pull the codes towards an arbitrary target: weights far from init
        optimiser.zero_grad()
        (encoder(x) - target).pow(2).mean().backward()
        optimiser.step()
    moved = (encoder(x) - x).abs().max().item()
    assert moved > 0.5
    assert reconstruction_error(encoder, x) < 1e-5
    assert reconstruction_error(encoder, torch.randn(64, 8, generator=g)) < 1e-5


def test_encoder_is_linear_without_coupling_layers_and_starts_at_the_identity():
    encoder = InvertibleEncoder(5, 0, 8, gen())
    x = torch.randn(10, 5, generator=gen(1))
    np.testing.assert_array_equal(encoder(x).detach(), x)
    scrambled(encoder)
    linear = encoder.layers[0]
    expected = x @ linear.weight().T + linear.bias
    np.testing.assert_allclose(encoder(x).detach(), expected.detach(), atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_log_det_matches_torch_logdet_of_the_jacobian(name):
    layer = layers()[name].double()
    x = torch.randn(5, layer.dim, generator=gen(4), dtype=torch.float64)
    log_det = layer.log_det(x).detach()
    for i, row in enumerate(x):
        jac = jacobian(lambda r: layer(r.unsqueeze(0)).squeeze(0), row)  # (d, d)
        sign, logabs = torch.linalg.slogdet(jac)
        assert sign != 0
        assert log_det[i].item() == pytest.approx(logabs.item(), abs=1e-9)
        flipped = jac * sign  # a row sign flip makes det > 0, so torch.logdet is defined
        flipped[1:] = jac[1:]
        assert log_det[i].item() == pytest.approx(torch.logdet(flipped).item(), abs=1e-9)


def test_coupling_log_scale_is_bounded():
    layer = scrambled(AffineCoupling(6, 16, gen(), max_log_scale=0.3), scale=20.0)
    x = 10 * torch.randn(500, 6, generator=gen(5))
    s, _ = layer.scale_shift(x[:, :3])
    assert s.abs().max().item() <= 0.3 + 1e-6
    assert s.abs().max().item() > 0.29  # the bound is reached, so the check can fail
    assert layer.log_det(x).abs().max().item() <= 0.3 * 3 + 1e-5


def test_jacobians_and_condition_numbers_match_autograd_and_numpy():
    encoder = layers()["encoder"]
    x = torch.randn(7, encoder.dim, generator=gen(6))
    jac = jacobians(encoder, x).detach()  # (7, d, d)
    expected = torch.stack([jacobian(lambda r: encoder(r.unsqueeze(0)).squeeze(0), r) for r in x])
    np.testing.assert_allclose(jac, expected, rtol=1e-5, atol=1e-6)
    cond = condition_numbers(encoder, x).detach().numpy()
    np.testing.assert_allclose(cond, np.linalg.cond(expected.double().numpy()), rtol=1e-4)
    assert np.all(cond >= 1)


def test_condition_number_of_a_known_linear_map():
    layer = InvertibleLinear(3)
    with torch.no_grad():
        layer.log_diag.copy_(torch.tensor([math.log(4.0), 0.0, math.log(0.5)]))
    cond = condition_numbers(layer, torch.zeros(2, 3))
    np.testing.assert_allclose(cond.detach(), [8.0, 8.0], rtol=1e-6)  # diag(4, 1, 0.5)


def test_empirical_mi_is_log_n_for_distinct_pairs_and_smaller_with_repeats():
    x1 = torch.arange(8.0).unsqueeze(1)  # 8 distinct rows
    assert empirical_mi(x1, -x1) == pytest.approx(math.log(8))
    assert empirical_mi(x1, torch.zeros(8, 2)) == pytest.approx(0.0)  # x2 constant
    halves = (torch.arange(8) % 2).float().unsqueeze(1)  # x2 a function of x1 with 2 values
    assert empirical_mi(x1, halves) == pytest.approx(math.log(2))
    repeated = torch.cat([x1[:4], x1[:4]])  # each pair twice: 4 distinct pairs
    assert empirical_mi(repeated, repeated + 1) == pytest.approx(math.log(4))


def test_lda_without_shrinkage_does_not_see_an_invertible_linear_map():
    """An invertible affine map changes no linear classifier's predictions, so an unshrunk LDA
    probe reads exactly the same accuracy on x and on x A^T + b."""
    g = gen(10)
    labels = torch.randint(0, 4, (400,), generator=g)
    centres = 1.5 * torch.randn(4, 6, generator=g)
    x = centres[labels] + torch.randn(400, 6, generator=g)
    layer = scrambled(InvertibleLinear(6), scale=0.7).double()
    with torch.no_grad():
        z = layer(x.double())
    tr, te = slice(0, 300), slice(300, None)
    raw = lda_probe(x[tr], labels[tr], x[te], labels[te], shrink=0.0)
    coded = lda_probe(z[tr], labels[tr], z[te], labels[te], shrink=0.0)
    assert 0.5 < raw < 1.0
    assert coded == raw


def test_bad_sizes_raise():
    g = gen()
    with pytest.raises(ValueError, match="dim must be at least 2"):
        AffineCoupling(1, 8, g)
    with pytest.raises(ValueError, match="dim must be at least 1"):
        AffineCoupling(4, 0, g)
    with pytest.raises(ValueError, match="max_log_scale"):
        AffineCoupling(4, 8, g, max_log_scale=0.0)
    with pytest.raises(ValueError, match="n_coupling"):
        InvertibleEncoder(4, -1, 8, g)
    with pytest.raises(ValueError, match="dim must be at least 1"):
        Permutation(0, g)
    encoder = InvertibleEncoder(4, 2, 8, g)
    for bad in (torch.zeros(3, 5), torch.zeros(4)):
        with pytest.raises(ValueError, match=r"expected an \(N, 4\) batch"):
            encoder(bad)
        with pytest.raises(ValueError, match=r"expected an \(N, 4\) batch"):
            encoder.inverse(bad)
    with pytest.raises(ValueError, match="two"):
        empirical_mi(torch.zeros(3, 2), torch.zeros(4, 2))
