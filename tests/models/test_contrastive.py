"""Contrastive losses, the InfoNCE bound, alignment and uniformity: exact values,
independent computations, invariances and bad input."""

import math

import pytest
import torch
import torch.nn.functional as F

from models.contrastive import (
    alignment,
    batch_info_nce,
    binary_nce_loss,
    candidate_scores,
    cmc_loss,
    info_nce_bound,
    info_nce_diagonal,
    info_nce_from_scores,
    info_nce_loss,
    mean_resultant_length,
    normalise,
    triplet_margin_loss,
    uniformity,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def circle(n):
    angles = 2 * math.pi * torch.arange(n, dtype=torch.float64) / n
    return torch.stack([angles.cos(), angles.sin()], dim=1)


# -- InfoNCE ---------------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 4, 63])
def test_info_nce_on_equal_scores_is_log_of_the_number_of_candidates(k):
    """Nothing tells the positive apart: the loss is log K with K = k + 1, not log k."""
    z = torch.tensor([[0.6, 0.8]])
    negatives = z.expand(k, 2).unsqueeze(0)  # (1, k, 2): every candidate is the same point
    assert info_nce_loss(z, z.clone(), negatives, tau=0.1).item() == pytest.approx(math.log(k + 1))
    assert info_nce_from_scores(torch.zeros(5, k + 1)).item() == pytest.approx(math.log(k + 1))


def test_info_nce_exact_value():
    # -log(e^2 / (e^2 + e^0 + e^0)) = log(1 + 2 e^-2)
    scores = torch.tensor([[2.0, 0.0, 0.0]])
    assert info_nce_from_scores(scores).item() == pytest.approx(math.log(1 + 2 * math.exp(-2)))


def test_info_nce_matches_cross_entropy_and_is_never_negative():
    scores = torch.randn(16, 9, generator=gen())
    expected = F.cross_entropy(scores, torch.zeros(16, dtype=torch.long))
    assert info_nce_from_scores(scores).item() == pytest.approx(expected.item(), rel=1e-6)
    assert info_nce_from_scores(100 * scores).item() >= 0.0


@pytest.mark.parametrize("k", [1, 2, 64])
def test_diagonal_info_nce_on_equal_scores_is_log_k(k):
    assert info_nce_diagonal(torch.full((k, k), 3.0)).item() == pytest.approx(math.log(k))


def test_diagonal_info_nce_is_info_nce_with_each_rows_own_pair_moved_first():
    scores = torch.randn(7, 7, generator=gen(6))
    others = torch.tensor([[j for j in range(7) if j != i] for i in range(7)])
    first = torch.cat([scores.diagonal()[:, None], scores.gather(1, others)], dim=1)  # (7, 7)
    expected = info_nce_from_scores(first).item()
    assert info_nce_diagonal(scores).item() == pytest.approx(expected, rel=1e-6)
    by_cross_entropy = F.cross_entropy(scores, torch.arange(7)).item()
    assert info_nce_diagonal(scores).item() == pytest.approx(by_cross_entropy, rel=1e-6)


def test_info_nce_goes_to_zero_when_the_positive_wins_by_far():
    anchor = torch.tensor([[1.0, 0.0]])
    negatives = torch.tensor([[[-1.0, 0.0], [0.0, 1.0]]])
    loss = info_nce_loss(anchor, anchor.clone(), negatives, tau=0.01)
    assert loss.item() == pytest.approx(2 * math.exp(-100), abs=1e-12)


def test_candidate_scores_are_cosines_over_tau_with_the_positive_first():
    anchor = torch.tensor([[3.0, 0.0]])
    positive = torch.tensor([[1.0, 1.0]])  # 45 degrees
    negatives = torch.tensor([[[0.0, 5.0], [-2.0, 0.0]]])  # 90 and 180 degrees
    scores = candidate_scores(anchor, positive, negatives, tau=0.5)
    assert scores[0].tolist() == pytest.approx([math.sqrt(0.5) / 0.5, 0.0, -2.0], abs=1e-6)


def test_codes_lengths_do_not_matter_to_cosine_losses():
    g = gen(1)
    a, p, n = (
        torch.randn(8, 3, generator=g),
        torch.randn(8, 3, generator=g),
        torch.randn(8, 5, 3, generator=g),
    )
    for loss in (info_nce_loss, binary_nce_loss):
        base = loss(a, p, n, 0.2).item()
        assert loss(7 * a, 0.1 * p, 3 * n, 0.2).item() == pytest.approx(base, rel=1e-5)


def test_batch_info_nce_equals_info_nce_with_the_other_items_as_negatives():
    g = gen(2)
    z1, z2 = torch.randn(6, 4, generator=g), torch.randn(6, 4, generator=g)
    others = torch.tensor([[j for j in range(6) if j != i] for i in range(6)])
    expected = info_nce_loss(z1, z2, z2[others], tau=0.3)
    assert batch_info_nce(z1, z2, tau=0.3).item() == pytest.approx(expected.item(), rel=1e-6)


def test_batch_info_nce_two_items_by_hand():
    z1 = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    z2 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    # item 0: scores (1, 0), its partner in column 0 -> -log(e / (e + 1)) = log(1 + e^-1)
    # item 1: scores (1, 0), its partner in column 1 -> -log(1 / (e + 1)) = log(1 + e)
    expected = (math.log(1 + math.exp(-1)) + math.log(1 + math.e)) / 2
    assert batch_info_nce(z1, z2, tau=1.0).item() == pytest.approx(expected)


def test_cmc_loss_is_symmetric_and_sums_both_directions():
    g = gen(3)
    z1, z2 = torch.randn(10, 8, generator=g), torch.randn(10, 8, generator=g)
    assert cmc_loss(z1, z2, 0.1).item() == pytest.approx(cmc_loss(z2, z1, 0.1).item(), rel=1e-6)
    both = batch_info_nce(z1, z2, 0.1) + batch_info_nce(z2, z1, 0.1)
    assert cmc_loss(z1, z2, 0.1).item() == pytest.approx(both.item(), rel=1e-6)
    # the two directions differ in general, so the test above is not trivially true
    assert batch_info_nce(z1, z2, 0.1).item() != pytest.approx(batch_info_nce(z2, z1, 0.1).item())


def test_info_nce_bound_is_log_k_minus_loss_and_never_above_log_k():
    assert info_nce_bound(1.0, 64) == pytest.approx(math.log(64) - 1.0)
    scores = torch.randn(32, 16, generator=gen(4)) * 10
    assert info_nce_bound(info_nce_from_scores(scores).item(), 16) <= math.log(16)
    with pytest.raises(ValueError, match="at least one candidate"):
        info_nce_bound(0.5, 0)


# -- triplet and binary NCE ------------------------------------------------------------------


def test_triplet_margin_exact_value():
    anchor = torch.tensor([[0.0, 0.0]])
    positive = torch.tensor([[1.0, 0.0]])  # squared distance 1
    negatives = torch.tensor([[[2.0, 0.0], [0.0, 0.5]]])  # squared distances 4 and 0.25
    # max(0, 1 - 4 + 0.5) = 0 and max(0, 1 - 0.25 + 0.5) = 1.25 -> mean 0.625
    assert triplet_margin_loss(anchor, positive, negatives, margin=0.5).item() == pytest.approx(
        0.625
    )
    assert triplet_margin_loss(anchor, positive, negatives[:, :1], margin=0.5).item() == 0.0


def test_binary_nce_exact_value():
    anchor = torch.tensor([[1.0, 0.0]])
    negatives = torch.tensor([[[-1.0, 0.0], [0.0, 1.0]]])  # cosines -1 and 0
    # -log s(1/tau) - log s(1/tau) - log s(0), tau = 1
    expected = 2 * math.log(1 + math.exp(-1)) + math.log(2)
    assert binary_nce_loss(anchor, anchor.clone(), negatives, tau=1.0).item() == pytest.approx(
        expected
    )


# -- alignment, uniformity, resultant length -------------------------------------------------


def test_alignment_exact_values():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z2 = torch.tensor([[1.0, 0.0], [1.0, 0.0]])  # distances 0 and sqrt(2)
    assert alignment(z1, z2).item() == pytest.approx(1.0)
    assert alignment(z1, z2, alpha=1.0).item() == pytest.approx(math.sqrt(2) / 2)
    assert alignment(z1, z1.clone()).item() == 0.0


def test_uniformity_exact_values():
    point = torch.tensor([[1.0, 0.0]]).expand(5, 2)
    assert uniformity(point).item() == pytest.approx(0.0)  # collapse: the worst value
    antipodes = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    assert uniformity(antipodes).item() == pytest.approx(-8.0)  # log e^{-2 * 4}
    three = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0]])  # pair distances^2: 4, 0, 4
    assert uniformity(three).item() == pytest.approx(math.log((2 * math.exp(-8) + 1) / 3))


def test_uniformity_of_an_even_circle_approaches_its_continuous_value():
    # E exp(-2 |x - y|^2) over the circle = e^{-4} I_0(4) (about e^-1.575); over the distinct
    # pairs of n even points it is (n c - 1) / (n - 1), the pair of a point with itself left out
    c = math.exp(-4) * sum((2.0**m / math.factorial(m)) ** 2 for m in range(40))
    n = 1000
    assert uniformity(circle(n)).item() == pytest.approx(math.log((n * c - 1) / (n - 1)), abs=1e-4)
    assert math.log(c) == pytest.approx(-1.575, abs=1e-3)


def test_mean_resultant_length():
    assert mean_resultant_length(torch.tensor([[2.0, 0.0], [0.5, 0.0]])).item() == pytest.approx(
        1.0
    )
    assert mean_resultant_length(circle(12)).item() == pytest.approx(0.0, abs=1e-7)
    half = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # unit vectors (1, 0), (0, 1)
    assert mean_resultant_length(half).item() == pytest.approx(math.sqrt(0.5))


def test_normalise_puts_rows_on_the_unit_sphere():
    z = torch.randn(7, 3, generator=gen(5))
    assert normalise(z).norm(dim=1).tolist() == pytest.approx([1.0] * 7)


# -- bad input -------------------------------------------------------------------------------


def test_bad_hyperparameters_are_refused():
    a, n = torch.randn(4, 2), torch.randn(4, 3, 2)
    with pytest.raises(ValueError, match="tau must be positive"):
        info_nce_loss(a, a, n, tau=0.0)
    with pytest.raises(ValueError, match="tau must be positive"):
        cmc_loss(a, a, tau=-1.0)
    with pytest.raises(ValueError, match="margin"):
        triplet_margin_loss(a, a, n, margin=-0.1)
    with pytest.raises(ValueError, match="alpha"):
        alignment(a, a, alpha=0.0)
    with pytest.raises(ValueError, match="t must be positive"):
        uniformity(a, t=0.0)


def test_bad_shapes_are_refused():
    a = torch.randn(4, 2)
    with pytest.raises(ValueError, match="negatives must be"):
        info_nce_loss(a, a, torch.randn(4, 2), tau=0.1)
    with pytest.raises(ValueError, match="negatives must be"):
        triplet_margin_loss(a, a, torch.randn(3, 5, 2))
    with pytest.raises(ValueError, match="same shape"):
        binary_nce_loss(a, torch.randn(4, 3), torch.randn(4, 1, 2))
    with pytest.raises(ValueError, match="same shape"):
        batch_info_nce(a, torch.randn(5, 2))
    with pytest.raises(ValueError, match="N >= 2"):
        uniformity(torch.randn(1, 2))
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        info_nce_from_scores(torch.randn(4))
    with pytest.raises(ValueError, match="square"):
        info_nce_diagonal(torch.randn(4, 5))
