"""Beyond mutual information: invertible encoders whose InfoNCE estimate rises while the true MI
cannot move (Tschannen et al., ICLR 2020, "On Mutual Information Maximization for
Representation Learning").

The top half X1 and the bottom half X2 of each handwritten digit are encoded by two maps that
are invertible by construction (``models.invertible``), so I(g1(X1); g2(X2)) = I(X1; X2) at
every step. Under the empirical distribution of the training pairs (each of the n distinct pairs
weighing 1/n) that MI is exactly log n. Training them with InfoNCE through a bilinear critic
u^T W v still raises the estimate log K - L, and moves the linear probe, and worsens the
conditioning of the maps: what InfoNCE rewards is not the MI. An optional adversary, a linear
classifier the encoder is trained to defeat, keeps the MI maximal and the probe low.

The adversary (softmax regression on the top-half codes) always learns, on detached codes with
its own optimiser, so the switch is live and meets a trained classifier; only while it is on
does its loss enter the encoders' objective, with a minus sign. The round-trip error g^-1(g(x))
is measured in float64 (the maps themselves) and in float32 (as trained). With no coupling
layers the encoder is linear, and a linear probe cannot tell it from the raw pixels: without
shrinkage LDA's predictions are unchanged by any invertible affine map.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models.contrastive import info_nce_diagonal
from models.critics import BilinearCritic
from models.encoders import init_linear_
from models.invertible import (
    InvertibleEncoder,
    condition_numbers,
    empirical_mi,
    reconstruction_error,
)
from models.metrics import procrustes
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
from sims.contrastive_digits import CODE_PROBE, N_HELD_OUT, N_SHOWN, RAW_PROBE, DigitHalves

N_JACOBIAN = 64  # held-out digits at which the Jacobian's condition number is measured
N_CLASSES = 10
ADVERSARY_LR = 0.01  # Adam, for the adversary's own steps
ADVERSARY_STEPS = 5  # its steps per training step, so it keeps up with the moving codes
MAX_LOG_SCALE = 1.0  # each coupling layer scales a coordinate by at most e^1 either way


class BeyondInvertibleSim(DigitHalves, Sim):
    slug = "beyond-mi-invertible"
    title = "Invertible encoders: the InfoNCE estimate rises, the true MI cannot"
    live = ("lr", "k", "adversarial", "adversary_weight", "probe_every")

    lr = shared.learning_rate(0.002, (0.0002, 0.01), "Adam, for both encoders and the critic")
    k = shared.negatives_per_anchor(127, (1, 255))
    n_coupling = shared.integer(
        4,
        (0, 8),
        "Coupling layers",
        "Affine coupling layers in each encoder, after one invertible linear layer; 0 leaves a "
        "purely linear encoder, which a linear probe cannot tell from the raw pixels. Each is "
        "invertible whatever its weights. Changes the models, so the run restarts.",
    )
    hidden = shared.integer(
        64,
        (8, 256),
        "Hidden units",
        "Hidden units of the small network inside each coupling layer. Changes the models, so "
        "the run restarts.",
    )
    adversarial = shared.boolean(
        False,
        "Adversary",
        "Add an adversary: a linear classifier learns to read the digit from the top-half "
        "codes, and the encoder is trained to make it fail, on top of InfoNCE. Takes effect "
        "on the next step; the encoders stay invertible, so the MI stays the same.",
    )
    adversary_weight = shared.number(
        3.0,
        (0.0, 10.0),
        0.1,
        "Adversary weight",
        "How much the adversary's loss counts, with the opposite sign, in the encoders' "
        "objective (only while the adversary is on).",
    )
    probe_every = shared.integer(
        100,
        (20, 1000),
        "Probe every (steps)",
        "Steps between two refreshes of the linear probe, the condition number and the drawn "
        "2-D view.",
    )

    scenarios = (
        Scenario(
            "plain InfoNCE: the estimate rises, the maps stay invertible, the probe reads well",
            steps=400,
            expect=(
                Expect("estimate_gain", ">=", 2.0),
                Expect("reconstruction_error", "<=", 1e-4),
                Expect("probe_accuracy", ">=", 0.76),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "adversary on: the MI stays maximal, the probe falls",
            steps=400,
            expect=(
                Expect("reconstruction_error", "<=", 5e-4),  # float32 rounding, up to 1e-4
                Expect("probe_accuracy", "<=", 0.7),
            ),
            settings={"adversarial": True},
            seeds=(0, 1, 2),
        ),
    )
    presets = (
        Preset("watch-the-estimate-climb"),
        Preset("make-the-codes-hostile", {"adversarial": True}),
    )
    predictions = (
        Prediction(
            "an-estimate-over-a-constant",
            "The encoders are invertible, so the true MI stays 7.17 nats at every step. Where "
            "will the held-out InfoNCE estimate be after 100 steps?",
            metric="estimate",
            steps=100,
            why="The estimate measures what the bilinear critic can see in the codes, not the "
            "information they hold, so it climbs as training reshapes the codes, yet it can "
            "never pass log K = log 128 ≈ 4.85 nats.",
            answer=1,
            choices=(
                Choice("still near 0: there is no information to gain", high=0.5),
                Choice("risen, but below log 128 ≈ 4.85 nats", 0.5, math.log(128)),
                Choice("above 4.85 nats, on its way to the true 7.17", low=math.log(128)),
            ),
            seeds=(0, 1),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "estimate": Metric(
            "InfoNCE estimate (held-out)",
            "nats",
            "{:.2f}",
            "log K − L on digits never trained on, in groups of K: what InfoNCE says the MI is",
        ),
        "train_estimate": Metric(
            "InfoNCE estimate (training batch)",
            "nats",
            "{:.2f}",
            "log K − L on the last training batch",
        ),
        "true_mi": Metric(
            "true MI",
            "nats",
            "{:.2f}",
            "I(X1; X2) of the training pairs, log of their number: invertible encoders keep it",
        ),
        "ceiling": Metric(
            "ceiling log K",
            "nats",
            "{:.2f}",
            "the most the estimate can ever say: K = k + 1 candidates",
        ),
        "estimate_gain": Metric(
            "estimate gain",
            "nats",
            "{:.2f}",
            "how far the held-out estimate has risen since step 0",
        ),
        "probe_accuracy": CODE_PROBE,
        "raw_accuracy": RAW_PROBE,
        "reconstruction_error": Metric(
            "reconstruction error",
            "",
            "{:.1e}",
            "largest |g⁻¹(g(x)) − x| over held-out halves and both encoders, in float64: "
            "nothing is lost",
        ),
        "reconstruction_error_float32": Metric(
            "reconstruction error (float32)",
            "",
            "{:.1e}",
            "the same round trip in the float32 the encoders train in: it grows as the maps "
            "get worse conditioned",
        ),
        "condition_number": Metric(
            "Jacobian condition number",
            "",
            "{:.1f}",
            "median over 64 held-out digits of σmax / σmin of the top encoder's Jacobian",
        ),
    }

    def setup(self) -> None:
        g = self.generator
        self.load_halves()
        tr = self.train_idx
        self.true_mi = empirical_mi(self.top[tr], self.bottom[tr])  # log n_train if distinct
        self.enc_top = InvertibleEncoder(32, self.n_coupling, self.hidden, g, MAX_LOG_SCALE)
        self.enc_bottom = InvertibleEncoder(32, self.n_coupling, self.hidden, g, MAX_LOG_SCALE)
        self.critic = BilinearCritic(32)  # W = 0: the estimate starts at exactly 0
        self.adversary = init_linear_(nn.Linear(32, N_CLASSES), g)
        parameters = [
            *self.enc_top.parameters(),
            *self.enc_bottom.parameters(),
            *self.critic.parameters(),
        ]
        self.optimiser = torch.optim.Adam(parameters, lr=self.lr)
        self.adversary_optimiser = torch.optim.Adam(self.adversary.parameters(), lr=ADVERSARY_LR)
        self.raw_accuracy = self._probe(self.top)
        self.basis = torch.linalg.qr(torch.randn(32, 2, generator=g)).Q  # (32, 2)
        self.jacobian_idx = self.test_idx[:N_JACOBIAN]
        self.last_train_estimate = 0.0
        self.estimate_history = History(2, every=5)  # (step, training-batch estimate)
        self.probe_history = History(3)  # (step, probe accuracy, condition number)
        self.heldout_history = History(2)  # (step, held-out estimate) at each probe refresh
        self.start_estimate = self.heldout_estimate()
        self.refresh(step=0)

    @property
    def n_candidates(self) -> int:
        return self.k + 1

    @torch.no_grad()
    def heldout_estimate(self) -> float:
        """log K - InfoNCE loss on held-out pairs, in up to 16 groups of K scored all against
        all."""
        K = self.n_candidates
        n = min(N_HELD_OUT // K, 16) * K
        idx = self.test_idx[:n]
        u, v = self.enc_top(self.top[idx]), self.enc_bottom(self.bottom[idx])  # (n, 32)
        chunks = zip(u.split(K), v.split(K), strict=True)
        losses = [info_nce_diagonal(self.critic(a, b)[0]) for a, b in chunks]
        return math.log(K) - float(torch.stack(losses).mean())

    def refresh(self, step: int) -> None:
        """Re-fit the probe on the current top-half codes, measure the Jacobian's condition
        number, and re-aim the drawn 2-D view at the codes' two widest directions (PCA)."""
        with torch.no_grad():
            z = self.enc_top(self.top)  # (1797, 32)
        self.probe_accuracy = self._probe(z)
        cond = condition_numbers(self.enc_top, self.top[self.jacobian_idx])  # (64,)
        self.condition_number = float(cond.detach().median())
        self.probe_history.add(step, self.probe_accuracy, self.condition_number)
        self.heldout_history.add(step, self.heldout_estimate())
        shown = z[self.test_idx[:N_SHOWN]]
        centred = (shown - shown.mean(dim=0)).double()
        _, vecs = torch.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
        self.basis = procrustes(vecs[:, -2:].float(), self.basis)

    def train_step(self) -> dict[str, float]:
        g, K = self.generator, self.n_candidates
        batch = self.train_idx[torch.randperm(len(self.train_idx), generator=g)[:K]]
        labels = self.labels[batch]
        u, v = self.enc_top(self.top[batch]), self.enc_bottom(self.bottom[batch])  # (K, 32)
        nce = info_nce_diagonal(self.critic(u, v)[0])
        codes = u.detach()
        for _ in range(ADVERSARY_STEPS):  # the adversary catches up with the current codes
            adversary_loss = F.cross_entropy(self.adversary(codes), labels)
            self.adversary_optimiser.zero_grad(set_to_none=True)
            adversary_loss.backward()
            self.adversary_optimiser.step()
        loss = nce
        if self.adversarial:
            fooled = F.linear(u, self.adversary.weight.detach(), self.adversary.bias.detach())
            loss = loss - self.adversary_weight * F.cross_entropy(fooled, labels)
        self.optimise(loss)
        estimate = math.log(K) - nce.item()
        self.last_train_estimate = estimate
        self.estimate_history.add(self.steps, estimate)
        if (self.steps + 1) % self.probe_every == 0:
            self.refresh(step=self.steps + 1)
        return {"loss": nce.item(), "estimate": estimate, "adversary_loss": adversary_loss.item()}

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        top, bottom = self.top[self.test_idx], self.bottom[self.test_idx]  # (500, 32) each
        pairs = ((self.enc_top, top), (self.enc_bottom, bottom))
        error = max(reconstruction_error(copy.deepcopy(e).double(), x.double()) for e, x in pairs)
        error32 = max(reconstruction_error(e, x) for e, x in pairs)
        estimate = self.heldout_estimate()
        return {
            "estimate": estimate,
            "train_estimate": self.last_train_estimate,
            "true_mi": self.true_mi,
            "ceiling": math.log(self.n_candidates),
            "estimate_gain": estimate - self.start_estimate,
            "probe_accuracy": self.probe_accuracy,
            "raw_accuracy": self.raw_accuracy,
            "reconstruction_error": error,
            "reconstruction_error_float32": error32,
            "condition_number": self.condition_number,
        }

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        shown = self.test_idx[:N_SHOWN]
        z = self.enc_top(self.top[shown])  # (N_SHOWN, 32)
        xy = (z - z.mean(dim=0)) @ self.basis  # (N_SHOWN, 2)
        # Scaled to a root-mean-square radius of 1, so the plot keeps its scale while the codes
        # grow (the adversarial run stretches them a hundredfold).
        xy = xy / xy.pow(2).sum(dim=1).mean().sqrt().clamp_min(1e-12)
        return {
            "xy": to_numpy(xy),
            "labels": self.labels[shown].numpy().copy(),
            "estimate_history": self.estimate_history.array(),
            "probe_history": self.probe_history.array(),
            "heldout_history": self.heldout_history.array(),
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        probe, raw = measured.get("probe_accuracy", 1.0), measured.get("raw_accuracy", 0.0)
        mi, error = measured.get("true_mi", 0.0), measured.get("reconstruction_error", 1.0)
        if self.adversarial and error <= 1e-4 and probe < raw:
            text = (
                f"MI unchanged at {mi:.2f} nats, yet the probe reads {probe:.0%} "
                f"(raw pixels: {raw:.0%})"
            )
            return Verdict("note", text)
        return None
