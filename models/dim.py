"""Local-global infomax: a small convolutional encoder whose global vector must pick out its own
image's local features among the local features of every other image in the batch.

Deep InfoMax (Hjelm et al., ICLR 2019) maximises the mutual information between a global
summary of an image and each local feature of an intermediate layer; AMDIM (Bachman et al.,
NeurIPS 2019) trains it with NCE against all the locals of the other images, predicts across two
augmented views, adds a second scale (a local-to-local term) and steadies the scores with a
penalty on their squares and a soft tanh clip. Every term below is a pure function of tensors.

Shapes: images (N, 1, 8, 8); ``local`` (N, C, H, W) feature maps; after the heads, ``g`` (N, D)
global vectors and ``l`` (N, P, D) local vectors, P = H * W positions.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from models.encoders import init_linear_


def init_conv_(layer: nn.Conv2d, generator: torch.Generator) -> nn.Conv2d:
    """PyTorch's default Conv2d init (uniform in +-1/sqrt(fan_in)), drawn from ``generator``."""
    fan_in = layer.in_channels * layer.kernel_size[0] * layer.kernel_size[1] // layer.groups
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        if layer.bias is not None:
            layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


class LocalGlobalEncoder(nn.Module):
    """8x8 digit -> an early local map (16, 6, 6), the local map (32, 4, 4) and a global vector
    (global_dim,): two unpadded 3x3 convolutions, then a third one and a linear layer."""

    def __init__(self, generator: torch.Generator, global_dim: int = 64) -> None:
        super().__init__()
        if global_dim < 1:
            raise ValueError(f"global_dim must be >= 1, got {global_dim}")
        self.conv1 = init_conv_(nn.Conv2d(1, 16, 3), generator)  # 8x8 -> 6x6
        self.conv2 = init_conv_(nn.Conv2d(16, 32, 3), generator)  # 6x6 -> 4x4
        self.conv3 = init_conv_(nn.Conv2d(32, 64, 3), generator)  # 4x4 -> 2x2
        self.fc = init_linear_(nn.Linear(64 * 2 * 2, global_dim), generator)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x: (N, 1, 8, 8) -> early (N, 16, 6, 6), local (N, 32, 4, 4), global (N, global_dim)."""
        if x.ndim != 4 or x.shape[1:] != (1, 8, 8):
            raise ValueError(f"expected images (N, 1, 8, 8), got {tuple(x.shape)}")
        early = torch.relu(self.conv1(x))
        local = torch.relu(self.conv2(early))
        hidden = torch.relu(self.conv3(local))
        return early, local, self.fc(hidden.flatten(1))


class GlobalHead(nn.Module):
    """A feature vector mapped into the score space: Linear, ReLU, Linear plus a linear
    shortcut. (..., in_dim) -> (..., D)."""

    def __init__(self, in_dim: int, dim: int, generator: torch.Generator) -> None:
        super().__init__()
        self.hidden = init_linear_(nn.Linear(in_dim, dim), generator)
        self.out = init_linear_(nn.Linear(dim, dim), generator)
        self.skip = init_linear_(nn.Linear(in_dim, dim, bias=False), generator)

    def forward(self, g: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.hidden(g))) + self.skip(g)


class LocalHead(GlobalHead):
    """The same network at every position of a local map (a 1x1 convolution, written as Linear
    layers, which run faster here). (N, C, H, W) -> (N, H * W, D)."""

    def forward(self, local: torch.Tensor) -> torch.Tensor:
        return super().forward(local.flatten(2).transpose(1, 2))  # on (N, P, C)


# -- scores, the NCE loss and the stabilisers ----------------------------------------------------


def global_local_scores(g: torch.Tensor, loc: torch.Tensor) -> torch.Tensor:
    """Dot product of every global vector with every local vector of every image.
    g: (N, D), loc: (N, P, D) -> (N, N, P): ``[i, j, p]`` scores global i against local p of j."""
    if g.ndim != 2 or loc.ndim != 3 or loc.shape[0] != g.shape[0] or loc.shape[2] != g.shape[1]:
        raise ValueError(
            f"expected g (N, D) and loc (N, P, D), got {tuple(g.shape)}, {tuple(loc.shape)}"
        )
    return torch.einsum("id,jpd->ijp", g, loc)


def local_local_scores(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Dot product of every local vector of ``a`` with every local vector of ``b`` (two views).
    a, b: (N, P, D) -> (N, P, N, P): ``[i, p, j, q]`` scores local p of i against local q of j."""
    if a.ndim != 3 or a.shape != b.shape:
        raise ValueError(
            f"expected two (N, P, D) of one shape, got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    return torch.einsum("ipd,jqd->ipjq", a, b)


def soft_clip(scores: torch.Tensor, c: float) -> torch.Tensor:
    """c * tanh(scores / c): the identity near 0, never beyond +-c (AMDIM uses c = 20)."""
    if not c > 0:
        raise ValueError(f"the clip c must be positive, got {c}")
    return c * torch.tanh(scores / c)


def score_penalty(scores: torch.Tensor) -> torch.Tensor:
    """mean(score^2) over every score, positives and negatives: a pull of all scores to 0."""
    return scores.pow(2).mean()


def _nce(pos: torch.Tensor, neg_lse: torch.Tensor) -> torch.Tensor:
    """-log softmax of the positive against the negatives whose logsumexp is ``neg_lse``."""
    return torch.logaddexp(pos, neg_lse) - pos


def global_local_nce(scores: torch.Tensor) -> torch.Tensor:
    """Mean NCE loss over every (image i, position p): the positive is score ``[i, i, p]``, the
    negatives are ``[i, j, p']`` for every other image j and every position p'.
    scores: (N, N, P) -> (); K = 1 + (N - 1) P candidates per positive."""
    if scores.ndim != 3 or scores.shape[0] != scores.shape[1] or scores.shape[0] < 2:
        raise ValueError(f"scores must be (N, N, P) with N >= 2, got {tuple(scores.shape)}")
    n = scores.shape[0]
    eye = torch.eye(n, dtype=torch.bool)
    pos = scores[eye]  # (N, P)
    others = scores.masked_fill(eye.unsqueeze(2), -math.inf)  # (N, N, P)
    neg_lse = torch.logsumexp(others.flatten(1), dim=1, keepdim=True)  # (N, 1)
    return _nce(pos, neg_lse).mean()


def local_local_nce(scores: torch.Tensor) -> torch.Tensor:
    """Mean NCE loss over every (image i, position p) of view 1: the positive is ``[i, p, i, p]``
    (the same position of the other view), the negatives ``[i, p, j, q]`` for every other image
    j and every position q. scores: (N, P, N, P) -> (); K = 1 + (N - 1) P."""
    if scores.ndim != 4 or scores.shape[:2] != scores.shape[2:] or scores.shape[0] < 2:
        raise ValueError(f"scores must be (N, P, N, P) with N >= 2, got {tuple(scores.shape)}")
    n, p = scores.shape[:2]
    pos = scores.reshape(n * p, n * p).diagonal().view(n, p)  # (N, P)
    same = torch.eye(n, dtype=torch.bool).view(n, 1, n, 1)
    others = scores.masked_fill(same, -math.inf).reshape(n, p, n * p)
    return _nce(pos, torch.logsumexp(others, dim=2)).mean()


def n_candidates(batch: int, positions: int) -> int:
    """K of the NCE loss: the positive and every local of the other batch - 1 images."""
    return 1 + (batch - 1) * positions


def positives(scores: torch.Tensor) -> torch.Tensor:
    """The positive scores ``[i, i, p]`` of global-local scores (N, N, P) -> (N, P)."""
    return scores[torch.eye(scores.shape[0], dtype=torch.bool)]


def negatives(scores: torch.Tensor) -> torch.Tensor:
    """Every negative score ``[i, j, p]``, j != i, of global-local scores (N, N, P), flat."""
    return scores[~torch.eye(scores.shape[0], dtype=torch.bool)].flatten()
