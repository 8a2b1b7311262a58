"""Synthetic data sets shared by sims, generated in code from an explicit generator."""

from __future__ import annotations

import math

import torch


def cluster_inputs(
    n: int, generator: torch.Generator, n_clusters: int = 4, dim: int = 8, spread: float = 0.35
) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs from ``n_clusters`` blobs in a 2-D latent space, lifted into ``dim`` dimensions by
    a fixed random nonlinear map. Returns (x: (n, dim), labels: (n,) int64)."""
    labels = torch.arange(n) % n_clusters
    angles = 2 * math.pi * labels.float() / n_clusters
    centres = 1.5 * torch.stack([angles.cos(), angles.sin()], dim=1)  # (n, 2)
    latent = centres + spread * torch.randn(n, 2, generator=generator)
    lift = torch.randn(2, dim, generator=generator) / math.sqrt(2)
    x = torch.tanh(latent @ lift)  # (n, dim)
    x = (x - x.mean(0)) / x.std(0)
    return x, labels
