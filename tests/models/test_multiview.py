"""The multi-view objectives: sums of two-view losses over the right pairs, checked by hand."""

import itertools
import math

import pytest
import torch

from models.contrastive import cmc_loss
from models.multiview import (
    core_view_loss,
    full_graph_loss,
    multiview_loss,
    n_terms,
    pairs,
)


def views(m: int, n: int = 16, d: int = 5, seed: int = 0) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, d, generator=g) for _ in range(m)]


@pytest.mark.parametrize("m", [2, 3, 4, 5])
@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_core_view_is_the_sum_of_view_one_with_each_other_view(m, tau):
    z = views(m)
    by_hand = sum(cmc_loss(z[0], z[j], tau) for j in range(1, m))
    assert core_view_loss(z, tau).item() == pytest.approx(by_hand.item(), rel=1e-6)


@pytest.mark.parametrize("m", [2, 3, 4, 5])
@pytest.mark.parametrize("tau", [0.1, 0.5])
def test_full_graph_is_the_sum_over_every_pair(m, tau):
    z = views(m)
    by_hand = sum(cmc_loss(z[i], z[j], tau) for i in range(m) for j in range(i + 1, m))
    assert full_graph_loss(z, tau).item() == pytest.approx(by_hand.item(), rel=1e-6)


def test_gradients_match_the_sum_of_two_view_losses():
    z = [v.requires_grad_() for v in views(3)]
    full_graph_loss(z, 0.2).backward()
    mine = [v.grad.clone() for v in z]
    w = [v.detach().clone().requires_grad_() for v in z]
    sum(cmc_loss(w[i], w[j], 0.2) for i, j in [(0, 1), (0, 2), (1, 2)]).backward()
    for a, b in zip(mine, w, strict=True):
        torch.testing.assert_close(a, b.grad)


def test_two_views_the_objectives_agree():
    z = views(2)
    assert core_view_loss(z).item() == pytest.approx(full_graph_loss(z).item())
    assert core_view_loss(z).item() == pytest.approx(cmc_loss(*z).item())


@pytest.mark.parametrize("m", [2, 3, 4, 6])
def test_term_counts(m):
    assert n_terms("core", m) == m - 1
    assert n_terms("full", m) == m * (m - 1) // 2
    assert pairs("core", 4) == [(0, 1), (0, 2), (0, 3)]
    assert pairs("full", 4) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]


@pytest.mark.parametrize("m", [3, 4])
def test_identical_codes_cost_log_n_per_direction_and_term(m):
    """All scores equal: each direction of each pair costs exactly log N."""
    n = 12
    z = [torch.ones(n, 4) for _ in range(m)]
    for objective in ("core", "full"):
        expected = 2 * n_terms(objective, m) * math.log(n)
        assert multiview_loss(z, objective, 0.3).item() == pytest.approx(expected, rel=1e-6)


def test_relabelling_the_other_views_leaves_both_objectives_unchanged():
    z = views(4)
    core, full = core_view_loss(z).item(), full_graph_loss(z).item()
    for order in itertools.permutations([1, 2, 3]):
        relabelled = [z[0]] + [z[k] for k in order]
        assert core_view_loss(relabelled).item() == pytest.approx(core, rel=1e-6)
        assert full_graph_loss(relabelled).item() == pytest.approx(full, rel=1e-6)


def test_only_the_full_graph_is_symmetric_in_view_one():
    z = views(3)
    swapped = [z[1], z[0], z[2]]
    assert full_graph_loss(swapped).item() == pytest.approx(full_graph_loss(z).item(), rel=1e-6)
    assert core_view_loss(swapped).item() != pytest.approx(core_view_loss(z).item(), rel=1e-3)


def test_bad_input_raises():
    z = views(3)
    with pytest.raises(ValueError, match="at least 2 views"):
        core_view_loss(z[:1])
    with pytest.raises(ValueError, match="at least 2 views"):
        full_graph_loss([])
    with pytest.raises(ValueError, match="view 3 has"):
        full_graph_loss([z[0], z[1], z[2][:, :3]])
    with pytest.raises(ValueError, match="view 2 has"):
        core_view_loss([z[0], z[1][:8]])
    with pytest.raises(ValueError, match="must be an"):
        core_view_loss([torch.randn(5), torch.randn(5)])
    with pytest.raises(ValueError, match="objective must be"):
        multiview_loss(z, "star")
    with pytest.raises(ValueError, match="tau"):
        full_graph_loss(z, 0.0)
    with pytest.raises(ValueError, match="at least 2 views"):
        n_terms("core", 1)
