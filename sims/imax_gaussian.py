"""IMAX in the Gaussian picture: a = s + noise_A, b = s + noise_B, measured from samples.

Nothing is trained here. Each step draws a fresh batch of (a, b) pairs and adds it to running
sums, so the sample readouts settle on the closed forms of the model as the samples pile up.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import param
import torch

from models.imax import (
    gaussian_correlation,
    gaussian_imax,
    gaussian_info_about_signal,
    mi_from_correlation,
    two_view_gaussian_mi,
)
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

SHOWN = 500  # points in the scatter at most


def view_noise(view: str) -> param.Number:
    """The noise of one view (``"A"`` or ``"B"``), as a standard deviation."""
    return shared.number(
        0.5,
        (0.05, 5.0),
        0.05,
        f"Noise of view {view}, σ_{view}",
        f"Noise of view {view}: the standard deviation of what {view} adds on top of the signal.",
    )


class ImaxGaussianSim(Sim):
    slug = "imax-gaussian"
    title = "IMAX in the Gaussian picture: one signal, two noisy views"

    signal = shared.number(
        1.0,
        (0.0, 3.0),
        0.05,
        "Signal strength S",
        "Strength (standard deviation) of the hidden signal s that both views measure.",
    )
    noise_a = view_noise("A")
    noise_b = view_noise("B")
    n_samples = shared.integer(
        300,
        (20, 2000),
        "Pairs drawn per step",
        "How many (a, b) pairs each draw adds. Every training step draws a fresh batch.",
    )

    scenarios = (
        Scenario(
            "the sample readouts settle on the closed forms",
            steps=60,
            expect=(Expect("imax_error", "<=", 0.03), Expect("mi_error", "<=", 0.03)),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "noise far above the signal: IMAX stays near 0",
            steps=60,
            settings={"signal": 0.1, "noise_a": 3.0, "noise_b": 3.0},
            expect=(
                Expect("imax", "<=", 0.02),
                Expect("imax", ">=", -0.02),
                Expect("imax_theory", "<=", 0.01),
            ),
            seeds=(0, 1, 2),
        ),
    )
    presets = (
        Preset("watch-the-samples-settle"),
        Preset("drown-the-signal", {"signal": 0.1, "noise_a": 3.0, "noise_b": 3.0}),
        Preset("move-the-noise", {"noise_a": 0.1, "noise_b": 0.7}),
    )
    predictions = (
        Prediction(
            "imax-when-the-noise-moves",
            "With σ_A = 0.1 and σ_B = 0.7 instead of 0.5 each, where will the sample IMAX be "
            "after 100 steps?",
            metric="imax",
            steps=100,
            why="IMAX sees only var(a + b) = 4S² + σ_A² + σ_B² and var(a − b) = σ_A² + σ_B², so "
            "moving noise from one view to the other with the same total leaves it where it "
            "was, even though the pair now tells much more about s.",
            answer=1,
            choices=(
                Choice("below 0.9 nats: lower than at the defaults", high=0.9),
                Choice("between 0.9 and 1.3 nats: about the 1.1 of the defaults", 0.9, 1.3),
                Choice("above 1.3 nats: higher than at the defaults", low=1.3),
            ),
            settings={"noise_a": 0.1, "noise_b": 0.7},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "var_sum": Metric(
            "var(a + b)", "", "{:.3f}", "variance of the sum, over every pair so far"
        ),
        "var_diff": Metric(
            "var(a − b)", "", "{:.3f}", "variance of the difference, over every pair so far"
        ),
        "imax": Metric(
            "IMAX, from the samples",
            "nats",
            "{:.3f}",
            "½ log(var(a+b) / var(a−b)) from every pair drawn so far",
        ),
        "imax_theory": Metric(
            "IMAX, closed form", "nats", "{:.3f}", "½ log(1 + 4S² / (σ_A² + σ_B²))"
        ),
        "mi_sample": Metric(
            "I(a;b), from sample r",
            "nats",
            "{:.3f}",
            "−½ log(1 − r²) with r the sample correlation of a and b",
        ),
        "mi_theory": Metric(
            "I(a;b), closed form",
            "nats",
            "{:.3f}",
            "mutual information of a and b in the Gaussian model",
        ),
        "corr": Metric("correlation r of a, b", "", "{:.3f}", "from every pair drawn so far"),
        "info_about_signal": Metric(
            "I(s; a, b), all of it",
            "nats",
            "{:.3f}",
            "½ log(1 + S²/σ_A² + S²/σ_B²): what the best combination of a and b tells about s",
        ),
        "samples": Metric("pairs drawn so far", "pairs", "{:,.0f}", "each step draws a batch"),
    }

    def setup(self) -> None:
        self.sums = torch.zeros(5, dtype=torch.float64)  # a, b, a^2, b^2, ab
        self.count = 0
        self.draw()

    def draw(self) -> None:
        g, n = self.generator, self.n_samples
        s = self.signal * torch.randn(n, generator=g, dtype=torch.float64)
        self.a = s + self.noise_a * torch.randn(n, generator=g, dtype=torch.float64)  # (n,)
        self.b = s + self.noise_b * torch.randn(n, generator=g, dtype=torch.float64)  # (n,)
        a, b = self.a, self.b
        self.sums += torch.stack([a.sum(), b.sum(), (a * a).sum(), (b * b).sum(), (a * b).sum()])
        self.count += n

    def moments(self) -> tuple[float, float, float]:
        """Sample var(a), var(b) and cov(a, b) over every pair drawn so far."""
        n = self.count
        sa, sb, saa, sbb, sab = (float(x) for x in self.sums)
        scale = n / (n - 1)
        var_a = (saa / n - (sa / n) ** 2) * scale
        var_b = (sbb / n - (sb / n) ** 2) * scale
        cov = (sab / n - sa * sb / n**2) * scale
        return var_a, var_b, cov

    def train_step(self) -> dict[str, float]:
        self.draw()
        return {"loss": -self.measure()["imax"]}

    def measure(self) -> dict[str, float]:
        var_a, var_b, cov = self.moments()
        var_sum, var_diff = var_a + var_b + 2 * cov, var_a + var_b - 2 * cov
        imax = 0.5 * math.log(var_sum / var_diff)
        r = max(-1.0, min(1.0, cov / math.sqrt(var_a * var_b)))
        mi = mi_from_correlation(r)
        model = (self.signal, self.noise_a, self.noise_b)
        imax_theory, mi_theory = gaussian_imax(*model), two_view_gaussian_mi(*model)
        return {
            "loss": -imax,
            "var_sum": var_sum,
            "var_diff": var_diff,
            "imax": imax,
            "imax_theory": imax_theory,
            "imax_error": abs(imax - imax_theory),
            "corr": r,
            "corr_theory": gaussian_correlation(*model),
            "mi_sample": mi,
            "mi_theory": mi_theory,
            "mi_error": abs(mi - mi_theory),
            "info_about_signal": gaussian_info_about_signal(*model),
            "samples": float(self.count),
        }

    def snapshot(self) -> dict[str, np.ndarray]:
        a, b = self.a, self.b
        return {
            "a": to_numpy(a[:SHOWN]),
            "b": to_numpy(b[:SHOWN]),
            # the two terms of the ratio on the latest batch: var(a + b), var(a - b)
            "batch_terms": to_numpy(torch.stack([(a + b).var(), (a - b).var()])),
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if measured.get("imax_theory", 1.0) < 0.01:
            return Verdict("note", "noise drowns the signal: the views share (almost) nothing")
        return None
