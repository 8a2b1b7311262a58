"""Surprise and entropy: a predictor learns a categorical source from samples.

The predictor is a softmax over one learnable score per outcome. Each step draws a batch of
outcomes from the source and lowers their average surprise −log q(x) (the cross-entropy loss).
The exact cross-entropy H(p, q) = H(p) + KL(p ‖ q) falls towards the entropy H(p) and can go no
lower: the entropy is the least average surprise any predictor can reach.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import param
import torch

from models.information import cross_entropy, entropy, kl_divergence
from sims import params as shared
from sims.base import Expect, History, Metric, Preset, Scenario, Sim, Verdict, to_numpy
from sims.units import UNIT_KEY, InformationUnits, in_bits

SOURCES: dict[str, tuple[float, ...]] = {
    "fair coin": (0.5, 0.5),
    "unfair coin": (0.9, 0.1),
    "fair die": (1 / 6,) * 6,
    "loaded die": (0.1, 0.1, 0.1, 0.1, 0.1, 0.5),
    "custom": (),
}
COIN = ("heads", "tails")
DIE = ("1", "2", "3", "4", "5", "6")


def weight(face: int) -> param.Number:
    return shared.number(
        1.0,
        (0.0, 1.0),
        0.05,
        f"Custom weight of {face}",
        f"Relative weight of outcome {face} when the source is 'custom' (the weights are "
        "normalised to sum to 1). A weight of 0 makes that outcome impossible.",
    )


class EntropySim(InformationUnits, Sim):
    slug = "information-entropy"
    title = "Surprise and entropy: a predictor learns a source"
    live = ("lr", "batch_size", "in_bits")

    source = param.Selector(
        default="unfair coin",
        objects=list(SOURCES),
        label="Source",
        doc="The distribution the outcomes come from. 'custom' uses the six weights under "
        "More settings. Changes the data, so the run restarts.",
    )
    lr = shared.learning_rate(0.05, (0.005, 0.5), "Adam", step=0.005)
    batch_size = shared.integer(
        64, (1, 512), "Samples per step", "How many outcomes each step draws from the source."
    )
    in_bits = in_bits()
    weight_1 = weight(1)
    weight_2 = weight(2)
    weight_3 = weight(3)
    weight_4 = weight(4)
    weight_5 = weight(5)
    weight_6 = weight(6)

    scenarios = (
        *(
            Scenario(
                f"the {name}: cross-entropy falls to within 0.02 nats of the entropy",
                steps=600,
                settings={"source": name},
                expect=(Expect("gap", "<=", 0.02), Expect("gap", ">=", 0.0)),
                seeds=(0, 1, 2),
            )
            for name in SOURCES
            if name != "custom"
        ),
        Scenario(
            "a fair coin holds exactly 1 bit",
            steps=1,
            settings={"source": "fair coin", "in_bits": True},
            expect=(Expect("entropy", ">=", 1.0 - 1e-9), Expect("entropy", "<=", 1.0 + 1e-9)),
        ),
        Scenario(
            "a fair die holds log2 6 = 2.585 bits",
            steps=1,
            settings={"source": "fair die", "in_bits": True},
            expect=(
                Expect("entropy", ">=", math.log2(6) - 1e-9),
                Expect("entropy", "<=", math.log2(6) + 1e-9),
            ),
        ),
        Scenario(
            "an impossible outcome costs nothing: weights 1, 1, 0 give 1 bit",
            steps=300,
            settings={
                "source": "custom",
                "in_bits": True,
                **{f"weight_{i}": w for i, w in enumerate((1, 1, 0, 0, 0, 0), 1)},
            },
            expect=(
                Expect("entropy", ">=", 1.0 - 1e-9),
                Expect("entropy", "<=", 1.0 + 1e-9),
                Expect("gap", "<=", 0.03),
            ),
        ),
    )
    presets = (
        Preset("meet-the-floor", {"source": "unfair coin"}),
        Preset(
            "make-an-outcome-impossible",
            {"source": "custom", "in_bits": True, **{f"weight_{i}": 0.0 for i in range(3, 7)}},
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "entropy": Metric(
            "entropy H(p)", "nats", "{:.3f}", "−Σ p log p: the least average surprise possible"
        ),
        "cross_entropy": Metric(
            "cross-entropy H(p, q)",
            "nats",
            "{:.3f}",
            "−Σ p log q: the predictor's average surprise, exactly (not from a batch)",
        ),
        "gap": Metric(
            "gap = KL(p ‖ q)",
            "nats",
            "{:.4f}",
            "H(p, q) − H(p): what the predictor still pays for believing q instead of p",
        ),
        "max_error": Metric(
            "largest |q − p|", "", "{:.3f}", "how far the predictor's belief is from the source"
        ),
    }

    def setup(self) -> None:
        self.p = self.distribution()
        k = len(self.p)
        self.scores = torch.nn.Parameter(
            torch.randn(k, generator=self.generator, dtype=torch.float64)
        )
        self.optimiser = torch.optim.Adam([self.scores], lr=self.lr)
        self.history = History(3, limit=300)
        self.record()

    def distribution(self) -> torch.Tensor:
        if self.source != "custom":
            return torch.tensor(SOURCES[self.source], dtype=torch.float64)
        weights = torch.tensor(
            [getattr(self, f"weight_{i}") for i in range(1, 7)], dtype=torch.float64
        )
        if float(weights.sum()) <= 0:  # every weight at 0: no source at all, so a fair die
            weights = torch.ones(6, dtype=torch.float64)
        return weights / weights.sum()

    @property
    def labels(self) -> tuple[str, ...]:
        return COIN if len(self.p) == 2 else DIE

    def no_source(self) -> bool:
        return self.source == "custom" and all(
            getattr(self, f"weight_{i}") <= 0 for i in range(1, 7)
        )

    def belief(self) -> torch.Tensor:
        return torch.softmax(self.scores, 0)

    def record(self) -> None:
        with torch.no_grad():
            h, ce = float(entropy(self.p)), float(cross_entropy(self.p, self.belief()))
        self.history.add(self.steps, ce, h)

    def train_step(self) -> dict[str, float]:
        outcomes = torch.multinomial(
            self.p, self.batch_size, replacement=True, generator=self.generator
        )
        loss = -torch.log_softmax(self.scores, 0)[outcomes].mean()
        self.optimise(loss)
        self.record()
        return {"loss": float(loss.detach())}

    def measure(self) -> dict[str, float]:
        s = self.unit_scale
        with torch.no_grad():
            q = self.belief()
            h, ce = float(entropy(self.p)), float(cross_entropy(self.p, q))
            gap = float(kl_divergence(self.p, q))
        return {
            "loss": ce,
            "entropy": h * s,
            "cross_entropy": ce * s,
            "gap": gap * s,
            "max_error": float((q - self.p).abs().max()),
            UNIT_KEY: float(self.in_bits),
        }

    def snapshot(self) -> dict[str, np.ndarray]:
        s = self.unit_scale
        with torch.no_grad():
            q = self.belief()
        p = self.p
        surprise = torch.where(p > 0, -torch.log(p.clamp_min(1e-300)), torch.inf)
        history = self.history.array()
        history[:, 1:] *= s
        return {
            "outcomes": np.array(self.labels),
            "p": to_numpy(p),
            "q": to_numpy(q),
            "surprise": to_numpy(surprise * s),  # inf for an impossible outcome
            "model_surprise": to_numpy(-torch.log(q) * s),
            "history": history,  # step, H(p, q), H(p)
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if self.no_source():
            return Verdict("note", "every custom weight is 0, so the source is a fair die")
        gap = measured.get("gap", math.nan) / self.unit_scale
        if gap < 0.005:
            return Verdict("note", "the predictor has met the entropy: no predictor does better")
        return None
