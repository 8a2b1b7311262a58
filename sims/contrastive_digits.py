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
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from models.contrastive import alignment, batch_info_nce, cmc_loss, normalise, uniformity
from models.encoders import mlp
from models.metrics import lda_probe, procrustes
from sims import params as shared
from sims.base import (
    Choice,
    Expect,
    History,
    Metric,
    Prediction,
    Preset,
    Scenario,
    Sim,
    Verdict,
    to_numpy,
)

N_HELD_OUT = 500  # digits the encoders never train on; the probe is scored on them
N_SHOWN = 300  # held-out digits drawn in the snapshot


CODE_PROBE = Metric(
    "probe on codes",
    "",
    "{:.1%}",
    "held-out digits a linear classifier reads correctly from the top-half codes",
)
RAW_PROBE = Metric(
    "probe on raw pixels", "", "{:.1%}", "the same classifier on the 32 raw pixels of the top half"
)


@functools.cache
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits as (1797, 64) floats in [0, 1], row by row, and (1797,) labels."""
    from sklearn.datasets import load_digits

    data = load_digits()
    return torch.tensor(data.data / 16.0, dtype=torch.float32), torch.tensor(data.target)


class DigitHalves:
    """What every sim of top and bottom halves shares: the split (500 held-out digits, drawn
    first from the sim's generator), the two halves, the labels, and the linear probe that is
    fitted on training digits and scored on held-out ones."""

    generator: torch.Generator

    def load_halves(self) -> None:
        x, y = digits()
        order = torch.randperm(len(x), generator=self.generator)
        self.test_idx, self.train_idx = order[:N_HELD_OUT], order[N_HELD_OUT:]
        self.top, self.bottom, self.labels = x[:, :32], x[:, 32:], y  # rows 0-3 and rows 4-7

    def _probe(self, features: torch.Tensor) -> float:
        """Held-out accuracy of LDA fitted on the training digits' ``features`` (1797, d)."""
        tr, te = self.train_idx, self.test_idx
        return lda_probe(features[tr], self.labels[tr], features[te], self.labels[te])


class ContrastiveDigitsSim(DigitHalves, Sim):
    slug = "contrastive-digits"
    title = "Top half, bottom half: contrastive codes of handwritten digits"
    live = ("tau", "lr", "k", "pixel_noise", "probe_every")

    tau = shared.temperature(0.2, (0.02, 1.0))
    lr = shared.learning_rate(0.003, (0.0002, 0.03), "Adam, one for both encoders")
    k = shared.negatives_per_anchor(127, (1, 255))
    pixel_noise = shared.view_noise(
        0.2,
        (0.0, 1.0),
        "Here it is added to every pixel (pixels run from 0 to 1) of both halves at each "
        "training step, so the encoders cannot memorise exact images.",
    )
    code_dim = shared.code_size(
        8, (2, 32), "On the unit sphere. Changes the models, so the run restarts."
    )
    hidden = shared.integer(
        128,
        (16, 256),
        "Hidden units",
        "Hidden units in each encoder (one ReLU layer). Changes the models: restarts.",
    )
    probe_every = shared.integer(
        200,
        (50, 2000),
        "Probe every (steps)",
        "Steps between two refreshes of the linear probe and of the drawn 2-D view.",
    )

    scenarios = (
        Scenario(
            "top-half codes: a linear probe reads the digit, far better than untrained",
            steps=1500,
            expect=(Expect("probe_accuracy", ">=", 0.75), Expect("probe_gain", ">=", 0.15)),
            seeds=(0, 1, 2),
        ),
    )
    presets = (Preset("digits-without-augmentation", {"pixel_noise": 0.2}),)
    predictions = (
        Prediction(
            "untrained-probe",
            "Before any training, what share of held-out digits will a linear probe read "
            "correctly from the random encoder's codes (chance is 10%)?",
            metric="untrained_accuracy",
            steps=1,
            why="A random encoder squeezes the digits into a narrow cone of the sphere but "
            "still sends different images to different codes, so a linear probe can read much "
            "of the digit from them before any training.",
            answer=2,
            choices=(
                Choice("about chance: below 20%", high=0.2),
                Choice("between 20% and 45%", 0.2, 0.45),
                Choice("between 45% and 70%", 0.45, 0.7),
                Choice("above 70%, about as many as from the raw pixels", low=0.7),
            ),
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "probe_accuracy": CODE_PROBE,
        "raw_accuracy": RAW_PROBE,
        "untrained_accuracy": Metric(
            "probe on untrained codes",
            "",
            "{:.1%}",
            "the same classifier on the codes of the encoder at step 0",
        ),
        "bound": Metric(
            "bound on held-out digits",
            "nats",
            "{:.2f}",
            "log K − L with L the symmetric loss halved, on 500 digits never trained on",
        ),
        "bound_train": Metric(
            "bound on training digits",
            "nats",
            "{:.2f}",
            "the same bound on 500 of the digits trained on, without pixel noise: far above the "
            "held-out bound, the encoders are memorising their training images",
        ),
        "ceiling": Metric(
            "ceiling log K",
            "nats",
            "{:.2f}",
            "the most the bound can ever say: K = k + 1 candidates",
        ),
        "alignment": Metric(
            "alignment",
            "",
            "{:.3f}",
            "mean ||z_top − z_bottom||² for the two halves of each held-out digit",
        ),
        "uniformity": Metric(
            "uniformity",
            "",
            "{:.2f}",
            "log of the mean exp(−2||zᵢ − zⱼ||²) over top-half codes: lower is more spread",
        ),
    }

    def setup(self) -> None:
        g = self.generator
        self.load_halves()
        sizes = [32, self.hidden, self.code_dim]
        self.enc_top = mlp(sizes, g, activation=nn.ReLU)
        self.enc_bottom = mlp(sizes, g, activation=nn.ReLU)
        parameters = [*self.enc_top.parameters(), *self.enc_bottom.parameters()]
        self.optimiser = torch.optim.Adam(parameters, lr=self.lr)
        self.raw_accuracy = self._probe(self.top)
        self.basis = torch.linalg.qr(torch.randn(self.code_dim, 2, generator=g)).Q  # (d, 2)
        self.probe_history = History(2)  # (step, accuracy) at each refresh of the probe
        self.bound_history = History(2, every=5)  # (step, bound) of training batches
        self.refresh(step=0)
        self.untrained_accuracy = self.probe_accuracy

    @torch.no_grad()
    def refresh(self, step: int) -> None:
        """Re-fit the probe on the current top-half codes, and re-aim the drawn 2-D view at the
        codes' two widest directions (PCA), turned to match the previous view."""
        z = normalise(self.enc_top(self.top))  # (1797, d)
        self.probe_accuracy = self._probe(z)
        self.probe_history.add(step, self.probe_accuracy)
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
        self.optimise(loss)
        # Each direction of the symmetric loss bounds the MI; their average does too.
        bound = math.log(K) - loss.item() / 2
        if (self.steps + 1) % self.probe_every == 0:
            self.refresh(step=self.steps + 1)
        self.bound_history.add(self.steps, bound)
        return {"loss": loss.item(), "bound": bound}

    def _codes(self, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Clean (noise-free) codes of both halves of the digits ``idx``: two (n, d)."""
        return normalise(self.enc_top(self.top[idx])), normalise(self.enc_bottom(self.bottom[idx]))

    def _losses(self, z1: torch.Tensor, z2: torch.Tensor) -> tuple[float, float]:
        """The symmetric loss and the top-to-bottom loss, averaged over at most 16 groups of K
        digits scored all against all. z1, z2: (n, d) with n >= K."""
        K = self.n_candidates
        n = min(len(z1) // K, 16) * K
        chunks = list(zip(z1[:n].split(K), z2[:n].split(K), strict=True))
        loss = float(torch.stack([cmc_loss(a, b, self.tau) for a, b in chunks]).mean())
        one_way = float(torch.stack([batch_info_nce(a, b, self.tau) for a, b in chunks]).mean())
        return loss, one_way

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        K = self.n_candidates
        z1, z2 = self._codes(self.test_idx)  # (500, d) each, held-out digits only
        loss, one_way = self._losses(z1, z2)
        train_loss, _ = self._losses(*self._codes(self.train_idx[:N_HELD_OUT]))
        return {
            "loss": loss,
            "bound": math.log(K) - loss / 2,
            "bound_top_to_bottom": math.log(K) - one_way,
            "bound_train": math.log(K) - train_loss / 2,
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
            "probe_history": self.probe_history.array(),
            "bound_history": self.bound_history.array(),
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        probe, raw = measured.get("probe_accuracy", 0.0), measured.get("raw_accuracy", 1.0)
        if measured.get("uniformity", -1.0) > -0.5:
            if probe <= 0.2:  # ten classes: a probe near chance means the codes carry nothing
                return Verdict("collapsed", "collapsed: the top-half codes crowd into one point")
            text = f"concentrated: the codes fill a narrow cone, yet the probe reads {probe:.0%}"
            return Verdict("note", text)
        if probe >= raw:
            text = f"{self.code_dim} numbers beat the 32 raw pixels ({probe:.0%} vs {raw:.0%})"
            return Verdict("note", text)
        return None
