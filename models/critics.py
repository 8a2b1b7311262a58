"""The bilinear critic f(u, v) = u^T W v, beside the separable and joint critics of
``models.mi_bounds``: the least capacity of the three, one d x d matrix and nothing else.

As in Tschannen et al. (ICLR 2020), "On Mutual Information Maximization for Representation
Learning", which compares these three critics on top and bottom halves of digits. Like the
critics of ``models.mi_bounds`` it scores every pair of a batch at once and returns
(heads, K, K), so all three can be swapped for one another.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class BilinearCritic(nn.Module):
    """f_c(u, v) = u^T W_c v with ``heads`` learned (d, d) matrices W_c, each initialised
    uniform in +-1/sqrt(d) (as ``nn.Linear``) from ``generator``; without a generator they start
    at 0, so every score is equal and the InfoNCE estimate starts at exactly 0."""

    def __init__(self, dim: int, generator: torch.Generator | None = None, heads: int = 1) -> None:
        super().__init__()
        if dim < 1 or heads < 1:
            raise ValueError(f"the bilinear critic needs dim, heads >= 1, got {dim}, {heads}")
        if generator is None:
            weight = torch.zeros(heads, dim, dim)
        else:
            bound = 1.0 / math.sqrt(dim)
            weight = (torch.rand(heads, dim, dim, generator=generator) * 2 - 1) * bound
        self.weight = nn.Parameter(weight)  # (heads, d, d)

    def forward(self, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """u, v: (K, d) -> scores (heads, K, K) with scores[c, i, j] = u_i^T W_c v_j."""
        d = self.weight.shape[1]
        if u.ndim != 2 or u.shape != v.shape or u.shape[0] < 2 or u.shape[1] != d:
            raise ValueError(
                f"u and v must be (K, {d}) batches of the same shape with K >= 2, got "
                f"{tuple(u.shape)} and {tuple(v.shape)}"
            )
        return (u @ self.weight) @ v.T  # (heads, K, d) @ (d, K) -> (heads, K, K)
