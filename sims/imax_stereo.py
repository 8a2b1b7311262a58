"""IMAX on random-dot stereo: two modules, two neighbouring patches, one surface.

Each module sees the left and right eye's strips of its own patch and outputs one number; the
pair is trained to maximise IMAX (Becker & Hinton, 1992). The patches share no dots, so the only
thing their outputs can agree on is the depth of the surface (its disparity). On a flat surface
every code of disparity agrees perfectly, so the surface is sometimes tilted (``slant``): then the
code that agrees best runs from near to far. A toggle trains the same modules to agree by squared
difference instead, and they collapse.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch

from models.imax import BinocularModule, correlation, imax_objective
from models.metrics import correlation_ratio, group_means
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

EVAL_SIZE = 300  # examples in the fixed set that is measured and drawn


def stereo_strips(
    n: int, width: int, max_disparity: int, slant: float, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n`` scenes of two neighbouring patches, each seen by a left and a right eye.

    Patch A's disparity is a whole number in [-max_disparity, max_disparity]; with probability
    ``slant`` the surface tilts and patch B sits one step nearer or farther (either way equally
    likely), else B has A's disparity. Every patch has its own random dots (+1 or -1), and the
    right eye sees them shifted by the patch's disparity: right[i] = dots[i + d], left[i] =
    dots[i]. Nothing but the disparities links the two patches.
    Returns left, right: (n, 2, width) and disparity: (n, 2) int64, patch A first.
    """
    margin = max_disparity + 1
    d_a = torch.randint(-max_disparity, max_disparity + 1, (n,), generator=generator)
    u = torch.rand(n, generator=generator)
    tilt = (u < slant / 2).long() * -1 + ((u >= slant / 2) & (u < slant)).long()
    disparity = torch.stack([d_a, d_a + tilt], dim=1)  # (n, 2)
    dots = torch.randint(0, 2, (n, 2, width + 2 * margin), generator=generator) * 2.0 - 1
    left = dots[:, :, margin : margin + width]  # (n, 2, width)
    index = margin + torch.arange(width) + disparity.unsqueeze(2)  # (n, 2, width)
    right = torch.gather(dots, 2, index)  # (n, 2, width)
    return left, right, disparity


class ImaxStereoSim(Sim):
    slug = "imax-stereo"
    title = "Two modules learn depth from random-dot stereo by maximising IMAX"
    live = ("lr", "weight_decay", "naive")

    naive = shared.boolean(
        False,
        "Naive agreement (a − b)² instead of IMAX",
        "Train the same modules to agree by squared difference (a - b)^2 instead of IMAX.",
    )
    lr = shared.learning_rate(0.01, (0.0005, 0.1), "AdamW")
    weight_decay = shared.weight_decay(
        0.1,
        (0.0, 1.0),
        0.01,
        "It keeps the outputs' scale in check, since IMAX does not care about it.",
    )
    slant = shared.number(
        0.25,
        (0.0, 1.0),
        0.05,
        "Slant: chance of a tilted surface",
        "How often the surface is tilted: the chance that patch B sits one disparity step "
        "nearer or farther than patch A. At 0 both patches always share one depth.",
    )
    max_disparity = shared.integer(
        2,
        (1, 3),
        "Largest disparity (pixels)",
        "Largest shift (pixels) between the eyes; disparities run from minus this to plus it.",
    )
    width = shared.integer(
        32,
        (8, 64),
        "Strip width (pixels)",
        "Pixels per strip. Wider strips give more dots to match, so less chance agreement.",
    )
    batch_size = shared.integer(
        256, (32, 1024), None, "Scenes in each training batch (freshly drawn)."
    )

    scenarios = (
        Scenario(
            "IMAX: the outputs agree and tell the disparity",
            steps=600,
            expect=(Expect("corr_ab", ">=", 0.9), Expect("abs_corr_disparity", ">=", 0.9)),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "naive agreement collapses",
            steps=600,
            settings={"naive": True},
            expect=(Expect("spread_ratio", "<=", 0.01),),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "flat surfaces: perfect agreement on some code of the disparity",
            steps=600,
            settings={"slant": 0.0},
            expect=(Expect("corr_ab", ">=", 0.97), Expect("disparity_r2", ">=", 0.95)),
            seeds=(0, 1),
        ),
    )
    presets = (
        Preset("learn-depth-then-collapse"),
        Preset("flat-surfaces", {"slant": 0.0}),
    )
    predictions = (
        Prediction(
            "patches-that-share-no-dots",
            "The two patches share no dots: how strongly will the two modules' outputs "
            "correlate after 300 steps of IMAX?",
            metric="corr_ab",
            steps=300,
            why="Depth is the one thing the two patches have in common, so the outputs can only "
            "agree by both reporting the disparity, and IMAX rewards exactly that agreement.",
            answer=2,
            choices=(
                Choice("hardly (below 0.3)", high=0.3),
                Choice("partly (between 0.3 and 0.7)", 0.3, 0.7),
                Choice("strongly (0.7 or more)", low=0.7),
            ),
            seeds=(0, 1),
        ),
        Prediction(
            "naive-from-the-start",
            "Trained with naive agreement (a − b)² from the start, where will the spread of the "
            "outputs be after 150 steps?",
            metric="spread_ratio",
            steps=150,
            why="A squared difference is smallest when both modules output one constant and "
            "nothing in it rewards following the scene, so the outputs shrink towards a point, "
            "while IMAX's ratio var(a + b) / var(a − b) gains nothing when both shrink.",
            answer=0,
            choices=(
                Choice("below 5% of its start", high=0.05),
                Choice("between 5% and 50% of its start", 0.05, 0.5),
                Choice("between 50% and 150%: about as at the start", 0.5, 1.5),
                Choice("above 150% of its start", low=1.5),
            ),
            settings={"naive": True},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "imax": Metric(
            "IMAX between the outputs",
            "nats",
            "{:.2f}",
            "½ log(var(a+b) / var(a−b)) on 300 fixed test scenes",
        ),
        "corr_ab": Metric("corr(A, B)", "", "{:.3f}", "how well the two modules agree"),
        "corr_disparity": Metric(
            "corr(A, disparity)",
            "",
            "{:+.3f}",
            "±1: module A's output runs straight from near to far",
        ),
        "corr_depth_magnitude": Metric(
            "corr(A, |disparity|)",
            "",
            "{:+.3f}",
            "±1: module A reports how far from the middle depth, not which side",
        ),
        "disparity_r2": Metric(
            "A explained by disparity",
            "",
            "{:.1%}",
            "share of A's variance that disparity explains, taken as a category (any code)",
        ),
        "spread_ratio": Metric(
            "spread vs start",
            "×",
            "{:.3g}",
            "standard deviation of the outputs relative to step 0",
        ),
    }

    def setup(self) -> None:
        g = self.generator
        self.module_a = BinocularModule(g)
        self.module_b = BinocularModule(g)
        parameters = [*self.module_a.parameters(), *self.module_b.parameters()]
        self.optimiser = torch.optim.AdamW(parameters, lr=self.lr, weight_decay=self.weight_decay)
        self.eval_set = self.scenes(EVAL_SIZE)
        with torch.no_grad():
            self.start_spread = self._spread(*self.outputs(*self.eval_set[:2]))

    def scenes(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return stereo_strips(n, self.width, self.max_disparity, self.slant, self.generator)

    def outputs(self, left: torch.Tensor, right: torch.Tensor) -> tuple[torch.Tensor, ...]:
        a = self.module_a(left[:, 0], right[:, 0])  # (n,) patch A
        b = self.module_b(left[:, 1], right[:, 1])  # (n,) patch B
        return a, b

    @staticmethod
    def _spread(a: torch.Tensor, b: torch.Tensor) -> float:
        return float(a.std() + b.std()) / 2

    def train_step(self) -> dict[str, float]:
        left, right, _ = self.scenes(self.batch_size)
        a, b = self.outputs(left, right)
        loss = (a - b).pow(2).mean() if self.naive else -imax_objective(a, b, eps=1e-6)
        self.optimise(loss)
        return {"loss": loss.item()}

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        left, right, disparity = self.eval_set
        a, b = self.outputs(left, right)
        d = disparity[:, 0].double()
        a64, b64 = a.double(), b.double()
        imax = float(imax_objective(a64, b64, eps=1e-12))
        corr_d = float(correlation(a64, d))
        return {
            "loss": float((a - b).pow(2).mean()) if self.naive else -imax,
            "imax": imax,
            "corr_ab": float(correlation(a64, b64)),
            "corr_disparity": corr_d,
            "abs_corr_disparity": abs(corr_d),
            "corr_depth_magnitude": float(correlation(a64, d.abs())),
            "disparity_r2": correlation_ratio(a64, d),
            "spread_ratio": self._spread(a, b) / self.start_spread,
        }

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        left, right, disparity = self.eval_set
        a, b = self.outputs(left, right)
        # Centred: IMAX ignores a shift of either output, so only the spread around the mean counts.
        a = a - a.mean()
        levels, means = group_means(a, disparity[:, 0].to(a.dtype))
        return {
            "a": to_numpy(a),
            "b": to_numpy(b - b.mean()),
            "disparity": to_numpy(disparity[:, 0]),
            "disparity_b": to_numpy(disparity[:, 1]),
            "disparities": to_numpy(levels),  # (C,) the disparities of patch A, ascending
            "mean_by_disparity": to_numpy(means),  # (C,) A's mean output at each
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if measured.get("spread_ratio", 1.0) < 0.05:
            return Verdict("collapsed", "collapsed: both modules output (almost) a constant")
        if measured.get("corr_ab", 0.0) < 0.9:
            return None
        if measured.get("abs_corr_disparity", 0.0) >= 0.9:
            text = "found depth: the outputs agree and follow the disparity"
        elif measured.get("disparity_r2", 0.0) >= 0.9:
            text = "agreeing on a code of the disparity that does not run near to far"
        else:
            text = "agreeing on something other than the disparity"
        return Verdict("note", text)
