"""Two views of real images: the top half and the bottom half of each handwritten digit.

Two encoders, one per half, are trained with the symmetric objective of Contrastive Multiview
Coding: each half must pick out its own other half among K candidates, both ways round. No
label is ever used in training; a linear probe on the top-half codes, refreshed every few
hundred steps, asks afterwards how much of the digit's identity the codes carry. Data:
scikit-learn's bundled 8x8 digits (1,797 images), so nothing is downloaded.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping

import numpy as np
import param
import torch
import torch.nn.functional as F
from torch import nn

from models.contrastive import alignment, batch_info_nce, cmc_loss, normalise, uniformity
from models.encoders import mlp
from sims.base import Expect, Scenario, Sim, to_numpy

N_HELD_OUT = 500  # digits the encoders never train on; the probe is scored on them
N_SHOWN = 300  # held-out digits drawn in the snapshot


@functools.cache
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits as (1797, 64) floats in [0, 1], row by row, and (1797,) labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return torch.tensor(data.data / 16.0, dtype=torch.float32), torch.tensor(data.target)


def lda_probe(
    train: torch.Tensor,
    train_labels: torch.Tensor,
    test: torch.Tensor,
    test_labels: torch.Tensor,
    shrink: float = 1e-2,
) -> float:
    """Accuracy on ``test`` of a linear classifier fitted in closed form on ``train``: linear
    discriminant analysis (class means, one shared covariance, shrunk towards its mean diagonal
    so that constant pixels do no harm). train: (N, d), test: (M, d)."""
    x, t = train.double(), test.double()
    onehot = F.one_hot(train_labels, 10).double()  # (N, 10)
    counts = onehot.sum(dim=0).clamp_min(1)
    means = onehot.T @ x / counts.unsqueeze(1)  # (10, d)
    resid = x - means[train_labels]
    cov = resid.T @ resid / len(x)
    cov = cov + shrink * cov.diagonal().mean().clamp_min(1e-12) * torch.eye(len(cov)).double()
    w = torch.linalg.solve(cov, means.T)  # (d, 10)
    b = -0.5 * (means * w.T).sum(dim=1) + torch.log(counts / len(x))
    return float(((t @ w + b).argmax(dim=1) == test_labels).double().mean())


def procrustes(basis: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    """``basis`` (d, 2) turned (rotated or reflected in its plane) to match ``previous`` (d, 2)
    as closely as possible, so the drawn view does not flip between refreshes."""
    u, _, vh = torch.linalg.svd(basis.T @ previous)
    return basis @ (u @ vh)


class ContrastiveDigitsSim(Sim):
    slug = "contrastive-digits"
    title = "Top half, bottom half: contrastive codes of handwritten digits"
    live = ("tau", "lr", "k", "pixel_noise", "probe_every")

    tau = param.Number(
        label="Temperature τ",
        default=0.2,
        bounds=(0.02, 1.0),
        step=0.01,
        doc="Temperature: scores are cosine similarity divided by tau.",
    )
    lr = param.Number(
        label="Learning rate",
        default=0.003,
        bounds=(0.0002, 0.03),
        step=0.0002,
        doc="Learning rate of the optimiser (Adam) for both encoders.",
    )
    k = param.Integer(
        label="Negatives per anchor k",
        default=127,
        bounds=(1, 255),
        doc="Negatives per anchor: the other digits in the batch. Each half picks its partner "
        "out of K = k + 1 candidates.",
    )
    pixel_noise = param.Number(
        default=0.2,
        bounds=(0.0, 1.0),
        step=0.05,
        doc="Augmentation: noise added to every pixel (pixels run from 0 to 1) of both halves "
        "at each training step, so the encoders cannot memorise exact images.",
    )
    code_dim = param.Integer(
        label="Code size",
        default=8,
        bounds=(2, 32),
        doc="Size of each code vector (on the unit sphere). Changes the models: restarts.",
    )
    hidden = param.Integer(
        label="Hidden units",
        default=128,
        bounds=(16, 256),
        doc="Hidden units in each encoder (one ReLU layer). Changes the models: restarts.",
    )
    probe_every = param.Integer(
        label="Probe every (steps)",
        default=200,
        bounds=(50, 2000),
        doc="Steps between two refreshes of the linear probe and of the drawn 2-D view.",
    )

    scenarios = (
        Scenario(
            "top-half codes: a linear probe reads the digit, far better than untrained",
            steps=1500,
            expect=(Expect("probe_accuracy", ">=", 0.75), Expect("probe_gain", ">=", 0.15)),
            seeds=(0, 1, 2),
        ),
    )

    def setup(self) -> None:
        g = self.generator
        x, y = digits()
        order = torch.randperm(len(x), generator=g)
        self.test_idx, self.train_idx = order[:N_HELD_OUT], order[N_HELD_OUT:]
        self.top, self.bottom, self.labels = x[:, :32], x[:, 32:], y  # rows 0-3 and rows 4-7
        sizes = [32, self.hidden, self.code_dim]
        self.enc_top = mlp(sizes, g, activation=nn.ReLU)
        self.enc_bottom = mlp(sizes, g, activation=nn.ReLU)
        params = [*self.enc_top.parameters(), *self.enc_bottom.parameters()]
        self.optimiser = torch.optim.Adam(params, lr=self.lr)
        self.raw_accuracy = self._probe(self.top)
        self.basis = torch.linalg.qr(torch.randn(self.code_dim, 2, generator=g)).Q  # (d, 2)
        self.probe_history: list[tuple[float, float]] = []
        self.bound_history: list[tuple[float, float]] = []
        self.refresh(step=0)
        self.untrained_accuracy = self.probe_accuracy

    def _probe(self, features: torch.Tensor) -> float:
        tr, te = self.train_idx, self.test_idx
        return lda_probe(features[tr], self.labels[tr], features[te], self.labels[te])

    @torch.no_grad()
    def refresh(self, step: int) -> None:
        """Re-fit the probe on the current top-half codes, and re-aim the drawn 2-D view at the
        codes' two widest directions (PCA), turned to match the previous view."""
        z = normalise(self.enc_top(self.top))  # (1797, d)
        self.probe_accuracy = self._probe(z)
        self.probe_history.append((float(step), self.probe_accuracy))
        shown = z[self.test_idx[:N_SHOWN]]
        centred = (shown - shown.mean(dim=0)).double()
        _, vecs = torch.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
        self.basis = procrustes(vecs[:, -2:].float(), self.basis)

    @property
    def n_candidates(self) -> int:
        return self.k + 1

    def train_step(self) -> dict[str, float]:
        g, K = self.generator, self.n_candidates
        batch = self.train_idx[torch.randperm(len(self.train_idx), generator=g)[:K]]
        top = self.top[batch] + self.pixel_noise * torch.randn(K, 32, generator=g)
        bottom = self.bottom[batch] + self.pixel_noise * torch.randn(K, 32, generator=g)
        loss = cmc_loss(self.enc_top(top), self.enc_bottom(bottom), self.tau)
        for group in self.optimiser.param_groups:
            group["lr"] = self.lr
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
        # Each direction of the symmetric loss bounds the MI; their average does too.
        bound = math.log(K) - loss.item() / 2
        if (self.steps + 1) % self.probe_every == 0:
            self.refresh(step=self.steps + 1)
        if self.steps % 5 == 0:
            self.bound_history.append((float(self.steps), bound))
            if len(self.bound_history) > 400:
                self.bound_history = self.bound_history[::2]
        return {"loss": loss.item(), "bound": bound}

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        K = self.n_candidates
        z1 = normalise(self.enc_top(self.top[self.test_idx]))  # (500, d), held-out digits only
        z2 = normalise(self.enc_bottom(self.bottom[self.test_idx]))
        n = min(N_HELD_OUT // K, 16) * K  # at most 16 groups of K candidates
        chunks = list(zip(z1[:n].split(K), z2[:n].split(K), strict=True))
        loss = float(torch.stack([cmc_loss(a, b, self.tau) for a, b in chunks]).mean())
        one_way = float(torch.stack([batch_info_nce(a, b, self.tau) for a, b in chunks]).mean())
        return {
            "loss": loss,
            "bound": math.log(K) - loss / 2,
            "bound_top_to_bottom": math.log(K) - one_way,
            "ceiling": math.log(K),
            "probe_accuracy": self.probe_accuracy,
            "raw_accuracy": self.raw_accuracy,
            "untrained_accuracy": self.untrained_accuracy,
            "probe_gain": self.probe_accuracy - self.untrained_accuracy,
            "alignment": float(alignment(z1, z2)),
            "uniformity": float(uniformity(z1)),
        }

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        shown = self.test_idx[:N_SHOWN]
        z = normalise(self.enc_top(self.top[shown]))  # (N_SHOWN, d)
        return {
            "xy": to_numpy(z @ self.basis),
            "labels": self.labels[shown].numpy().copy(),
            "probe_history": np.array(self.probe_history, dtype=np.float32).reshape(-1, 2),
            "bound_history": np.array(self.bound_history, dtype=np.float32).reshape(-1, 2),
        }

    def verdict(self, measured: Mapping[str, float]) -> str | None:
        probe, raw = measured.get("probe_accuracy", 0.0), measured.get("raw_accuracy", 1.0)
        if measured.get("uniformity", -1.0) > -0.5:
            return "collapsed: the top-half codes crowd into one small region"
        if probe >= raw:
            return f"{self.code_dim} numbers beat the 32 raw pixels ({probe:.0%} vs {raw:.0%})"
        return None
