"""Small networks the sims train, initialised from an explicit generator.

Initialising from a ``torch.Generator`` (not the global seed) keeps each sim's run
reproducible even when several sims are built at once in different threads.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn


def init_linear_(layer: nn.Linear, generator: torch.Generator) -> nn.Linear:
    """PyTorch's default Linear init (uniform in +-1/sqrt(fan_in)), drawn from ``generator``."""
    bound = 1.0 / math.sqrt(layer.in_features)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        if layer.bias is not None:
            layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


def mlp(
    sizes: list[int],
    generator: torch.Generator,
    activation: type[nn.Module] = nn.Tanh,
    bias: bool = True,
    out_gain: float = 1.0,
) -> nn.Sequential:
    """``sizes=[in, hidden..., out]``: Linear layers with ``activation`` between them.
    ``out_gain`` scales the last layer's initial weights (a wider or narrower starting cloud)."""
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"mlp needs at least two positive sizes, got {sizes}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(init_linear_(nn.Linear(n_in, n_out, bias=bias), generator))
        if i < len(sizes) - 2:
            layers.append(activation())
    with torch.no_grad():
        layers[-1].weight.mul_(out_gain)
    return nn.Sequential(*layers)


def standardise(z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each column to mean 0 and standard deviation 1 over the batch: a normaliser with nothing
    to learn, so codes cannot agree by shrinking. z: (N, d) -> (N, d)."""
    if z.ndim != 2 or z.shape[0] < 2:
        raise ValueError(f"expected an (N, d) batch with N >= 2, got {tuple(z.shape)}")
    return (z - z.mean(dim=0)) / torch.sqrt(z.var(dim=0) + eps)
