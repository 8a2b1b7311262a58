"""KL has a direction: one Gaussian q fitted to a two-mode mixture p, either way round.

p = w · N(−d/2, s²) + (1 − w) · N(d/2, s²); q = N(μ, σ²) with learnable μ and log σ.
Forward KL(p ‖ q) is minimised from samples of p (it is −E_p log q up to a constant, so the
fit matches p's mean and variance and covers both modes); reverse KL(q ‖ p) from
reparameterised samples of q (it punishes q for putting mass where p has none, so the fit
settles on one mode). Both KL values are computed exactly on a fine grid at every measurement.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import param
import torch

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
from sims.units import UNIT_KEY, InformationUnits, in_bits

FORWARD, REVERSE = "forward KL(p ‖ q)", "reverse KL(q ‖ p)"
GRID = torch.linspace(-14.0, 14.0, 4001, dtype=torch.float64)  # every density on the page
SHOWN = GRID[::10]  # 401 points are enough to draw a smooth curve
LOG_2PI = math.log(2 * math.pi)


def normal_log_density(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    return -0.5 * ((x - mean) / std) ** 2 - torch.log(std) - 0.5 * LOG_2PI


def discrete_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> float:
    """KL(p ‖ q) of two distributions on the same cells, from their logs: Σ p (log p − log q).
    It is ≥ 0 exactly; the clip only removes rounding (about 1e-16) when q is p."""
    return max(0.0, float((log_p.exp() * (log_p - log_q)).sum()))


class KLSim(InformationUnits, Sim):
    slug = "information-kl"
    title = "KL has a direction: fitting one Gaussian to two modes"
    live = ("direction", "lr", "batch_size", "in_bits")

    direction = param.Selector(
        default=FORWARD,
        objects=[FORWARD, REVERSE],
        label="Minimise",
        doc="Forward KL(p ‖ q) learns from samples of p; reverse KL(q ‖ p) from samples of q. "
        "Switch while it trains: the fit moves to the other answer.",
    )
    gap = shared.number(
        8.0,
        (0.0, 10.0),
        0.1,
        "Gap between the modes d",
        "Distance between the two modes' means. At 0 they sit on top of each other and p is "
        "one Gaussian. Changes the data, so the run restarts.",
    )
    left_weight = shared.number(
        0.5,
        (0.05, 0.95),
        0.05,
        "Weight of the left mode w",
        "Share of p's mass in the left mode. Changes the data, so the run restarts.",
    )
    mode_width = shared.number(
        1.0,
        (0.3, 3.0),
        0.05,
        "Width of each mode s",
        "Standard deviation of each of p's modes. Changes the data, so the run restarts.",
    )
    start_mean = shared.number(
        1.0,
        (-5.0, 5.0),
        0.1,
        "Where q starts μ₀",
        "The fitted Gaussian's mean at step 0 (its spread starts at 1). Exactly between the "
        "modes, reverse KL has no reason to prefer either one. Changes the run, so it restarts.",
    )
    lr = shared.learning_rate(0.01, (0.001, 0.3), "Adam")
    batch_size = shared.integer(
        256, (8, 2048), "Samples per step", "How many samples each step's estimate uses."
    )
    in_bits = in_bits()

    scenarios = (
        Scenario(
            "forward KL matches the mixture's mean and spread (within 3%)",
            steps=1500,
            settings={"direction": FORWARD},
            expect=(
                Expect("mean_error_scaled", "<=", 0.03),
                Expect("std_error", "<=", 0.03),
                Expect("kl_forward", ">=", 0.0),
                Expect("kl_reverse", ">=", 0.0),
                Expect("kl_difference", ">=", 0.1),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "reverse KL locks onto one mode (mean within 0.1, spread within 10%)",
            steps=1500,
            settings={"direction": REVERSE},
            expect=(
                Expect("mode_mean_error", "<=", 0.1),
                Expect("mode_std_error", "<=", 0.1),
                Expect("kl_forward", ">=", 0.0),
                Expect("kl_reverse", ">=", 0.0),
                Expect("kl_difference", ">=", 0.1),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "modes 6 apart: reverse KL straddles both, a local minimum above log 2",
            steps=1500,
            settings={"gap": 6.0, "direction": REVERSE},
            expect=(
                Expect("q_mean", "<=", 0.3),
                Expect("q_mean", ">=", -0.3),
                Expect("kl_reverse", ">=", 0.8),
                Expect("kl_reverse", "<=", 0.9),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "modes on top of each other: both directions find p itself",
            steps=1500,
            settings={"gap": 0.0, "direction": REVERSE},
            expect=(Expect("kl_forward", "<=", 0.002), Expect("kl_reverse", "<=", 0.002)),
        ),
    )
    presets = (
        Preset("two-directions", {"direction": FORWARD}),
        Preset("a-local-minimum", {"gap": 6.0, "direction": REVERSE}),
    )
    predictions = (
        Prediction(
            "reverse-kl-width",
            "Minimising reverse KL with the humps 8 apart, how wide will the fitted Gaussian "
            "be after 800 steps?",
            metric="q_std",
            steps=800,
            why="Reverse KL averages over samples of q, so any mass q puts in the empty gap "
            "between the humps is punished and the fit settles on one hump of width 1, paying "
            "only ln 2 for ignoring the other.",
            answer=0,
            choices=(
                Choice("about 1, the width of one hump", high=2.0),
                Choice("between 2 and 3.5", 2.0, 3.5),
                Choice("about 4, wide enough to cover both humps", low=3.5),
            ),
            settings={"direction": REVERSE},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "kl_forward": Metric(
            "KL(p ‖ q)", "nats", "{:.3f}", "forward: E_p[log p − log q], exactly on a grid"
        ),
        "kl_reverse": Metric(
            "KL(q ‖ p)", "nats", "{:.3f}", "reverse: E_q[log q − log p], exactly on a grid"
        ),
        "q_mean": Metric("mean of q μ", "", "{:.3f}", "the fitted Gaussian's mean"),
        "p_mean": Metric("mean of p", "", "{:.3f}", "the mixture's own mean"),
        "q_std": Metric("spread of q σ", "", "{:.3f}", "the fitted Gaussian's standard deviation"),
        "p_std": Metric("spread of p", "", "{:.3f}", "the mixture's own standard deviation"),
    }

    def setup(self) -> None:
        self.means = torch.tensor([-self.gap / 2, self.gap / 2], dtype=torch.float64)
        self.weights = torch.tensor([self.left_weight, 1 - self.left_weight], dtype=torch.float64)
        self.std = torch.tensor(self.mode_width, dtype=torch.float64)
        # q starts as wide as one mode (log σ = 0), centred where the student puts it
        start = [self.start_mean, 0.0]
        self.q_params = torch.nn.Parameter(torch.tensor(start, dtype=torch.float64))
        self.optimiser = torch.optim.Adam([self.q_params], lr=self.lr)
        self.history = History(3, limit=300)
        self.record()

    # -- the two densities ----------------------------------------------------------------

    def log_p(self, x: torch.Tensor) -> torch.Tensor:
        parts = normal_log_density(x[..., None], self.means, self.std) + torch.log(self.weights)
        return torch.logsumexp(parts, -1)

    def log_q(self, x: torch.Tensor) -> torch.Tensor:
        mean, log_std = self.q_params
        return normal_log_density(x, mean, log_std.exp())

    def sample_p(self, n: int) -> torch.Tensor:
        g = self.generator
        modes = torch.multinomial(self.weights, n, replacement=True, generator=g)
        return self.means[modes] + self.std * torch.randn(n, generator=g, dtype=torch.float64)

    @property
    def p_moments(self) -> tuple[float, float]:
        mean = float((self.weights * self.means).sum())
        second = float((self.weights * (self.means**2 + self.std**2)).sum())
        return mean, math.sqrt(second - mean**2)

    def exact_kls(self) -> tuple[float, float]:
        """Both KL divergences of the densities as probabilities on the grid's cells (a
        discrete KL is ≥ 0 exactly, so rounding can never show a negative value)."""
        with torch.no_grad():
            log_p = torch.log_softmax(self.log_p(GRID), 0)  # finite even where exp underflows
            log_q = torch.log_softmax(self.log_q(GRID), 0)
            return discrete_kl(log_p, log_q), discrete_kl(log_q, log_p)

    def record(self) -> None:
        self.history.add(self.steps, *self.exact_kls())

    # -- training -------------------------------------------------------------------------

    def train_step(self) -> dict[str, float]:
        n = self.batch_size
        if self.direction == FORWARD:
            x = self.sample_p(n)
            loss = (self.log_p(x) - self.log_q(x)).mean()  # log p adds no gradient
        else:
            mean, log_std = self.q_params
            noise = torch.randn(n, generator=self.generator, dtype=torch.float64)
            x = mean + log_std.exp() * noise
            loss = (self.log_q(x) - self.log_p(x)).mean()
        self.optimise(loss)
        self.record()
        return {"loss": float(loss.detach())}

    def measure(self) -> dict[str, float]:
        forward, reverse = self.exact_kls()
        mean, log_std = self.q_params.detach().tolist()
        std = math.exp(log_std)
        p_mean, p_std = self.p_moments
        nearest = int(abs(self.means[0] - mean) > abs(self.means[1] - mean))
        s = self.unit_scale
        return {
            "loss": forward if self.direction == FORWARD else reverse,
            "kl_forward": forward * s,
            "kl_reverse": reverse * s,
            "kl_difference": abs(forward - reverse),
            "q_mean": mean,
            "q_std": std,
            "p_mean": p_mean,
            "p_std": p_std,
            "mean_error_scaled": abs(mean - p_mean) / p_std,
            "std_error": abs(std - p_std) / p_std,
            "mode_mean_error": abs(mean - float(self.means[nearest])),
            "mode_std_error": abs(std - self.mode_width) / self.mode_width,
            UNIT_KEY: float(self.in_bits),
        }

    def snapshot(self) -> dict[str, np.ndarray]:
        history = self.history.array()
        history[:, 1:] *= self.unit_scale
        with torch.no_grad():
            return {
                "x": to_numpy(SHOWN),
                "p": to_numpy(self.log_p(SHOWN).exp()),
                "q": to_numpy(self.log_q(SHOWN).exp()),
                "modes": to_numpy(self.means),
                "history": history,  # step, KL(p ‖ q), KL(q ‖ p)
            }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if self.gap < 2 * self.mode_width:
            return Verdict("note", "the modes overlap into one hump: both fits look alike")
        if self.direction == REVERSE and measured.get("mode_mean_error", 1.0) < 0.2:
            return Verdict("note", "reverse KL has settled on one mode")
        if self.direction == FORWARD and measured.get("mean_error_scaled", 1.0) < 0.05:
            return Verdict("note", "forward KL covers both modes")
        return None
