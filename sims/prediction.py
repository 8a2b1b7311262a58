"""Prediction: an encoder reads the seen bars of each input and a predictor guesses the hidden
ones. A collapsed (constant) encoder leaves the predictor nothing to go on but the average.

Every input is a row of bars made from a few hidden factors plus independent Gaussian noise, so
the data are exactly Gaussian and the best possible prediction (the conditional mean) and its
error are known in closed form: the references the model is measured against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch

from models.encoders import mlp
from models.prediction import best_linear_predictor
from sims import params as shared
from sims.base import Choice, Expect, Metric, Prediction, Preset, Scenario, Sim, Verdict, to_numpy


def bar_loadings(n_bars: int, n_factors: int, generator: torch.Generator) -> torch.Tensor:
    """(n_bars, n_factors): how much each factor raises each bar. Each bar is a random mix of
    the factors, scaled so that the factors give every bar a variance of exactly 1."""
    loadings = torch.randn(n_bars, n_factors, generator=generator)  # (L, k)
    return loadings / loadings.norm(dim=1, keepdim=True)


def bar_inputs(
    n: int, loadings: torch.Tensor, noise: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """x = factors @ loadings.T + noise * eps, with factors ~ N(0, I) and eps ~ N(0, I).
    Returns x (n, L) and the factors (n, k)."""
    n_bars, n_factors = loadings.shape
    factors = torch.randn(n, n_factors, generator=generator)  # (n, k)
    x = factors @ loadings.T + noise * torch.randn(n, n_bars, generator=generator)  # (n, L)
    return x, factors


def bar_covariance(loadings: torch.Tensor, noise: float) -> torch.Tensor:
    """Exact covariance of ``bar_inputs``: loadings loadings^T + noise^2 I. (L, L)"""
    return loadings @ loadings.T + noise**2 * torch.eye(loadings.shape[0])


class PredictionSim(Sim):
    slug = "prediction"
    title = "Predict the hidden bars from the seen ones"
    live = ("lr", "force_collapse")

    N_BARS = 12
    BATCH = 256
    N_TEST = 2048
    N_EXAMPLES = 4

    force_collapse = shared.boolean(
        False,
        None,
        "Blindfold the encoder: it gets a flat input, so its code is the same for every "
        "input. The predictor can then only learn one guess for all inputs.",
    )
    n_hidden = shared.hidden_bars(4, (1, 10))
    noise = shared.bar_noise(0.3)
    factors = shared.integer(
        3,
        (1, 6),
        "Hidden factors",
        "How many hidden factors shape each row of bars. Changes the data.",
    )
    code_size = shared.code_size(4, (1, 8), "The predictor's only input.")
    lr = shared.learning_rate(0.01, (0.0005, 0.05), "Adam")

    scenarios = (
        Scenario(
            "a healthy encoder predicts the hidden bars almost as well as possible",
            steps=800,
            expect=(Expect("error_over_mean", "<=", 0.3), Expect("error_over_best", "<=", 1.1)),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "a collapsed encoder leaves only the average to predict",
            steps=300,
            settings={"force_collapse": True},
            expect=(Expect("error_over_mean", ">=", 0.95),),
            seeds=(0, 1, 2),
        ),
    )
    presets = (
        Preset("blindfold-a-trained-encoder", {"seed": 0}),
        Preset("squeeze-the-code", {"code_size": 1, "seed": 0}),
    )
    predictions = (
        Prediction(
            "blindfolded-error",
            "With the encoder blindfolded from the start, how will its held-out error compare "
            "with guessing the average, after 300 steps?",
            metric="error_over_mean",
            steps=300,
            why="A constant code tells the predictor nothing about the input, so the best it "
            "can learn is one guess for every input, the average of each hidden bar, whose "
            "error is the average guess's own: no better and no worse.",
            answer=1,
            choices=(
                Choice("clearly better (below 90% of it)", high=0.9),
                Choice("about the same (90% to 110%)", 0.9, 1.1),
                Choice("clearly worse (above 110%)", low=1.1),
            ),
            settings={"force_collapse": True},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "error": Metric(
            "held-out error",
            "",
            "{:.3f}",
            "mean squared error per hidden bar on 2048 inputs never used in training",
        ),
        "mean_error": Metric(
            "predict the mean",
            "",
            "{:.3f}",
            "the error of guessing the average of every hidden bar: what a constant code can do",
        ),
        "best_error": Metric(
            "best possible",
            "",
            "{:.3f}",
            "the error of the exact best guess (the conditional mean): the noise no model can "
            "predict",
        ),
        "error_over_mean": Metric(
            "error vs average guess",
            "",
            "{:.0%}",
            "held-out error as a share of the predict-the-mean error (100% = no better)",
        ),
        "gap_closed": Metric(
            "gap closed",
            "",
            "{:.0%}",
            "0% = no better than the average guess, 100% = as good as the best possible",
        ),
    }

    def setup(self) -> None:
        g, n_bars = self.generator, self.N_BARS
        self.loadings = bar_loadings(n_bars, self.factors, g)  # (L, k)
        self.seen = torch.arange(n_bars - self.n_hidden)  # (S,)
        self.hidden = torch.arange(n_bars - self.n_hidden, n_bars)  # (H,)
        cov = bar_covariance(self.loadings, self.noise)
        self.best_weights, best_per_bar = best_linear_predictor(cov, self.seen, self.hidden)
        self.best_error_exact = float(best_per_bar.mean())
        self.mean_error_exact = float(cov.diagonal()[self.hidden].mean())

        self.x_test, _ = bar_inputs(self.N_TEST, self.loadings, self.noise, g)  # (T, L)
        h_test = self.x_test[:, self.hidden]
        # References on the same held-out inputs the model is scored on (paired comparison).
        self.best_error = float(
            (self.x_test[:, self.seen] @ self.best_weights - h_test).pow(2).mean()
        )
        self.mean_error = float(h_test.pow(2).mean())  # the true mean of every bar is 0

        self.encoder = mlp([len(self.seen), 32, self.code_size], g)
        self.predictor = mlp([self.code_size, len(self.hidden)], g)
        parameters = [*self.encoder.parameters(), *self.predictor.parameters()]
        self.optimiser = torch.optim.Adam(parameters, lr=self.lr)

    def code(self, seen: torch.Tensor) -> torch.Tensor:
        """The encoder's code for seen bars (N, S) -> (N, code_size); constant if collapsed."""
        return self.encoder(torch.zeros_like(seen) if self.force_collapse else seen)

    def predict(self, x: torch.Tensor) -> torch.Tensor:
        """Predicted hidden bars (N, H) for full rows x (N, L) (only the seen bars are read)."""
        return self.predictor(self.code(x[:, self.seen]))

    def train_step(self) -> dict[str, float]:
        x, _ = bar_inputs(self.BATCH, self.loadings, self.noise, self.generator)  # fresh rows
        loss = (self.predict(x) - x[:, self.hidden]).pow(2).mean()
        self.optimise(loss)
        return {"loss": loss.item(), "mean_error": self.mean_error, "best_error": self.best_error}

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        error = float((self.predict(self.x_test) - self.x_test[:, self.hidden]).pow(2).mean())
        return {
            "loss": error,
            # Mean squared error per hidden bar on held-out rows the model never trained on.
            "error": error,
            "mean_error": self.mean_error,
            "best_error": self.best_error,
            "best_error_exact": self.best_error_exact,
            "error_over_mean": error / max(self.mean_error, 1e-12),
            "error_over_best": error / max(self.best_error, 1e-12),
            # 0 at the average guess, 1 at the best possible prediction.
            "gap_closed": (self.mean_error - error) / max(self.mean_error - self.best_error, 1e-12),
        }

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        x = self.x_test[: self.N_EXAMPLES]  # (4, L)
        hidden_mask = torch.zeros(self.N_BARS)
        hidden_mask[self.hidden] = 1.0
        truth = x[:, self.hidden]  # (4, H)
        predicted, best = self.predict(x), x[:, self.seen] @ self.best_weights  # (4, H) each
        errors = torch.stack(  # (4, 3): squared error per hidden bar of each shown input
            [
                truth.pow(2).mean(dim=1),  # the average guess: every bar's true mean is 0
                (predicted - truth).pow(2).mean(dim=1),  # the model
                (best - truth).pow(2).mean(dim=1),  # the best possible guess
            ],
            dim=1,
        )
        return {
            "bars": to_numpy(x),
            "hidden_mask": to_numpy(hidden_mask),
            "hidden_index": to_numpy(self.hidden),
            "predicted": to_numpy(predicted),
            "best": to_numpy(best),
            "code": to_numpy(self.code(x[:, self.seen])),
            "errors": to_numpy(errors),
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if self.force_collapse:
            text = "collapsed (forced): one guess for every input, the average at best"
            return Verdict("collapsed", text)
        if self.steps >= 200 and measured.get("error_over_mean", 0.0) >= 0.95:
            return Verdict("note", "no better than guessing the average of every hidden bar")
        if measured.get("error_over_best", 2.0) <= 1.1:
            return Verdict("note", "near the best possible: only the unpredictable noise is left")
        return None
