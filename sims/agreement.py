"""Agreement: two encoders, two views of each scene, one consistency loss ||a - b||^2.

Each scene has a hidden signal s (shared by both views) and, per view, a nuisance u that the
other view never sees. Agreement can only be reached through what the views share, so the
codes come to describe s and to ignore the nuisances, without a single label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import param
import torch

from models.encoders import mlp
from models.losses import consistency_loss
from sims.base import Expect, Scenario, Sim, to_numpy


def r_squared(codes: torch.Tensor, target: torch.Tensor) -> float:
    """Fraction of the variance of ``target`` (N,) explained by a cubic fit on 2-D ``codes``
    (N, 2): the codes may bend the signal into a curve and still carry all of it."""
    u, v = codes.double().T
    terms = [u**i * v**j for i in range(4) for j in range(4 - i)]  # all monomials up to degree 3
    design = torch.stack(terms, dim=1)
    coef = torch.linalg.lstsq(design, target.double().unsqueeze(1)).solution
    residual = target.double() - (design @ coef).squeeze(1)
    return float(1 - residual.var() / target.double().var())


def standardise(z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each column to mean 0 and standard deviation 1 over the batch. z: (N, d)."""
    return (z - z.mean(dim=0)) / torch.sqrt(z.var(dim=0) + eps)


class AgreementSim(Sim):
    slug = "agreement"
    title = "Two encoders learn to agree on two views of each scene"
    live = ("lr", "normalise")

    normalise = param.Boolean(
        label="Normalise codes",
        default=True,
        doc="End each encoder with a normaliser that fixes every code dimension's mean (0) and "
        "spread (1) over the batch, so the codes cannot agree by shrinking.",
    )

    lr = param.Number(
        label="Learning rate",
        default=0.05,
        bounds=(0.001, 1.0),
        step=0.001,
        doc="Learning rate of the optimiser (SGD with momentum 0.9).",
    )
    nuisance = param.Number(
        default=1.0,
        bounds=(0.0, 2.0),
        step=0.05,
        doc="Strength of each view's private nuisance (what one camera sees and the other does "
        "not). Changes the data, so the run restarts.",
    )
    n_scenes = param.Integer(
        label="Number of scenes",
        default=160,
        bounds=(16, 600),
        doc="How many scenes (pairs of views) in the data set. Changes the data.",
    )

    scenarios = (
        Scenario(
            "the two codes of each scene come together and describe the hidden signal",
            steps=600,
            expect=(Expect("disagreement", "<=", 0.01), Expect("signal_r2", ">=", 0.85)),
            seeds=(0, 1, 2),
        ),
    )

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
        for group in self.optimiser.param_groups:
            group["lr"] = self.lr
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
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
            "signal_r2": r_squared(a, self.signal),
            "spread_ratio": spread / self.start_spread,
        }

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        a, b = self.codes()
        return {"a": to_numpy(a), "b": to_numpy(b), "signal": to_numpy(self.signal)}

    def verdict(self, measured: Mapping[str, float]) -> str | None:
        if measured.get("spread_ratio", 1.0) < 0.05:
            return "collapsed: the codes agree by saying nothing"
        if measured.get("disagreement", 1.0) < 0.05:
            return "agreeing: both views of each scene map to one code"
        return None
