"""Linsker's InfoMax: noisy linear units keep as much information about their input as they can.

x ~ N(0, Σ) in 2-D with Σ = [[1, ρ], [ρ, 1]]; m units y = W x + n with n ~ N(0, σ² I) and each
unit's weight vector on the unit circle (w_i = v_i / ‖v_i‖, a fixed budget). Gradient ascent on
the exact I(x; y) = ½ log det(I + W Σ Wᵀ / σ²). For two units the optimum is known in closed
form: the units sit at ±θ about the top principal axis with cos(w₁, w₂) = σ² ρ / (1 − ρ²),
until σ² reaches (1 − ρ²)/ρ, from where both point along the top axis.

A stage after the units shows two theorems: an invertible linear map of y keeps I exactly; a
projection that keeps only the first unit can only lower it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import param
import torch

from models.information import gaussian_channel_mi, gaussian_stage_mi
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

NONE, INVERTIBLE, PROJECTION = "none", "invertible map", "keep unit 1 only"
SHOWN = 400  # input points drawn
TOP_AXIS = torch.tensor([1.0, 1.0], dtype=torch.float64) / math.sqrt(2.0)  # for ρ > 0


def critical_noise(rho: float) -> float:
    """The noise σ above which two units both turn to the top axis: σ² = (1 − ρ²)/ρ."""
    return math.sqrt((1 - rho**2) / rho) if rho > 0 else math.inf


def predicted_cosine(rho: float, noise: float) -> float:
    """cos(w₁, w₂) at the optimum for two units: σ² ρ / (1 − ρ²), capped at 1."""
    return min(1.0, noise**2 * rho / (1 - rho**2))


def optimum_information(rho: float, noise: float, units: int) -> float:
    """The most I(x; y) (nats) one or two unit-norm units can keep, from the closed form; NaN
    for more units (no simple formula)."""
    a, b = (1 + rho) / noise**2, (1 - rho) / noise**2  # signal-to-noise along each axis
    if units == 1:
        return 0.5 * math.log(1 + a)
    if units != 2:
        return math.nan
    if rho <= 0:
        return math.log(1 + a)  # a round input: any two orthogonal units keep it all
    u = min(1.0, (a - b + 2 * a * b) / (4 * a * b))  # cos² of the half-angle
    return 0.5 * (math.log(1 + 2 * a * u) + math.log(1 + 2 * b * (1 - u)))


class InfoMaxSim(InformationUnits, Sim):
    slug = "information-infomax"
    title = "Linsker's InfoMax: noisy units share out the input"
    live = ("lr", "stage", "in_bits")

    correlation = shared.number(
        0.8,
        (0.0, 0.95),
        0.05,
        "Input correlation ρ",
        "Correlation of the two input coordinates. At 0 the input is round and no direction "
        "is special. Restarts the run.",
    )
    noise = shared.number(
        0.3,
        (0.05, 3.0),
        0.05,
        "Output noise σ",
        "Standard deviation of the noise each unit adds to its output. Restarts the run.",
    )
    units = shared.integer(
        2, (1, 4), "Units m", "How many output units share the input. Restarts the run."
    )
    stage = param.Selector(
        default=NONE,
        objects=[NONE, INVERTIBLE, PROJECTION],
        label="Stage after the units",
        doc="A further step applied to the noisy outputs y: an invertible linear map keeps "
        "I exactly; keeping only the first unit can only lose information. It only changes "
        "what is measured, not the training.",
    )
    lr = shared.learning_rate(0.02, (0.002, 0.2), "Adam", step=0.002)
    in_bits = in_bits()

    scenarios = (
        Scenario(
            "high noise: both units turn to the top principal axis",
            steps=800,
            settings={"noise": 1.0},
            expect=(Expect("top_axis_cos", ">=", 0.99), Expect("abs_cos", ">=", 0.99)),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "low noise: the units end nearly orthogonal, spanning the input",
            steps=800,
            settings={"noise": 0.1},
            expect=(Expect("abs_cos", "<=", 0.1),),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "in between: the angle follows σ² ρ / (1 − ρ²)",
            steps=800,
            settings={"noise": 0.5},
            expect=(Expect("cos_error", "<=", 0.02), Expect("optimum_gap", "<=", 1e-6)),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "an invertible stage keeps I; keeping one unit lowers it",
            steps=400,
            settings={"stage": INVERTIBLE},
            expect=(Expect("stage_change", "<=", 1e-6), Expect("projection_loss", ">=", 0.05)),
            seeds=(0, 1, 2),
        ),
    )
    presets = (Preset("redundancy-against-noise", {"correlation": 0.8, "noise": 0.1}),)
    predictions = (
        Prediction(
            "units-under-noise",
            "With the noise raised to σ = 1, where will the two units' weight vectors point "
            "after 400 steps?",
            metric="abs_cos",
            steps=400,
            why="Above the switch at σ = 0.671 the weak direction of the input is not worth a "
            "unit's budget against that much noise, so both units take the strong direction "
            "and their independent noises average out.",
            answer=2,
            choices=(
                Choice("at right angles, splitting the input (|cos| below 0.3)", high=0.3),
                Choice("at an angle in between (|cos| 0.3 to 0.9)", 0.3, 0.9),
                Choice("along the same axis (|cos| above 0.9)", low=0.9),
            ),
            settings={"correlation": 0.8, "noise": 1.0},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "mi": Metric(
            "I(x; y)", "nats", "{:.4f}", "½ log det(I + W Σ Wᵀ / σ²): what the units keep"
        ),
        "mi_optimum": Metric(
            "best possible I(x; y)",
            "nats",
            "{:.4f}",
            "the closed-form optimum for one or two units (see Go deeper)",
        ),
        "mi_stage": Metric(
            "I(x; z) after the stage", "nats", "{:.4f}", "what survives the stage after the units"
        ),
        "abs_cos": Metric(
            "|cos(w₁, w₂)|", "", "{:.3f}", "1: the units are redundant; 0: they split the input"
        ),
        "predicted_cos": Metric(
            "|cos| at the optimum", "", "{:.3f}", "σ² ρ / (1 − ρ²), capped at 1 (two units)"
        ),
        "top_axis_cos": Metric(
            "smallest |cos(wᵢ, top axis)|",
            "",
            "{:.3f}",
            "1 when every unit points along the top axis",
        ),
        "critical_noise": Metric(
            "switch at σ", "", "{:.3f}", "√((1 − ρ²)/ρ): above it two units both take the top axis"
        ),
    }

    def setup(self) -> None:
        g, rho = self.generator, self.correlation
        self.cov = torch.tensor([[1.0, rho], [rho, 1.0]], dtype=torch.float64)
        self.raw = torch.nn.Parameter(torch.randn(self.units, 2, generator=g, dtype=torch.float64))
        self.optimiser = torch.optim.Adam([self.raw], lr=self.lr)
        # a fixed, well-conditioned invertible map for the stage
        self.mixer = torch.eye(self.units, dtype=torch.float64) + 0.5 * torch.randn(
            self.units, self.units, generator=g, dtype=torch.float64
        ).triu(1)
        points = torch.randn(SHOWN, 2, generator=g, dtype=torch.float64)
        self.points = points @ torch.linalg.cholesky(self.cov).T
        self.history = History(2, limit=300)
        self.record()

    def weights(self) -> torch.Tensor:
        return self.raw / self.raw.norm(dim=1, keepdim=True)

    def information(self, weights: torch.Tensor) -> torch.Tensor:
        return gaussian_channel_mi(weights, self.cov, self.noise)

    def record(self) -> None:
        with torch.no_grad():
            self.history.add(self.steps, float(self.information(self.weights())))

    def train_step(self) -> dict[str, float]:
        loss = -self.information(self.weights())
        self.optimise(loss)
        self.record()
        return {"loss": float(loss.detach())}

    def stage_matrix(self, stage: str) -> torch.Tensor:
        if stage == INVERTIBLE:
            return self.mixer
        if stage == PROJECTION:
            return torch.eye(self.units, dtype=torch.float64)[:1]
        return torch.eye(self.units, dtype=torch.float64)

    def measure(self) -> dict[str, float]:
        with torch.no_grad():
            w = self.weights()
            mi = float(self.information(w))
            staged = {
                name: float(gaussian_stage_mi(w, self.cov, self.noise, self.stage_matrix(name)))
                for name in (INVERTIBLE, PROJECTION)
            }
            top = (w @ TOP_AXIS).abs()
        s, rho = self.unit_scale, self.correlation
        mi_stage = mi if self.stage == NONE else staged[self.stage]
        measured = {
            "loss": -mi,
            "mi": mi * s,
            "mi_stage": mi_stage * s,
            "stage_on": float(self.stage != NONE),
            "stage_change": abs(staged[INVERTIBLE] - mi),
            "projection_loss": mi - staged[PROJECTION],
            "top_axis_cos": float(top.min()),
            UNIT_KEY: float(self.in_bits),
        }
        # the rest exist only for some settings; an absent key shows as "–", never as NaN
        if self.units >= 2:
            measured["abs_cos"] = abs(float(w[0] @ w[1]))
        if rho > 0:
            measured["critical_noise"] = critical_noise(rho)
            if self.units == 2:
                predicted = predicted_cosine(rho, self.noise)
                measured["predicted_cos"] = predicted
                measured["cos_error"] = abs(measured["abs_cos"] - predicted)
        optimum = optimum_information(rho, self.noise, self.units)
        if math.isfinite(optimum):
            measured["mi_optimum"] = optimum * s
            measured["optimum_gap"] = optimum - mi
        return measured

    def snapshot(self) -> dict[str, np.ndarray]:
        history = self.history.array()
        history[:, 1:] *= self.unit_scale
        eigenvalues, axes = torch.linalg.eigh(self.cov)  # ascending
        return {
            "points": to_numpy(self.points),
            "weights": to_numpy(self.weights()),
            "axes": to_numpy(axes.T * eigenvalues.sqrt()[:, None]),  # rows: minor, major
            "history": history,  # step, I(x; y)
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if self.units >= 2 and self.correlation > 0:
            if self.noise > critical_noise(self.correlation):
                return Verdict("note", "noise above the switch: redundancy pays, units agree")
            return Verdict("note", "noise below the switch: the units split the input")
        return None
