"""Prediction of a hidden part: the best linear-Gaussian predictor, the cosine prediction loss
and the slow-moving (EMA) target used when the prediction target is itself an embedding.

The cosine loss and the EMA target are those of BYOL (Grill et al., NeurIPS 2020); Tian, Chen &
Ganguli (ICML 2021) analyse why stop-gradient and a predictor keep them from collapsing.
"""

from __future__ import annotations

import torch
from torch import nn


def best_linear_predictor(
    cov: torch.Tensor, seen: torch.Tensor, hidden: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Conditional mean of the hidden coordinates of a zero-mean Gaussian given the seen ones.

    cov: (D, D) covariance; seen: (S,) and hidden: (H,) integer indices. Returns the weights
    (S, H) such that ``x[:, seen] @ weights`` is E[x_hidden | x_seen], and the expected squared
    error of that prediction for each hidden coordinate (H,): the diagonal of
    cov_hh - cov_hs cov_ss^-1 cov_sh. For Gaussian data no predictor of any kind does better.
    """
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"cov must be a square (D, D) matrix, got {tuple(cov.shape)}")
    if seen.ndim != 1 or hidden.ndim != 1 or hidden.numel() == 0:
        raise ValueError("seen and hidden must be 1-D index tensors, hidden non-empty")
    if set(seen.tolist()) & set(hidden.tolist()):
        raise ValueError("a coordinate cannot be both seen and hidden")
    c_hh = cov[hidden][:, hidden]  # (H, H)
    if seen.numel() == 0:
        return cov.new_zeros(0, hidden.numel()), c_hh.diagonal().clone()
    c_ss = cov[seen][:, seen]  # (S, S)
    c_sh = cov[seen][:, hidden]  # (S, H)
    # pinv, not solve: with no noise and one factor the seen covariance is exactly singular
    weights = torch.linalg.pinv(c_ss, hermitian=True) @ c_sh  # (S, H) = cov_ss^+ cov_sh
    residual = c_hh - c_sh.T @ weights  # (H, H)
    return weights, residual.diagonal().clone()


def cosine_prediction_loss(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of 1 - cos(prediction_i, target_i): 0 when every prediction points
    the same way as its target, 2 when opposite. Lengths do not count. prediction, target:
    (N, d). A zero vector has no direction; ``eps`` in the normalisation makes its cosine 0."""
    if prediction.ndim != 2 or prediction.shape != target.shape:
        raise ValueError(
            f"expected two (N, d) batches of the same shape, got {tuple(prediction.shape)} and "
            f"{tuple(target.shape)}"
        )
    cos = nn.functional.cosine_similarity(prediction, target, dim=1, eps=1e-8)  # (N,)
    return (1 - cos).mean()


@torch.no_grad()
def ema_update_(target: nn.Module, online: nn.Module, rate: float) -> None:
    """In place: every target weight <- rate * itself + (1 - rate) * the online weight.

    rate 0 copies the online network (no lag); rate close to 1 moves the target slowly."""
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"rate must be in [0, 1], got {rate}")
    pairs = list(zip(target.parameters(), online.parameters(), strict=False))
    if len(pairs) != len(list(target.parameters())) or len(pairs) != len(list(online.parameters())):
        raise ValueError("target and online networks must have the same parameters")
    for t, o in pairs:
        if t.shape != o.shape:
            raise ValueError(f"parameter shapes differ: {tuple(t.shape)} and {tuple(o.shape)}")
    for t, o in pairs:
        t.mul_(rate).add_(o, alpha=1 - rate)
