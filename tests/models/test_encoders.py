"""The small networks and the normaliser the sims train with."""

import pytest
import torch

from models.encoders import mlp, standardise


def test_standardise_gives_every_column_mean_zero_and_spread_one():
    z = 5.0 + 3.0 * torch.randn(64, 3, generator=torch.Generator().manual_seed(0))
    out = standardise(z, eps=0.0)
    torch.testing.assert_close(out.mean(dim=0), torch.zeros(3), atol=1e-5, rtol=0)
    torch.testing.assert_close(out.std(dim=0), torch.ones(3))
    torch.testing.assert_close(standardise(7.0 * z - 2.0, eps=0.0), out)  # blind to scale, shift
    with pytest.raises(ValueError, match="N >= 2"):
        standardise(torch.randn(1, 3))


def test_mlp_is_reproducible_from_its_generator_and_refuses_bad_sizes():
    a = mlp([4, 8, 2], torch.Generator().manual_seed(1))
    b = mlp([4, 8, 2], torch.Generator().manual_seed(1))
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    with pytest.raises(ValueError, match="two positive sizes"):
        mlp([4], torch.Generator())
