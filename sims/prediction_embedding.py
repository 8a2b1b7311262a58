"""Prediction in embedding space: from the seen bars, predict the target encoder's embedding of
the hidden bars (the road to BYOL and JEPA). Both branches can agree by saying nothing, so it
needs guardrails: stop-gradient on the target branch, a slow (EMA) target encoder and a
predictor head on the online branch. Tian, Chen & Ganguli (ICML 2021) analyse which matter.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import numpy as np
import param
import torch
from torch import nn

from models.encoders import init_linear_, mlp
from models.losses import effective_rank, spread
from models.prediction import cosine_prediction_loss, ema_update_
from sims.base import Expect, Scenario, Sim, to_numpy
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

    stop_gradient = param.Boolean(
        default=False,
        label="Stop-gradient on the target",
        doc="Treat the target embedding as a fixed answer: the loss may move the prediction "
        "towards the target but never the target towards the prediction.",
    )
    ema_target = param.Boolean(
        default=False,
        label="EMA target encoder",
        doc="Compute targets with a slow copy of the encoder, an exponential moving average of "
        "its past weights, instead of the encoder itself.",
    )
    predictor = param.Boolean(
        default=False,
        label="Predictor head",
        doc="Put a small trainable map (the predictor) after the online encoder; without it the "
        "online embedding itself is the prediction.",
    )
    ema_rate = param.Number(
        default=0.99,
        label="EMA rate",
        bounds=(0.9, 0.999),
        step=0.001,
        doc="How slowly the target copy follows the encoder: each step it keeps this fraction "
        "of its old weights. Only used with the EMA target.",
    )
    predictor_lr_scale = param.Number(
        default=10.0,
        label="Predictor learning-rate factor",
        bounds=(0.1, 20.0),
        step=0.1,
        doc="The predictor's learning rate as a multiple of the encoder's. A predictor that "
        "adapts quickly is what keeps the guarded run from collapsing.",
    )
    lr = param.Number(
        default=0.05,
        label="Learning rate",
        bounds=(0.001, 0.5),
        step=0.001,
        doc="Learning rate of the optimiser (SGD with momentum 0.9).",
    )
    weight_decay = param.Number(
        default=0.0,
        bounds=(0.0, 0.02),
        step=0.0005,
        doc="Weight decay: a steady pull of every weight towards zero.",
    )
    n_hidden = param.Integer(
        default=8,
        label="Hidden bars",
        bounds=(2, 14),
        doc="How many bars (on the right) are hidden. Changes the data.",
    )
    noise = param.Number(
        default=0.3,
        bounds=(0.0, 1.5),
        step=0.05,
        doc="Private noise on every bar. Changes the data, so the run restarts.",
    )
    dim = param.Integer(
        default=4, label="Embedding size", bounds=(2, 8), doc="Size of each embedding."
    )

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

    def setup(self) -> None:
        g, n_bars = self.generator, self.N_BARS
        self.loadings = bar_loadings(n_bars, self.N_FACTORS, g)  # (L, k)
        self.seen_mask = torch.ones(n_bars)
        self.seen_mask[n_bars - self.n_hidden :] = 0.0
        self.x_eval, self.f_eval = bar_inputs(self.N_EVAL, self.loadings, self.noise, g)

        self.encoder = mlp([n_bars, 32, self.dim], g)
        self.target_encoder = copy.deepcopy(self.encoder).requires_grad_(False)
        self.head = init_linear_(nn.Linear(self.dim, self.dim, bias=False), g)
        groups = [{"params": [*self.encoder.parameters()], "role": "encoder"}]
        if self.predictor:
            groups.append({"params": [*self.head.parameters()], "role": "predictor"})
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
        for group in self.optimiser.param_groups:
            scale = self.predictor_lr_scale if group["role"] == "predictor" else 1.0
            group.update(lr=self.lr * scale, weight_decay=self.weight_decay)
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()
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
        # How much of the hidden factors a linear read-out of the embedding recovers.
        design = torch.cat([z, torch.ones(len(z), 1)], dim=1).double()
        f = self.f_eval.double()
        fit = design @ torch.linalg.lstsq(design, f).solution
        factor_r2 = float(1 - (f - fit).pow(2).sum() / (f - f.mean(0)).pow(2).sum())
        return {
            "loss": float(cosine_prediction_loss(prediction, target)),
            "spread": s,
            "spread_ratio": s / self.start_spread,
            "effective_rank": effective_rank(z),
            "factor_r2": factor_r2,
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

    def verdict(self, measured: Mapping[str, float]) -> str | None:
        if measured.get("spread_ratio", 1.0) < 0.05:
            return "collapsed: every input gets (almost) the same embedding"
        return None
