"""Prediction in embedding space: from the seen bars, predict the target encoder's embedding of
the hidden bars (the road to BYOL and JEPA). Both branches can agree by saying nothing, so it
needs guardrails: stop-gradient on the target branch, a slow (EMA) target encoder and a
predictor head on the online branch. Tian, Chen & Ganguli (ICML 2021) analyse which matter.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from models.encoders import init_linear_, mlp
from models.losses import effective_rank, spread
from models.metrics import linear_fit_r2
from models.prediction import cosine_prediction_loss, ema_update_
from sims import params as shared
from sims.base import Choice, Expect, Metric, Prediction, Preset, Scenario, Sim, Verdict, to_numpy
from sims.prediction import bar_inputs, bar_loadings


def unit(z: torch.Tensor) -> torch.Tensor:
    """Each row scaled to length 1 (the cosine loss ignores lengths). z: (N, d)."""
    return nn.functional.normalize(z, dim=1, eps=1e-8)


GUARDED = {"stop_gradient": True, "ema_target": True, "predictor": True}


class PredictionEmbeddingSim(Sim):
    slug = "prediction-embedding"
    title = "Predict the embedding of the hidden bars: which guardrails stop collapse"
    live = ("lr", "predictor_lr_scale", "weight_decay", "ema_rate")

    N_BARS = 16
    N_FACTORS = 3
    BATCH = 256
    N_EVAL = 512

    stop_gradient = shared.boolean(
        False,
        "Stop-gradient on the target",
        "Treat the target embedding as a fixed answer: the loss may move the prediction "
        "towards the target but never the target towards the prediction.",
    )
    ema_target = shared.boolean(
        False,
        "EMA target encoder",
        "Compute targets with a slow copy of the encoder, an exponential moving average of "
        "its past weights, instead of the encoder itself.",
    )
    predictor = shared.boolean(
        False,
        "Predictor head",
        "Put a small trainable map (the predictor) after the online encoder; without it the "
        "online embedding itself is the prediction.",
    )
    ema_rate = shared.number(
        0.99,
        (0.9, 0.999),
        0.001,
        "EMA rate",
        "How slowly the target copy follows the encoder: each step it keeps this fraction "
        "of its old weights. Only used with the EMA target.",
    )
    predictor_lr_scale = shared.number(
        10.0,
        (0.1, 20.0),
        0.1,
        "Predictor learning-rate factor",
        "The predictor's learning rate as a multiple of the encoder's. A predictor that "
        "adapts quickly is what keeps the guarded run from collapsing.",
    )
    lr = shared.learning_rate(0.05, (0.001, 0.5), "SGD with momentum 0.9")
    weight_decay = shared.weight_decay(0.0, (0.0, 0.02), 0.0005)
    n_hidden = shared.hidden_bars(8, (2, 14))
    noise = shared.bar_noise(0.3)
    dim = shared.code_size(4, (2, 8), label="Embedding size")

    scenarios = (
        Scenario(
            "with no guardrail both branches collapse and the loss goes to zero",
            steps=2000,
            expect=(Expect("spread_ratio", "<=", 0.05), Expect("loss", "<=", 0.01)),
            seeds=(0, 1, 2, 3, 4),
        ),
        Scenario(
            "stop-gradient, an EMA target and a predictor keep the embeddings spread",
            steps=600,
            settings=GUARDED,
            expect=(Expect("spread_ratio", ">=", 0.2),),
            seeds=(0, 1, 2, 3, 4),
        ),
    )
    presets = (
        Preset("no-guardrail", {"seed": 0}),
        Preset("let-weight-decay-win", GUARDED),
    )
    predictions = (
        Prediction(
            "stop-gradient-alone",
            "With stop-gradient as the only guardrail, how much of its starting spread will "
            "the embedding keep at step 1000?",
            metric="spread_ratio",
            steps=1000,
            why="Stop-gradient keeps the target from moving towards the prediction, but without "
            "a predictor head the embeddings still crowd into a narrow cone, losing most of "
            "their spread while a probe can still read the factors.",
            answer=0,
            choices=(
                Choice("under 40%: most of it is lost", high=0.4),
                Choice("40% to 70%", 0.4, 0.7),
                Choice("over 70%: it stays spread out", low=0.7),
            ),
            settings={"stop_gradient": True},
            seeds=(0, 1, 2),
        ),
        Prediction(
            "guardrails-against-weight-decay",
            "With all three guardrails on and weight decay at 0.02, how much of its starting "
            "spread will the embedding keep at step 1000?",
            metric="spread_ratio",
            steps=1000,
            why="The guardrails make the spread-out solution stable but do not remove the "
            "collapsed one, and weight decay this strong pulls the weights towards zero faster "
            "than the prediction loss can hold the useful directions up.",
            answer=0,
            choices=(
                Choice("almost none (under 5%)", high=0.05),
                Choice("some (5% to 50%)", 0.05, 0.5),
                Choice("most (over 50%), as without weight decay", low=0.5),
            ),
            settings={**GUARDED, "weight_decay": 0.02},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "loss": Metric(
            "prediction loss (1 − cos)",
            "",
            "{:.4f}",
            "1 minus the cosine between prediction and target, averaged over 512 inputs",
        ),
        "spread": Metric(
            "spread (mean std)",
            "",
            "{:.3f}",
            "standard deviation of the length-1 embeddings, averaged over dimensions",
        ),
        "spread_ratio": Metric("spread vs start", "", "{:.1%}", "100% = as spread as at step 0"),
        "effective_rank": Metric(
            "effective rank",
            "dims",
            "{:.2f}",
            "the shape of the cloud: how many dimensions it uses (blind to its size)",
        ),
        "factor_r2": Metric(
            "factors readable",
            "R²",
            "{:.2f}",
            "share of the three hidden factors a linear read-out of the embedding recovers",
        ),
    }

    def setup(self) -> None:
        g, n_bars = self.generator, self.N_BARS
        self.loadings = bar_loadings(n_bars, self.N_FACTORS, g)  # (L, k)
        self.seen_mask = torch.ones(n_bars)
        self.seen_mask[n_bars - self.n_hidden :] = 0.0
        self.x_eval, self.f_eval = bar_inputs(self.N_EVAL, self.loadings, self.noise, g)

        self.encoder = mlp([n_bars, 32, self.dim], g)
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        self.head = init_linear_(nn.Linear(self.dim, self.dim, bias=False), g)
        groups = [{"params": [*self.encoder.parameters()]}]
        if self.predictor:
            groups.append({"params": [*self.head.parameters()], "lr_scale": "predictor_lr_scale"})
        self.optimiser = torch.optim.SGD(groups, lr=self.lr, momentum=0.9)
        with torch.no_grad():
            self.start_spread = float(spread(unit(self.embed(self.x_eval))).mean())

    def views(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Seen view (hidden bars zeroed) and hidden view (seen bars zeroed), each (N, L)."""
        return x * self.seen_mask, x * (1 - self.seen_mask)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Online embedding of the seen bars of rows x (N, L) -> (N, dim)."""
        return self.encoder(self.views(x)[0])

    def branches(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Prediction (online branch) and target (target branch), each (N, dim)."""
        seen, hidden = self.views(x)
        z = self.encoder(seen)
        prediction = self.head(z) if self.predictor else z
        if self.ema_target:
            target = self.target_encoder(hidden)  # no gradient path of its own
            if not self.stop_gradient:
                # Without stop-gradient the loss also pulls the target towards the prediction:
                # the gradient reaches the encoder as if it had produced the target itself.
                online = self.encoder(hidden)
                target = target + online - online.detach()
        else:
            target = self.encoder(hidden)
            if self.stop_gradient:
                target = target.detach()
        return prediction, target

    def train_step(self) -> dict[str, float]:
        x, _ = bar_inputs(self.BATCH, self.loadings, self.noise, self.generator)
        prediction, target = self.branches(x)
        loss = cosine_prediction_loss(prediction, target)
        self.optimise(loss)
        if self.ema_target:
            ema_update_(self.target_encoder, self.encoder, self.ema_rate)
        else:
            ema_update_(self.target_encoder, self.encoder, 0.0)  # kept equal, for drawing
        return {"loss": loss.item()}

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        prediction, target = self.branches(self.x_eval)
        z = unit(self.embed(self.x_eval))  # (N, dim) on the unit sphere
        s = float(spread(z).mean())
        return {
            "loss": float(cosine_prediction_loss(prediction, target)),
            "spread": s,
            "spread_ratio": s / self.start_spread,
            "effective_rank": effective_rank(z),
            # How much of the hidden factors a linear read-out of the embedding recovers.
            "factor_r2": linear_fit_r2(z, self.f_eval),
        }

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        prediction, target = self.branches(self.x_eval[:200])
        return {
            "z": to_numpy(unit(self.embed(self.x_eval[:200]))),
            "prediction": to_numpy(unit(prediction)),
            "target": to_numpy(unit(target)),
            "factor": to_numpy(self.f_eval[:200, 0]),
            "spread": to_numpy(spread(unit(self.embed(self.x_eval)))),
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if measured.get("spread_ratio", 1.0) < 0.05:
            return Verdict("collapsed", "collapsed: every input gets (almost) the same embedding")
        return None
