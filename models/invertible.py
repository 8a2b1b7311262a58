"""Encoders that are invertible by construction, and a bilinear critic to train them with.

A RealNVP-style affine coupling layer (Dinh et al., ICLR 2017) keeps one half of its input and
scales and shifts the other half by amounts computed from the kept half; its inverse is exact
whatever the weights, so an encoder built from such layers (interleaved with fixed random
permutations, after an invertible linear layer) loses no information: I(g1(X1); g2(X2)) =
I(X1; X2) at every step of training. Tschannen et al. (ICLR 2020), "On Mutual Information
Maximization for Representation Learning", train two such encoders with InfoNCE and watch the
estimate and the linear-probe accuracy move while the true MI cannot.
"""

from __future__ import annotations

import torch
from torch import nn

from models.encoders import init_linear_


def _check_dim(dim: int, minimum: int = 1) -> None:
    if dim < minimum:
        raise ValueError(f"dim must be at least {minimum}, got {dim}")


def _check_input(x: torch.Tensor, dim: int) -> None:
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"expected an (N, {dim}) batch, got {tuple(x.shape)}")


class Permutation(nn.Module):
    """A fixed random reordering of the d coordinates, drawn from ``generator``: volume-preserving
    and exactly invertible (log |det| = 0). x: (N, d) -> (N, d)."""

    def __init__(self, dim: int, generator: torch.Generator) -> None:
        super().__init__()
        _check_dim(dim)
        self.dim = dim
        perm = torch.randperm(dim, generator=generator)
        self.register_buffer("perm", perm)
        self.register_buffer("inv", torch.argsort(perm))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.dim)
        return x[:, self.perm]

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        _check_input(y, self.dim)
        return y[:, self.inv]

    def log_det(self, x: torch.Tensor) -> torch.Tensor:
        """log |det J| per row: 0. x: (N, d) -> (N,)."""
        return x.new_zeros(len(x))


class InvertibleLinear(nn.Module):
    """y = x (L U)^T + b with L unit lower-triangular and U upper-triangular with diagonal
    exp(s): det = exp(sum s) is never 0, so the layer is invertible for any weights (Glow's LU
    form, Kingma & Dhariwal 2018). Starts at the identity. x: (N, d) -> (N, d)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        _check_dim(dim)
        self.dim = dim
        self.lower = nn.Parameter(torch.zeros(dim, dim))
        self.upper = nn.Parameter(torch.zeros(dim, dim))
        self.log_diag = nn.Parameter(torch.zeros(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def factors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """L (d, d) with ones on the diagonal and U (d, d) with exp(s) on the diagonal."""
        eye = torch.eye(self.dim, dtype=self.lower.dtype)
        lower = self.lower.tril(-1) + eye
        upper = self.upper.triu(1) + torch.diag(self.log_diag.exp())
        return lower, upper

    def weight(self) -> torch.Tensor:
        """The (d, d) matrix L U."""
        lower, upper = self.factors()
        return lower @ upper

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.dim)
        return x @ self.weight().T + self.bias

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        _check_input(y, self.dim)
        lower, upper = self.factors()
        rhs = (y - self.bias).T  # (d, N): solve L U x = y - b by two triangular solves
        z = torch.linalg.solve_triangular(lower, rhs, upper=False, unitriangular=True)
        return torch.linalg.solve_triangular(upper, z, upper=True).T

    def log_det(self, x: torch.Tensor) -> torch.Tensor:
        """log |det J| per row: sum(s), the same for every row. x: (N, d) -> (N,)."""
        return self.log_diag.sum().expand(len(x))


class AffineCoupling(nn.Module):
    """Keep the first ``dim // 2`` coordinates a; scale and shift the rest b by
    b * exp(s(a)) + t(a), with s = ``max_log_scale`` * tanh(.) so no step stretches or squeezes
    a coordinate by more than e^max_log_scale. The inverse is exact: b = (y_b - t(a)) exp(-s(a)).
    x: (N, d) -> (N, d)."""

    def __init__(
        self, dim: int, hidden: int, generator: torch.Generator, max_log_scale: float = 1.0
    ) -> None:
        super().__init__()
        _check_dim(dim, 2)
        _check_dim(hidden)
        if not max_log_scale > 0:
            raise ValueError(f"max_log_scale must be positive, got {max_log_scale}")
        self.dim, self.split, self.max_log_scale = dim, dim // 2, max_log_scale
        n_out = dim - self.split
        self.net = nn.Sequential(
            init_linear_(nn.Linear(self.split, hidden), generator),
            nn.Tanh(),
            init_linear_(nn.Linear(hidden, 2 * n_out), generator),
        )

    def scale_shift(self, a: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The log-scale s (N, d - d//2), bounded by +-max_log_scale, and the shift t."""
        raw_s, t = self.net(a).chunk(2, dim=1)
        return self.max_log_scale * torch.tanh(raw_s), t

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.dim)
        a, b = x[:, : self.split], x[:, self.split :]
        s, t = self.scale_shift(a)
        return torch.cat([a, b * s.exp() + t], dim=1)

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        _check_input(y, self.dim)
        a, b = y[:, : self.split], y[:, self.split :]
        s, t = self.scale_shift(a)
        return torch.cat([a, (b - t) * (-s).exp()], dim=1)

    def log_det(self, x: torch.Tensor) -> torch.Tensor:
        """log |det J| per row: the sum of the log-scales. x: (N, d) -> (N,)."""
        _check_input(x, self.dim)
        s, _ = self.scale_shift(x[:, : self.split])
        return s.sum(dim=1)


class InvertibleEncoder(nn.Module):
    """An invertible linear layer, then ``n_coupling`` x (fixed permutation, affine coupling):
    a bijection of R^d onto itself, with ``inverse`` and ``log_det``. With ``n_coupling = 0``
    it is a purely linear (affine) map. x: (N, d) -> (N, d)."""

    def __init__(
        self,
        dim: int,
        n_coupling: int,
        hidden: int,
        generator: torch.Generator,
        max_log_scale: float = 1.0,
    ) -> None:
        super().__init__()
        _check_dim(dim, 2)
        if n_coupling < 0:
            raise ValueError(f"n_coupling must be >= 0, got {n_coupling}")
        self.dim = dim
        layers: list[nn.Module] = [InvertibleLinear(dim)]
        for _ in range(n_coupling):
            layers.append(Permutation(dim, generator))
            layers.append(AffineCoupling(dim, hidden, generator, max_log_scale))
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_input(x, self.dim)
        for layer in self.layers:
            x = layer(x)
        return x

    def inverse(self, y: torch.Tensor) -> torch.Tensor:
        _check_input(y, self.dim)
        for layer in reversed(self.layers):
            y = layer.inverse(y)
        return y

    def log_det(self, x: torch.Tensor) -> torch.Tensor:
        """log |det dg/dx| per row, summed layer by layer. x: (N, d) -> (N,)."""
        _check_input(x, self.dim)
        total = x.new_zeros(len(x))
        for layer in self.layers:
            total = total + layer.log_det(x)
            x = layer(x)
        return total


def reconstruction_error(encoder: InvertibleEncoder, x: torch.Tensor) -> float:
    """max |g^{-1}(g(x)) - x| over every entry of ``x`` (N, d), in the encoder's precision."""
    with torch.no_grad():
        return float((encoder.inverse(encoder(x)) - x).abs().max())


def jacobians(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The Jacobian dg/dx at each row of ``x`` (N, d), by reverse mode vectorised over rows:
    (N, d, d), entry [n, i, j] = d g_i / d x_j at x_n."""

    def one(row: torch.Tensor) -> torch.Tensor:
        return encoder(row.unsqueeze(0)).squeeze(0)

    return torch.func.vmap(torch.func.jacrev(one))(x)


def condition_numbers(encoder: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """sigma_max / sigma_min of the Jacobian at each row of ``x`` (N, d), in float64: (N,).
    1 for a map that stretches every direction alike; large for a badly conditioned one."""
    sv = torch.linalg.svdvals(jacobians(encoder, x).double())  # (N, d), descending
    return sv[:, 0] / sv[:, -1].clamp_min(1e-300)


def empirical_mi(x1: torch.Tensor, x2: torch.Tensor) -> float:
    """I(X1; X2) in nats under the empirical distribution of the N pairs (x1_i, x2_i), each
    weighing 1/N: H(X1) + H(X2) - H(X1, X2) from the counts of distinct rows. log N when all
    the x1 are distinct and all the x2 are distinct. x1: (N, d1), x2: (N, d2)."""
    if x1.ndim != 2 or x2.ndim != 2 or len(x1) != len(x2) or len(x1) < 1:
        raise ValueError(f"need two (N, d) batches, got {tuple(x1.shape)} and {tuple(x2.shape)}")

    def entropy(rows: torch.Tensor) -> float:
        _, counts = torch.unique(rows, dim=0, return_counts=True)
        p = counts.double() / len(rows)
        return float(-(p * p.log()).sum())

    return entropy(x1) + entropy(x2) - entropy(torch.cat([x1, x2], dim=1))
