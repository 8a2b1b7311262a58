"""Contrastive objectives over M views of one scene: the core view and the full graph.

Contrastive Multiview Coding (Tian, Krishnan & Isola, ECCV 2020) builds a loss for M views out
of the symmetric two-view loss L(Vi, Vj) (``models.contrastive.cmc_loss``) in two ways:

- core view: L_C = sum_{j >= 2} L(V1, Vj), every view paired with view 1 only (M - 1 terms);
- full graph: L_F = sum_{i < j} L(Vi, Vj), every pair of views (M (M - 1) / 2 terms).

Under the core view a view learns only what it shares with view 1; under the full graph it
also learns what it shares with any other view. Codes: a sequence of M (N, d) batches, row n
of each being a view of scene n.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from models.contrastive import info_nce_diagonal, normalise

OBJECTIVES = ("core", "full")


def pairs(objective: str, m: int) -> list[tuple[int, int]]:
    """The pairs of views (i, j), i < j, counting zero-based (view 1 is index 0), that the
    objective sums over: (0, j) for every j >= 1 (core) or every i < j (full)."""
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if m < 2:
        raise ValueError(f"need at least 2 views, got {m}")
    if objective == "core":
        return [(0, j) for j in range(1, m)]
    return [(i, j) for i in range(m) for j in range(i + 1, m)]


def n_terms(objective: str, m: int) -> int:
    """How many two-view terms the objective sums for ``m`` views: M - 1 or M (M - 1) / 2."""
    return len(pairs(objective, m))


def _check_codes(codes: Sequence[torch.Tensor]) -> None:
    if len(codes) < 2:
        raise ValueError(f"need codes of at least 2 views, got {len(codes)}")
    first = codes[0]
    if first.ndim != 2 or first.shape[0] < 1:
        raise ValueError(f"each view's codes must be an (N, d) batch, got {tuple(first.shape)}")
    for k, z in enumerate(codes):
        if z.shape != first.shape:
            raise ValueError(
                f"every view's codes must have the shape of view 1's {tuple(first.shape)}; "
                f"view {k + 1} has {tuple(z.shape)}"
            )


def multiview_loss(codes: Sequence[torch.Tensor], objective: str, tau: float = 0.1) -> torch.Tensor:
    """The sum of the symmetric two-view losses ``cmc_loss(Vi, Vj)`` over the objective's pairs
    of views, each view normalised once and each pair's scores computed once (row i of the
    scores picks column i one way, column i picks row i the other). codes: M (N, d) -> ()."""
    _check_codes(codes)
    if not tau > 0:
        raise ValueError(f"the temperature tau must be positive, got {tau}")
    unit = [normalise(z) for z in codes]  # M (N, d)
    terms = []
    for i, j in pairs(objective, len(codes)):
        scores = unit[i] @ unit[j].T / tau  # (N, N): view i of each scene against view j
        terms.append(info_nce_diagonal(scores) + info_nce_diagonal(scores.T))
    return torch.stack(terms).sum()


def core_view_loss(codes: Sequence[torch.Tensor], tau: float = 0.1) -> torch.Tensor:
    """L_C = sum_{j >= 2} L(V1, Vj): view 1 is the core every other view is paired with.
    codes: M (N, d) batches -> ()."""
    return multiview_loss(codes, "core", tau)


def full_graph_loss(codes: Sequence[torch.Tensor], tau: float = 0.1) -> torch.Tensor:
    """L_F = sum_{i < j} L(Vi, Vj): every pair of views. codes: M (N, d) batches -> ()."""
    return multiview_loss(codes, "full", tau)
