"""Agreement losses and the variance floor.

The variance floor is the variance term of VICReg (Bardes, Ponce & LeCun, ICLR 2022).
Every function takes a batch of codes with shape (N, d): N inputs, d code dimensions.
"""

from __future__ import annotations

import torch


def _check_pair(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.ndim != 2 or a.shape != b.shape:
        raise ValueError(
            f"expected two (N, d) batches of the same shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )


def consistency_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of the squared distance ||a_i - b_i||^2. a, b: (N, d)."""
    _check_pair(a, b)
    return (a - b).pow(2).sum(dim=1).mean()


def spread(z: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Standard deviation of each code dimension over the batch. z: (N, d) -> (d,)."""
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"expected an (N, d) batch with N >= 2, got {tuple(z.shape)}")
    return torch.sqrt(z.var(dim=0) + eps)


def variance_floor_loss(z: torch.Tensor, floor: float = 1.0, eps: float = 1e-4) -> torch.Tensor:
    """Hinge mean_j max(0, floor - std_j(z)): zero once every dimension spreads past the floor.

    ``eps`` keeps the square root's gradient finite when a dimension has fully collapsed.
    """
    if floor <= 0:
        raise ValueError(f"floor must be positive, got {floor}")
    return torch.relu(floor - spread(z, eps)).mean()


def effective_rank(z: torch.Tensor) -> float:
    """exp(entropy of the normalised singular values of the centred batch): from 1 (a line) to
    d (spread evenly over every dimension), and 0 for a point, which has no spread at all.
    Roy & Vetterli, 2007. z: (N, d)."""
    if not torch.isfinite(z).all():
        return float("nan")
    centred = z - z.mean(dim=0, keepdim=True)
    s = torch.linalg.svdvals(centred.double())
    total = s.sum()
    if total <= 1e-12:
        return 0.0
    p = s / total
    p = p[p > 0]
    return float(torch.exp(-(p * p.log()).sum()))
