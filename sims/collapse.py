"""Collapse: one encoder, two noisy views of each input, trained only to make them agree.

The laziest way to agree is to ignore the input; the variance floor (VICReg's variance term)
penalises it by charging for every code dimension whose spread falls below a floor, as strongly
as its weight says.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch

from models.encoders import mlp
from models.losses import consistency_loss, effective_rank, spread, variance_floor_loss
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
from sims.data import cluster_inputs


class CollapseSim(Sim):
    slug = "collapse"
    title = "A cloud of embeddings, with and without a variance floor"
    live = ("lr", "weight_decay", "variance_floor", "floor_weight", "floor")

    variance_floor = shared.boolean(
        False,
        None,
        "Add the variance-floor penalty: each code dimension is charged for spreading "
        "less than the floor across the batch.",
    )
    floor = shared.number(
        1.0,
        (0.1, 2.0),
        0.05,
        None,
        "The spread (standard deviation) every code dimension is asked to keep.",
    )
    floor_weight = shared.number(
        1.0,
        (0.0, 10.0),
        0.1,
        None,
        "How much the variance floor counts against the agreement loss.",
    )
    lr = shared.learning_rate(0.05, (0.001, 1.0), "SGD with momentum 0.9")
    weight_decay = shared.weight_decay(0.005, (0.0, 0.05), 0.001)
    view_noise = shared.view_noise(0.5, (0.0, 1.0))
    dim = shared.code_size(2, (2, 8), label="Embedding size")
    n_inputs = shared.integer(240, (32, 1000), "Number of inputs", "How many inputs in the cloud.")

    scenarios = (
        Scenario(
            "naive agreement collapses",
            steps=400,
            expect=(Expect("spread_ratio", "<=", 0.01), Expect("loss", "<=", 1e-3)),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "the variance floor keeps the cloud spread",
            steps=600,
            settings={"variance_floor": True},
            expect=(Expect("min_spread_over_floor", ">=", 0.9), Expect("disagreement", "<=", 0.1)),
            seeds=(0, 1, 2),
        ),
    )
    presets = (
        Preset("collapse-on-purpose", {"variance_floor": False}),
        Preset("variance-floor-on", {"variance_floor": True}),
        Preset("weaken-the-guard", {"variance_floor": True}),
        Preset("effective-rank", {"variance_floor": True}),
    )
    predictions = (
        Prediction(
            "spread-without-floor",
            "With the variance floor off, where will the spread be after 400 steps?",
            metric="spread_ratio",
            steps=400,
            why="Two views of an input agree perfectly when every input gets the same "
            "embedding, and nothing in the loss charges for that, so training shrinks the "
            "cloud towards a single point.",
            answer=0,
            choices=(
                Choice("below 1% of its start", high=0.01),
                Choice("between 1% and 50% of its start", 0.01, 0.5),
                Choice("above 50% of its start", low=0.5),
            ),
            seeds=(0, 1, 2),
        ),
        Prediction(
            "rank-with-floor",
            "With the variance floor on, how many dimensions will the cloud really use after "
            "600 steps (its effective rank)?",
            metric="effective_rank",
            steps=600,
            why="The floor asks each dimension to be spread on its own but not to differ from "
            "the other, so both can carry the same direction and the cloud flattens onto a line.",
            answer=0,
            choices=(
                Choice("close to 1: the cloud is a line", high=1.25),
                Choice("between 1.25 and 1.75", 1.25, 1.75),
                Choice("close to 2: the cloud fills the plane", low=1.75),
            ),
            settings={"variance_floor": True},
            seeds=(0, 1, 2),
        ),
        Prediction(
            "weak-floor",
            "With the floor on at a tenth of its weight (0.1), how close to the floor will the "
            "least spread dimension be after 400 steps?",
            metric="min_spread_over_floor",
            steps=400,
            why="Once the views agree closely the agreement term pulls only weakly towards a "
            "smaller cloud, so even a tenth of the usual charge for falling below the floor is "
            "enough to hold every dimension there.",
            answer=2,
            choices=(
                Choice("far below it (under 0.1 of the floor): collapsed", high=0.1),
                Choice("partway (0.1 to 0.8 of the floor)", 0.1, 0.8),
                Choice("at the floor or above (0.8 of it or more)", low=0.8),
            ),
            settings={"variance_floor": True, "floor_weight": 0.1},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "agreement": Metric("agreement loss", "", "{:.4f}", "mean ||z₁ - z₂||² of two views"),
        "spread": Metric(
            "spread (mean std)",
            "",
            "{:.3f}",
            "standard deviation of the embeddings, averaged over dimensions",
        ),
        "spread_ratio": Metric("spread vs start", "", "{:.1%}", "100% = as spread as at step 0"),
        "min_spread_over_floor": Metric(
            "smallest spread / floor",
            "",
            "{:.2f}",
            "1.00 or more: every dimension is at least as spread as the floor asks",
        ),
        "effective_rank": Metric(
            "effective rank",
            "dims",
            "{:.2f}",
            "how many dimensions the cloud really uses (0 = a point)",
        ),
    }

    def setup(self) -> None:
        g = self.generator
        self.x, self.labels = cluster_inputs(self.n_inputs, generator=g)  # (N, 8), (N,)
        # out_gain: start with a cloud about as wide as the default floor.
        self.encoder = mlp([self.x.shape[1], 32, self.dim], g, out_gain=4.0)
        self.optimiser = torch.optim.SGD(
            self.encoder.parameters(), lr=self.lr, momentum=0.9, weight_decay=self.weight_decay
        )
        with torch.no_grad():
            self.start_spread = float(spread(self.encoder(self.x)).mean())

    def views(self, g: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Two noisy views of every input, from the training generator unless ``g`` is given."""
        g, x = g or self.generator, self.x
        return (
            x + self.view_noise * torch.randn(x.shape, generator=g),
            x + self.view_noise * torch.randn(x.shape, generator=g),
        )

    def train_step(self) -> dict[str, float]:
        v1, v2 = self.views()
        z1, z2 = self.encoder(v1), self.encoder(v2)  # (N, dim) each
        agree = consistency_loss(z1, z2)
        hinge = variance_floor_loss(z1, self.floor) + variance_floor_loss(z2, self.floor)
        loss = agree + (self.floor_weight * hinge if self.variance_floor else 0.0)
        self.optimise(loss)
        return {"loss": loss.item(), "agreement": agree.item(), "floor_penalty": hinge.item()}

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        z = self.encoder(self.x)  # (N, dim)
        # The same two views at every measurement, drawn apart from training's: measuring
        # must not move the run (the page measures whenever a frame is due).
        v1, v2 = self.views(torch.Generator().manual_seed(int(self.seed) + 1))
        z1, z2 = self.encoder(v1), self.encoder(v2)
        per_dim = spread(z)
        agree = float(consistency_loss(z1, z2))
        hinge = float(variance_floor_loss(z1, self.floor) + variance_floor_loss(z2, self.floor))
        total_var = float(z.var(dim=0).sum())
        return {
            "loss": agree + (self.floor_weight * hinge if self.variance_floor else 0.0),
            "agreement": agree,
            "spread": float(per_dim.mean()),
            "spread_ratio": float(per_dim.mean()) / self.start_spread,
            "min_spread": float(per_dim.min()),
            "min_spread_over_floor": float(per_dim.min()) / self.floor,
            # 0: the two views of an input land on the same code; 1: no better than two
            # unrelated inputs (the mean squared gap between random pairs is 2 * total_var).
            "disagreement": agree / max(2 * total_var, 1e-12),
            "effective_rank": effective_rank(z),
        }

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        z = to_numpy(self.encoder(self.x))
        floor = self.floor if self.variance_floor else float("nan")
        return {
            "z": z,
            "labels": self.labels.numpy(),
            "spread": z.std(axis=0, ddof=1),
            "floor": np.array([floor], dtype=np.float32),  # drawn as a line when it is on
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if measured.get("spread_ratio", 1.0) < 0.05:
            return Verdict("collapsed", "collapsed: every input gets (almost) the same embedding")
        return None
