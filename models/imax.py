"""IMAX: Becker & Hinton's measure of the signal two scalar outputs share.

Becker & Hinton, "Self-organizing neural network that discovers surfaces in random-dot
stereograms", Nature 355 (1992). Two outputs a and b are modelled as one signal plus independent
Gaussian noise, a = s + n_A and b = s + n_B; the objective is
``1/2 log(var(a + b) / var(a - b))``, in nats. The closed forms below belong to that model, with
s ~ N(0, signal^2), n_A ~ N(0, noise_a^2), n_B ~ N(0, noise_b^2), all independent.
``BinocularModule`` is one module of the stereo sim: it sees both eyes' strips of one patch.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from models.encoders import mlp


def _check_outputs(a: torch.Tensor, b: torch.Tensor) -> None:
    if a.ndim != 1 or a.shape != b.shape or a.shape[0] < 2:
        raise ValueError(
            f"expected two (N,) batches of scalar outputs with N >= 2, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )


def imax_objective(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """1/2 log(var(a + b) / var(a - b)) in nats. a, b: (N,). Unchanged by shifting both outputs
    or scaling both by one factor, so a pair of constant outputs earns nothing.
    ``eps`` keeps the log finite when the outputs agree exactly."""
    _check_outputs(a, b)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps}")
    return 0.5 * torch.log(((a + b).var() + eps) / ((a - b).var() + eps))


def correlation(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Pearson correlation of two (N,) batches; 0 if either is constant."""
    _check_outputs(a, b)
    a, b = a - a.mean(), b - b.mean()
    return (a * b).sum() / torch.sqrt((a * a).sum() * (b * b).sum() + eps)


def mi_from_correlation(r: float) -> float:
    """I(a;b) = -1/2 log(1 - r^2) nats: the mutual information of two jointly Gaussian variables
    with correlation r (inf at |r| = 1)."""
    if not -1.0 <= r <= 1.0:
        raise ValueError(f"a correlation lies in [-1, 1], got {r}")
    return math.inf if abs(r) == 1.0 else -0.5 * math.log1p(-r * r)


def _check_model(signal: float, noise_a: float, noise_b: float) -> None:
    if signal < 0 or noise_a < 0 or noise_b < 0:
        raise ValueError(f"standard deviations must be >= 0, got {signal}, {noise_a}, {noise_b}")
    if noise_a == 0 and noise_b == 0:
        raise ValueError("at least one view needs some noise (else var(a - b) = 0)")


def gaussian_imax(signal: float, noise_a: float, noise_b: float) -> float:
    """The IMAX value of the model: var(a+b) = 4 S^2 + sa^2 + sb^2 and var(a-b) = sa^2 + sb^2,
    so IMAX = 1/2 log(1 + 4 S^2 / (sa^2 + sb^2)). Arguments are standard deviations."""
    _check_model(signal, noise_a, noise_b)
    return 0.5 * math.log1p(4 * signal**2 / (noise_a**2 + noise_b**2))


def gaussian_correlation(signal: float, noise_a: float, noise_b: float) -> float:
    """corr(a, b) = S^2 / sqrt((S^2 + sa^2)(S^2 + sb^2))."""
    _check_model(signal, noise_a, noise_b)
    s2 = signal**2
    return s2 / math.sqrt((s2 + noise_a**2) * (s2 + noise_b**2))


def two_view_gaussian_mi(signal: float, noise_a: float, noise_b: float) -> float:
    """I(a;b) of the model in nats,
    1/2 log((S^2 + sa^2)(S^2 + sb^2) / (S^2 sa^2 + S^2 sb^2 + sa^2 sb^2)): the same as
    ``mi_from_correlation(gaussian_correlation(...))``, written without cancellation."""
    _check_model(signal, noise_a, noise_b)
    s2, va, vb = signal**2, noise_a**2, noise_b**2
    if s2 == 0:
        return 0.0
    return 0.5 * math.log((s2 + va) * (s2 + vb) / (s2 * va + s2 * vb + va * vb))


def gaussian_info_about_signal(signal: float, noise_a: float, noise_b: float) -> float:
    """I(s; a, b) in nats: all that the pair of views says about s, 1/2 log(1 + S^2/sa^2 +
    S^2/sb^2). Reached by the precision-weighted average of a and b; with equal noise the plain
    average (a+b)/2 is that average, and this equals the IMAX value."""
    _check_model(signal, noise_a, noise_b)
    s2 = signal**2
    if noise_a == 0 or noise_b == 0:
        return math.inf if s2 > 0 else 0.0
    return 0.5 * math.log1p(s2 / noise_a**2 + s2 / noise_b**2)


class BinocularModule(nn.Module):
    """One module of the stereo sim: binocular units, then a small tanh MLP to one number.

    Unit j filters the left strip with ``u_j`` and the right strip with ``v_j`` (``taps`` pixels
    each), multiplies the two responses pixel by pixel and averages over positions: with one-tap
    filters that is the strips' cross-correlation at one shift. left, right: (N, W) -> (N,).
    """

    def __init__(
        self, generator: torch.Generator, units: int = 8, taps: int = 5, hidden: int = 16
    ) -> None:
        super().__init__()
        if units < 1 or taps < 1 or hidden < 1:
            raise ValueError(f"units, taps and hidden must be >= 1, got {units}, {taps}, {hidden}")
        scale = 1 / math.sqrt(taps)
        self.u = nn.Parameter(scale * torch.randn(taps, units, generator=generator))
        self.v = nn.Parameter(scale * torch.randn(taps, units, generator=generator))
        self.head = mlp([units, hidden, 1], generator)

    def units(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """The binocular units' responses. left, right: (N, W) -> (N, units)."""
        taps = self.u.shape[0]
        if left.ndim != 2 or left.shape != right.shape or left.shape[1] < taps:
            raise ValueError(
                f"expected left and right strips of shape (N, W) with W >= {taps}, got "
                f"{tuple(left.shape)} and {tuple(right.shape)}"
            )
        response_l = left.unfold(1, taps, 1) @ self.u  # (N, W - taps + 1, units)
        response_r = right.unfold(1, taps, 1) @ self.v  # (N, W - taps + 1, units)
        return (response_l * response_r).mean(dim=1)  # (N, units)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """One number per scene. left, right: (N, W) -> (N,)."""
        return self.head(self.units(left, right)).squeeze(1)
