"""Agreement losses against exact values, invariances and bad input."""

import math

import pytest
import torch

from models.losses import consistency_loss, effective_rank, spread, variance_floor_loss


def test_consistency_loss_exact_value():
    a = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    b = torch.tensor([[3.0, 4.0], [1.0, 2.0]])
    # pair 0: 3^2 + 4^2 = 25; pair 1: 0  ->  mean 12.5
    assert consistency_loss(a, b).item() == pytest.approx(12.5)


def test_consistency_loss_is_symmetric_and_zero_on_identical_views():
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(16, 4, generator=g), torch.randn(16, 4, generator=g)
    assert consistency_loss(a, b).item() == pytest.approx(consistency_loss(b, a).item())
    assert consistency_loss(a, a).item() == 0.0


def test_constant_codes_agree_perfectly():
    """The trap of the collapse chapter: a constant output reaches the minimum of zero."""
    const = torch.full((8, 3), 0.7)
    assert consistency_loss(const, const.clone()).item() == 0.0


@pytest.mark.parametrize(
    ("a", "b"),
    [(torch.zeros(4, 2), torch.zeros(4, 3)), (torch.zeros(4), torch.zeros(4))],
)
def test_consistency_loss_rejects_bad_shapes(a, b):
    with pytest.raises(ValueError, match="same shape"):
        consistency_loss(a, b)


def test_spread_is_the_per_dimension_standard_deviation():
    z = torch.tensor([[0.0, 1.0], [2.0, 1.0]])
    assert spread(z).tolist() == pytest.approx([math.sqrt(2.0), 0.0])


def test_variance_floor_exact_values():
    z = torch.tensor([[0.0, 1.0], [2.0, 1.0]])  # std: sqrt(2) and 0
    # dimension 0 is above a floor of 1 (no charge); dimension 1 is charged the full floor.
    assert variance_floor_loss(z, floor=1.0, eps=0.0).item() == pytest.approx(0.5)
    # above every floor: exactly zero
    assert variance_floor_loss(3 * torch.eye(4), floor=0.5).item() == 0.0


def test_variance_floor_gradient_is_finite_on_collapsed_codes():
    z = torch.ones(8, 2, requires_grad=True)
    loss = variance_floor_loss(z, floor=1.0)
    loss.backward()
    assert loss.item() == pytest.approx(1.0 - math.sqrt(1e-4))
    assert torch.isfinite(z.grad).all()


def test_variance_floor_rejects_bad_input():
    with pytest.raises(ValueError, match="floor must be positive"):
        variance_floor_loss(torch.randn(4, 2), floor=0.0)
    with pytest.raises(ValueError, match="N >= 2"):
        variance_floor_loss(torch.randn(1, 2))


def test_effective_rank_known_cases():
    g = torch.Generator().manual_seed(0)
    assert effective_rank(torch.ones(10, 3)) == 0.0  # a point
    line = torch.randn(50, 1, generator=g) * torch.tensor([[1.0, 2.0, -1.0]])
    assert effective_rank(line) == pytest.approx(1.0, abs=1e-6)
    square = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0], [0.0, -1.0]])
    assert effective_rank(square) == pytest.approx(2.0)


def test_effective_rank_of_a_diverged_batch_is_nan():
    assert math.isnan(effective_rank(torch.tensor([[float("nan"), 1.0], [0.0, 2.0]])))
