"""Agreement: two encoders, two views of each scene, one consistency loss ||a - b||^2.

Each scene has a hidden signal s (shared by both views) and, per view, a nuisance u that the
other view never sees. Agreement can only be reached through what the views share, so the
codes come to describe s and to ignore the nuisances, without a single label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch

from models.encoders import mlp, standardise
from models.losses import consistency_loss
from models.metrics import cubic_fit_r2
from sims import params as shared
from sims.base import (
    Choice,
    Expect,
    Metric,
    Prediction,
    Preset,
    Scenario,
    Sim,
    Verdict,
    to_numpy,
)


class AgreementSim(Sim):
    slug = "agreement"
    title = "Two encoders learn to agree on two views of each scene"
    live = ("lr", "normalise")

    normalise = shared.boolean(
        True,
        "Normalise codes",
        "End each encoder with a normaliser that fixes every code dimension's mean (0) and "
        "spread (1) over the batch, so the codes cannot agree by shrinking.",
    )

    lr = shared.learning_rate(0.05, (0.001, 1.0), "SGD with momentum 0.9")
    nuisance = shared.number(
        1.0,
        (0.0, 2.0),
        0.05,
        None,
        "Strength of each view's private nuisance (what one camera sees and the other does "
        "not). Changes the data, so the run restarts.",
    )
    n_scenes = shared.integer(
        160,
        (16, 600),
        "Number of scenes",
        "How many scenes (pairs of views) in the data set. Changes the data.",
    )

    scenarios = (
        Scenario(
            "the two codes of each scene come together and describe the hidden signal",
            steps=600,
            expect=(Expect("disagreement", "<=", 0.01), Expect("signal_r2", ">=", 0.85)),
            seeds=(0, 1, 2),
        ),
    )
    presets = (
        Preset("watch-one-scene"),
        Preset("what-the-codes-learned"),
        Preset("nuisance-up", {"nuisance": 2.0}),
        Preset("no-normaliser", {"normalise": False}),
    )
    predictions = (
        Prediction(
            "cloud-without-normaliser",
            "With the normaliser off, how large will the cloud of codes be after 600 steps, "
            "compared with its start?",
            metric="spread_ratio",
            steps=600,
            why="Without the normaliser the cheapest way to make the two codes of every scene "
            "agree is to shrink the whole cloud towards one point, and the loss cannot tell "
            "that apart from learning the signal.",
            answer=0,
            choices=(
                Choice("below 10% of its start", high=0.1),
                Choice("between 10% and 50% of its start", 0.1, 0.5),
                Choice("between 50% and 150%: about as large as at the start", 0.5, 1.5),
                Choice("above 150%: larger than at the start", low=1.5),
            ),
            settings={"normalise": False},
            seeds=(0, 1, 2),
        ),
        Prediction(
            "signal-under-strong-nuisance",
            "With the nuisance doubled to 2.0, how much of the hidden signal will code A carry "
            "after 600 steps?",
            metric="signal_r2",
            steps=600,
            why="One camera's nuisance is never seen by the other view, so it cannot help the "
            "codes agree and training learns to ignore it, leaving the signal the views share.",
            answer=2,
            choices=(
                Choice("little of it (R² below 0.3)", high=0.3),
                Choice("some of it (R² between 0.3 and 0.7)", 0.3, 0.7),
                Choice("most of it (R² 0.7 or more)", low=0.7),
            ),
            settings={"nuisance": 2.0},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "loss": Metric("consistency loss", "", "{:.4f}", "mean of ||a - b||² over the scenes"),
        "disagreement": Metric(
            "disagreement",
            "",
            "{:.1%}",
            "pair distance relative to unrelated codes: 100% at random, 0% when they agree",
        ),
        "signal_r2": Metric(
            "hidden signal in code A",
            "R²",
            "{:.2f}",
            "how much of the hidden signal a smooth fit can read off code A (0 to 1)",
        ),
        "spread_ratio": Metric(
            "cloud size vs start", "×", "{:.2f}", "spread of the codes relative to step 0"
        ),
    }

    VIEW_DIM = 6

    def setup(self) -> None:
        g, n, d = self.generator, self.n_scenes, self.VIEW_DIM
        self.signal = torch.rand(n, generator=g) * 2 - 1  # (n,) hidden, never shown to a model
        nuisance = torch.randn(n, 2, generator=g)  # (n, 2): one private factor per view
        self.x_a = self._view(self.signal, nuisance[:, 0], g)  # (n, d) left camera
        self.x_b = self._view(self.signal, nuisance[:, 1], g)  # (n, d) right camera
        self.encoder_a = mlp([d, 32, 2], g, out_gain=3.0)
        self.encoder_b = mlp([d, 32, 2], g, out_gain=3.0)
        parameters = [*self.encoder_a.parameters(), *self.encoder_b.parameters()]
        self.optimiser = torch.optim.SGD(parameters, lr=self.lr, momentum=0.9)
        with torch.no_grad():
            self.start_spread = self._spread(*self.codes())

    def _view(self, s: torch.Tensor, u: torch.Tensor, g: torch.Generator) -> torch.Tensor:
        """A fixed random camera: mixes signal and this view's nuisance, then bends them."""
        d = self.VIEW_DIM
        mix = torch.randn(2, d, generator=g) / math.sqrt(2)
        phase = torch.rand(d, generator=g) * math.pi
        latent = torch.stack([1.5 * s, self.nuisance * u], dim=1)  # (n, 2)
        return torch.sin(latent @ mix + phase)  # (n, d)

    def codes(self) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = self.encoder_a(self.x_a), self.encoder_b(self.x_b)  # (n, 2) each
        if self.normalise:
            a, b = standardise(a), standardise(b)
        return a, b

    @staticmethod
    def _spread(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(torch.cat([a, b]).std(dim=0).mean())

    def train_step(self) -> dict[str, float]:
        a, b = self.codes()
        loss = consistency_loss(a, b)
        self.optimise(loss)
        return {"loss": loss.item()}

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        a, b = self.codes()
        gap = float(consistency_loss(a, b))
        total_var = float(a.var(dim=0).sum() + b.var(dim=0).sum())
        spread = self._spread(a, b)
        return {
            "loss": gap,
            # Mean squared pair distance relative to that of unrelated codes: 1 at random, 0 when
            # both views of every scene land on the same code. Shrinking the cloud cannot fake it.
            "disagreement": gap / max(total_var, 1e-12),
            "signal_r2": cubic_fit_r2(a, self.signal),
            "spread_ratio": spread / self.start_spread,
        }

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        a, b = self.codes()
        return {"a": to_numpy(a), "b": to_numpy(b), "signal": to_numpy(self.signal)}

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if measured.get("spread_ratio", 1.0) < 0.05:
            return Verdict("collapsed", "collapsed: the codes agree by saying nothing")
        if measured.get("disagreement", 1.0) < 0.05:
            return Verdict("note", "agreeing: both views of each scene map to one code")
        return None
