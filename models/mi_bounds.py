"""Variational lower bounds on mutual information, as functions of a critic's score matrix.

Every bound takes ``scores`` (K, K) with ``scores[i, j] = f(x_i, y_j)`` for a batch of K pairs
drawn from the joint distribution: the diagonal holds the K positive (joint) pairs, and the
K (K - 1) off-diagonal entries stand in for pairs drawn from the product of the marginals.

- NWJ (Nguyen, Wainwright & Jordan, 2010): E_p[f] - e^{-1} E_q[e^f].
- DV (Donsker & Varadhan, 1983; used by MINE, Belghazi et al., 2018): E_p[f] - log E_q[e^f].
- InfoNCE (van den Oord et al., 2018): mean_i log( e^{f_ii} / mean_j e^{f_ij} ), at most log K.
- SMILE (Song & Ermon, ICLR 2020): DV with each e^{f} of the marginal term clipped to
  [e^{-tau}, e^{tau}], trained through the Jensen-Shannon (f-GAN) bound.

Written after the reference code of Poole et al. (ICML 2019), "On Variational Bounds of Mutual
Information", whose correlated-Gaussian benchmark is also here: ``y = rho x + sqrt(1 - rho^2)
eps`` in d dimensions, with a known MI and a known optimal critic.
"""

from __future__ import annotations

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from models.contrastive import info_nce_diagonal

# -- checks -------------------------------------------------------------------------------------


def _check_scores(scores: torch.Tensor) -> int:
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 2:
        raise ValueError(
            f"scores must be a square (K, K) matrix with K >= 2 (positives on the diagonal), "
            f"got {tuple(scores.shape)}"
        )
    return scores.shape[0]


def _off_diagonal(scores: torch.Tensor) -> torch.Tensor:
    """The K (K - 1) off-diagonal entries of (K, K) ``scores``, flattened (row by row).

    Dropping the first entry of the flattened matrix leaves the diagonal at every (K + 1)-th
    place, so viewed as (K - 1, K + 1) rows it is the last column."""
    k = scores.shape[0]
    return scores.flatten()[1:].view(k - 1, k + 1)[:, :-1].flatten()


def log_mean_exp_off_diagonal(scores: torch.Tensor) -> torch.Tensor:
    """log of the mean of e^{scores[i, j]} over i != j, computed stably. scores: (K, K) -> ()."""
    k = _check_scores(scores)
    return torch.logsumexp(_off_diagonal(scores), dim=0) - math.log(k * (k - 1))


# -- the bounds ---------------------------------------------------------------------------------


def nwj(scores: torch.Tensor) -> torch.Tensor:
    """NWJ bound: mean(diag f) - e^{-1} mean_{i != j} e^{f_ij}. scores: (K, K) -> ().

    Tight (in expectation) for the critic f = 1 + log p(x, y) / (p(x) p(y))."""
    _check_scores(scores)
    return scores.diagonal().mean() - torch.exp(log_mean_exp_off_diagonal(scores) - 1.0)


def dv(scores: torch.Tensor) -> torch.Tensor:
    """Donsker-Varadhan bound: mean(diag f) - log mean_{i != j} e^{f_ij}. scores: (K, K) -> ().

    Unchanged by adding a constant to every score; at least as large as ``nwj`` on the same
    scores (log z <= z / e). Its batch estimate is biased: the log sits outside the mean."""
    _check_scores(scores)
    return scores.diagonal().mean() - log_mean_exp_off_diagonal(scores)


def infonce(scores: torch.Tensor) -> torch.Tensor:
    """InfoNCE bound: log K - (cross-entropy of picking each row's positive among its K
    candidates, ``info_nce_diagonal``). scores: (K, K) -> (). At most log K (in float32 it
    can exceed log K by rounding, about 1e-8)."""
    k = _check_scores(scores)
    return math.log(k) - info_nce_diagonal(scores)


def js_fgan(scores: torch.Tensor) -> torch.Tensor:
    """Jensen-Shannon (f-GAN) objective, -softplus(-f) on positives minus softplus(f) on the
    off-diagonal pairs: a logistic classifier of joint vs marginal pairs whose best logit is the
    log density ratio. Not a bound on MI itself; SMILE trains through it. scores: (K, K) -> ()."""
    _check_scores(scores)
    positive = -F.softplus(-scores.diagonal()).mean()
    negative = F.softplus(_off_diagonal(scores)).mean()
    return positive - negative


def smile_value(scores: torch.Tensor, tau: float) -> torch.Tensor:
    """SMILE's estimate: mean(diag f) - log mean_{i != j} e^{clip(f_ij, -tau, tau)}.
    scores: (K, K) -> (). As tau grows it becomes ``dv``."""
    _check_scores(scores)
    if not tau > 0:
        raise ValueError(f"the SMILE clip tau must be positive, got {tau}")
    clipped = scores.clamp(-tau, tau)
    return scores.diagonal().mean() - log_mean_exp_off_diagonal(clipped)


def smile(scores: torch.Tensor, tau: float) -> torch.Tensor:
    """SMILE (Song & Ermon): the value of ``smile_value`` with the gradient of ``js_fgan``, as in
    the authors' code, so maximising it trains the critic towards the log density ratio and the
    clip only tames the estimate's variance. scores: (K, K) -> ()."""
    value = smile_value(scores, tau)
    js = js_fgan(scores)
    return js + (value - js).detach()


BOUNDS = {"nwj": nwj, "dv": dv, "infonce": infonce, "smile": smile}


# -- the correlated Gaussian, whose answers are known -------------------------------------------


def _check_rho(rho: float) -> None:
    if not -1 < rho < 1:
        raise ValueError(f"the correlation rho must lie strictly between -1 and 1, got {rho}")


def correlated_gaussian_mi(rho: float, dim: int) -> float:
    """MI in nats between x ~ N(0, I_d) and y = rho x + sqrt(1 - rho^2) eps: -d/2 log(1 - rho^2)."""
    _check_rho(rho)
    return -0.5 * dim * math.log1p(-rho * rho)


def rho_for_mi(mi: float, dim: int) -> float:
    """The correlation that gives ``mi`` nats in ``dim`` dimensions: the inverse of
    ``correlated_gaussian_mi``."""
    if mi < 0 or dim < 1:
        raise ValueError(f"need mi >= 0 and dim >= 1, got mi={mi}, dim={dim}")
    return math.sqrt(-math.expm1(-2.0 * mi / dim))


def sample_gaussian_pairs(
    k: int, dim: int, rho: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """K pairs from the joint: x ~ N(0, I_d), y = rho x + sqrt(1 - rho^2) eps.
    Returns x, y: (K, d) each."""
    _check_rho(rho)
    x = torch.randn(k, dim, generator=generator)
    eps = torch.randn(k, dim, generator=generator)
    return x, rho * x + math.sqrt(1 - rho * rho) * eps


def gaussian_log_ratio(x: torch.Tensor, y: torch.Tensor, rho: float) -> torch.Tensor:
    """The optimal critic, log p(y_j | x_i) / p(y_j), for every pair. x, y: (K, d) -> (K, K).

    log p(y|x) - log p(y) = -d/2 log(1 - rho^2) - |y - rho x|^2 / (2 (1 - rho^2)) + |y|^2 / 2."""
    _check_rho(rho)
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(
            f"x and y must be (K, d) of the same shape, got {tuple(x.shape)}, {tuple(y.shape)}"
        )
    dim, s2 = x.shape[1], 1 - rho * rho
    gap = (y[None, :, :] - rho * x[:, None, :]).pow(2).sum(-1)  # (K, K): |y_j - rho x_i|^2
    return -0.5 * dim * math.log(s2) - gap / (2 * s2) + 0.5 * y.pow(2).sum(-1)[None, :]


# -- critics ------------------------------------------------------------------------------------
#
# A critic scores every pair of a batch at once: x, y (K, d) -> scores (heads, K, K). ``heads``
# independent critics (nothing shared but the computation) are evaluated in one batched pass, so
# the sim trains one critic per bound for the price of one.


class StackedLinear(nn.Module):
    """``heads`` independent Linear layers applied side by side: (N, n_in) or (heads, N, n_in)
    -> (heads, N, n_out). Each head is initialised like ``nn.Linear``, from ``generator``."""

    def __init__(
        self, heads: int, n_in: int, n_out: int, generator: torch.Generator, bias: bool = True
    ) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(n_in)
        self.weight = nn.Parameter(_uniform((heads, n_in, n_out), bound, generator))
        self.bias = nn.Parameter(_uniform((heads, 1, n_out), bound, generator)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.matmul(x, self.weight)  # (heads, N, n_out)
        return out if self.bias is None else out + self.bias


def _uniform(shape: tuple[int, ...], bound: float, generator: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=generator) * 2 - 1) * bound


def stacked_mlp(heads: int, sizes: list[int], generator: torch.Generator) -> nn.Sequential:
    """``heads`` independent ReLU MLPs with layer sizes ``[in, hidden..., out]``."""
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(StackedLinear(heads, n_in, n_out, generator))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def _check_sizes(**sizes: int) -> None:
    bad = {name: value for name, value in sizes.items() if value < 1}
    if bad:
        raise ValueError(f"critic sizes must be positive, got {bad}")


class SeparableCritic(nn.Module):
    """f(x, y) = g(x) . h(y): two MLPs embed x and y, and a dot product scores every pair.
    A (K, K) score matrix costs two (K, d) forward passes."""

    def __init__(
        self,
        dim: int,
        hidden: int,
        embed: int,
        generator: torch.Generator,
        layers: int = 1,
        heads: int = 1,
    ) -> None:
        super().__init__()
        _check_sizes(dim=dim, hidden=hidden, embed=embed, layers=layers, heads=heads)
        sizes = [dim, *[hidden] * layers, embed]
        self.g = stacked_mlp(heads, sizes, generator)
        self.h = stacked_mlp(heads, sizes, generator)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x, y: (K, d) -> scores (heads, K, K) with scores[c, i, j] = g_c(x_i) . h_c(y_j)."""
        _check_batch(x, y)
        return self.g(x) @ self.h(y).transpose(1, 2)


class JointCritic(nn.Module):
    """f(x, y) = w . relu(W [x; y] + b) + c: one hidden layer reads the concatenated pair, so
    the critic is not limited to comparing two embeddings. W is applied to x and to y separately
    and summed, which equals applying it to the concatenation at (K, d) cost instead of (K^2, 2d).
    """

    def __init__(self, dim: int, hidden: int, generator: torch.Generator, heads: int = 1) -> None:
        super().__init__()
        _check_sizes(dim=dim, hidden=hidden, heads=heads)
        self.dim = dim
        self.first = StackedLinear(heads, 2 * dim, hidden, generator)
        self.out = StackedLinear(heads, hidden, 1, generator)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """x, y: (K, d) -> scores (heads, K, K) with scores[c, i, j] = f_c(x_i, y_j)."""
        _check_batch(x, y)
        d, w = self.dim, self.first.weight  # w: (heads, 2d, H)
        hx = x @ w[:, :d] + self.first.bias  # (heads, K, H)
        hy = y @ w[:, d:]  # (heads, K, H)
        hidden = torch.relu(hx[:, :, None, :] + hy[:, None, :, :])  # (heads, K, K, H)
        # An elementwise product and a sum: much faster on CPU than a matrix-vector bmm.
        readout = self.out.weight[:, None, :, 0]  # (heads, 1, H)
        return (hidden * readout[:, None]).sum(-1) + self.out.bias  # (heads, K, K)


def _check_batch(x: torch.Tensor, y: torch.Tensor) -> None:
    if x.ndim != 2 or x.shape != y.shape or x.shape[0] < 2:
        raise ValueError(
            f"x and y must be (K, d) batches of the same shape with K >= 2, got "
            f"{tuple(x.shape)} and {tuple(y.shape)}"
        )
