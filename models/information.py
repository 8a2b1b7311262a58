"""Entropy, KL divergence, channels and Gaussian mutual information, exactly, in nats.

Every function takes and returns torch tensors (float64 where it matters), so a sim can
differentiate through it: a predictor's cross-entropy, an input distribution's mutual
information through a channel, a linear layer's Gaussian information. The convention
0 · log 0 = 0 holds throughout, and no function returns NaN for a zero probability.
"""

from __future__ import annotations

import math

import torch

TINY = 1e-300  # a probability this small contributes nothing, and its log stays finite


def plogp(p: torch.Tensor) -> torch.Tensor:
    """p · log p elementwise, 0 at p = 0, with a finite gradient everywhere (in any float
    precision: the floor is the smallest normal number of p's dtype)."""
    return p * torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))


def entropy(p: torch.Tensor) -> torch.Tensor:
    """H(p) = −Σ p log p over the last axis."""
    return -plogp(p).sum(-1)


def cross_entropy(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """H(p, q) = −Σ p log q over the last axis: the average surprise of outcomes drawn from p
    for a predictor that believes q. Infinite where q misses an outcome p can produce."""
    # log of 1 where p = 0: those terms vanish, and no 0 · inf reaches the gradient
    return -(p * torch.log(q.where(p > 0, torch.ones_like(q)))).sum(-1)


def kl_divergence(p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """KL(p ‖ q) = Σ p log(p / q) = H(p, q) − H(p), over the last axis."""
    return cross_entropy(p, q) - entropy(p)


def binary_entropy(e: float) -> float:
    """H_b(e) = −e log e − (1 − e) log(1 − e), in nats."""
    return float(entropy(torch.tensor([e, 1.0 - e], dtype=torch.float64)))


def symmetric_channel(k: int, error: float) -> torch.Tensor:
    """The k-ary symmetric channel as a (k, k) matrix of p(y | x): each symbol arrives intact
    with probability 1 − error, else as one of the other k − 1 symbols, all equally likely.
    With k = 2 it is the binary symmetric channel; error = (k − 1)/k makes y independent of x."""
    if k < 2:
        raise ValueError(f"a channel needs at least 2 symbols, got {k}")
    off = error / (k - 1)
    matrix = torch.full((k, k), off, dtype=torch.float64)
    matrix.fill_diagonal_(1.0 - error)
    return matrix


def z_channel(k: int, error: float) -> torch.Tensor:
    """A Z-channel on k symbols: every symbol arrives intact except the last, which arrives as
    the first with probability ``error``."""
    if k < 2:
        raise ValueError(f"a channel needs at least 2 symbols, got {k}")
    matrix = torch.eye(k, dtype=torch.float64)
    matrix[-1, -1] = 1.0 - error
    matrix[-1, 0] = error
    return matrix


def channel_terms(px: torch.Tensor, channel: torch.Tensor) -> dict[str, torch.Tensor]:
    """H(X), H(Y), H(X|Y), H(Y|X) and I(X;Y) for input distribution ``px`` (k,) sent through
    ``channel`` (k, m) of p(y | x). I(X;Y) = H(Y) − H(Y|X) = H(X) − H(X|Y)."""
    py = px @ channel
    h_x, h_y = entropy(px), entropy(py)
    h_y_given_x = (px * entropy(channel)).sum()
    mi = h_y - h_y_given_x
    return {
        "h_x": h_x,
        "h_y": h_y,
        "h_x_given_y": h_x - mi,
        "h_y_given_x": h_y_given_x,
        "mi": mi,
    }


def blahut_arimoto(
    channel: torch.Tensor, tol: float = 1e-12, max_iter: int = 100_000
) -> tuple[float, torch.Tensor]:
    """The capacity (nats) of a discrete memoryless channel and an input distribution that
    reaches it, by the Blahut–Arimoto iteration: an independent check on gradient ascent."""
    k = channel.shape[0]
    px = torch.full((k,), 1.0 / k, dtype=torch.float64)
    w = channel.to(torch.float64)
    capacity = 0.0
    for _ in range(max_iter):
        py = px @ w
        # D_x = KL(p(y|x) ‖ p(y)) for every input symbol x
        d = (w * (torch.log(w.clamp_min(TINY)) - torch.log(py.clamp_min(TINY)))).sum(-1)
        d = d.where(torch.isfinite(d), torch.zeros_like(d))
        lower, upper = float((px * d).sum()), float(d.max())
        capacity = lower
        if upper - lower < tol:
            break
        px = px * torch.exp(d - d.max())
        px = px / px.sum()
    return capacity, px


def z_channel_capacity(error: float) -> tuple[float, float]:
    """Closed form for the binary Z-channel (1 → 0 with probability ``error``): the capacity in
    nats and the probability of sending 1 that reaches it (derived in the lesson)."""
    if error >= 1.0:
        return 0.0, 0.5  # nothing gets through; every input distribution does equally well
    if error <= 0.0:
        return math.log(2.0), 0.5
    h = binary_entropy(error)
    p1 = 1.0 / ((1.0 - error) * (1.0 + math.exp(h / (1.0 - error))))
    capacity = math.log(1.0 + (1.0 - error) * error ** (error / (1.0 - error)))
    return capacity, p1


def gaussian_channel_mi(weights: torch.Tensor, cov: torch.Tensor, noise: float) -> torch.Tensor:
    """I(x; y) for y = W x + n, x ~ N(0, Σ), n ~ N(0, σ² I): ½ log det(I + W Σ Wᵀ / σ²)."""
    m = weights.shape[0]
    signal = weights @ cov @ weights.T / noise**2
    return 0.5 * torch.logdet(torch.eye(m, dtype=signal.dtype) + signal)


def gaussian_stage_mi(
    weights: torch.Tensor, cov: torch.Tensor, noise: float, stage: torch.Tensor
) -> torch.Tensor:
    """I(x; z) for z = A (W x + n): a linear stage A (r, m) after the noisy units.

    z is Gaussian with covariance A (W Σ Wᵀ + σ² I) Aᵀ, and given x its noise has covariance
    σ² A Aᵀ, so I = ½ log det(A (W Σ Wᵀ + σ² I) Aᵀ) − ½ log det(σ² A Aᵀ). An invertible A
    leaves it equal to I(x; y); an A that drops dimensions can only lower it."""
    m = weights.shape[0]
    eye = torch.eye(m, dtype=cov.dtype)
    total = stage @ (weights @ cov @ weights.T + noise**2 * eye) @ stage.T
    noise_only = noise**2 * stage @ stage.T
    return 0.5 * (torch.logdet(total) - torch.logdet(noise_only))
