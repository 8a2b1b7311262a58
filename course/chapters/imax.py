"""Chapter 4: IMAX rewards what two outputs share, as a ratio that a constant cannot game; first
in the Gaussian picture, then on two modules that learn depth from random-dot stereo."""

from __future__ import annotations

import numpy as np
from bokeh.models import ColorBar, FixedTicker, LinearColorMapper

from course.engine.chapter import Chapter, Part, legend_below, new_figure
from course.theme import HIDDEN, SEEN, VIEW_A, VIEW_B, VIRIDIS
from sims.imax_gaussian import ImaxGaussianSim
from sims.imax_stereo import EVAL_SIZE, ImaxStereoSim

GAUSS_RANGE = (-9.0, 9.0)  # fits the latest batch at the sliders' ends (spread up to about 6)
STEREO_RANGE = (-0.6, 0.6)  # trained outputs stay within about ±0.5; a collapse shrinks to 0
JITTER = np.random.default_rng(0).uniform(-0.15, 0.15, EVAL_SIZE)  # fixed, so draw stays pure
TERMS = np.array(["var(a + b)", "var(a − b)"])
TERM_COLOURS = np.array([HIDDEN, SEEN])


def diagonal(fig, lo: float, hi: float) -> None:
    fig.line(
        [lo, hi],
        [lo, hi],
        color="#000000",
        line_dash="dashed",
        line_width=1.5,
        legend_label="a = b",
    )


class GaussianViews(Part):
    title = "One signal, two noisy views"
    sim = ImaxGaussianSim
    controls = ("signal", "noise_a", "noise_b", "n_samples", "seed")
    readouts = (
        "var_sum",
        "var_diff",
        "imax",
        "imax_theory",
        "mi_sample",
        "mi_theory",
        "corr",
        "info_about_signal",
        "samples",
    )
    speed = 1
    loss_label = "−IMAX from the samples (nats)"

    def plots(self):
        lo, hi = GAUSS_RANGE
        scatter = new_figure(
            "Latest batch: a against b",
            "a = s + noise of view A",
            "b = s + noise of view B",
            x_range=GAUSS_RANGE,
            y_range=GAUSS_RANGE,
        )
        pairs = self.source("pairs", a=[], b=[])
        scatter.scatter(
            "a", "b", source=pairs, size=4, alpha=0.5, color=VIEW_A, legend_label="(a, b)"
        )
        diagonal(scatter, lo, hi)
        legend_below(scatter)

        bars = new_figure(
            "The two terms of the ratio, latest batch",
            "",
            "variance",
            x_range=["var(a + b)", "var(a − b)"],
            tools="save",
        )
        bars.y_range.start = 0
        terms = self.source("terms", term=[], variance=[], color=[])
        bars.vbar("term", top="variance", width=0.6, color="color", source=terms)
        return [scatter, bars]

    def draw(self, frame):
        snapshot = frame.snapshot
        self.fill("pairs", a=snapshot["a"], b=snapshot["b"])
        self.fill("terms", term=TERMS, variance=snapshot["batch_terms"], color=TERM_COLOURS)


class StereoModules(Part):
    title = "Two modules learn depth from random-dot stereo"
    sim = ImaxStereoSim
    controls = (
        "naive",
        "lr",
        "weight_decay",
        "slant",
        "max_disparity",
        "width",
        "batch_size",
        "seed",
    )
    readouts = (
        "imax",
        "corr_ab",
        "corr_disparity",
        "corr_depth_magnitude",
        "disparity_r2",
        "spread_ratio",
    )
    speed = 5
    loss_label = "loss: −IMAX (nats), or (a − b)² when naive"

    def plots(self):
        lo, hi = STEREO_RANGE
        self.colors = LinearColorMapper(palette=VIRIDIS, low=-2, high=2)
        outputs = new_figure(
            "A against B, 300 test scenes",
            "module A output (centred)",
            "module B output (centred)",
            x_range=STEREO_RANGE,
            y_range=STEREO_RANGE,
        )
        ab = self.source("outputs", a=[], b=[], disparity=[])
        outputs.scatter(
            "a",
            "b",
            source=ab,
            size=6,
            alpha=0.75,
            color={"field": "disparity", "transform": self.colors},
            line_color="#222222",
            line_width=0.3,
            legend_label="one scene",
        )
        diagonal(outputs, lo, hi)
        legend_below(outputs)
        outputs.add_layout(
            ColorBar(
                color_mapper=self.colors,
                title="disparity (px)",
                width=10,
                ticker=FixedTicker(ticks=list(range(-3, 4))),
            ),
            "right",
        )

        depth = new_figure(
            "A against the hidden disparity",
            "disparity of patch A (px), never seen",
            "module A output (centred)",
            x_range=(-3.5, 3.5),
            y_range=STEREO_RANGE,
        )
        dots = self.source("depth", disparity=[], a=[])
        means = self.source("means", disparity=[], a=[])
        depth.scatter(
            "disparity", "a", source=dots, size=5, alpha=0.5, color=VIEW_B, legend_label="one scene"
        )
        depth.line("disparity", "a", source=means, color="#000000", line_width=2)
        depth.scatter(
            "disparity",
            "a",
            source=means,
            size=9,
            color="#000000",
            legend_label="mean at each disparity",
        )
        depth.xaxis.ticker = list(range(-3, 4))
        legend_below(depth)
        return [outputs, depth]

    def draw(self, frame):
        snapshot = frame.snapshot
        a, b, d = snapshot["a"], snapshot["b"], snapshot["disparity"]
        self.fill("outputs", a=a, b=b, disparity=d)
        self.fill("depth", disparity=d + JITTER[: len(d)], a=a)
        self.fill("means", disparity=snapshot["disparities"], a=snapshot["mean_by_disparity"])
        top = float(max(1, np.abs(snapshot["disparities"]).max()))  # the colour scale's ends
        if self.colors.high != top:
            self.colors.update(low=-top, high=top)


class ImaxChapter(Chapter):
    slug = "imax"
    order = 4
    parts = (GaussianViews, StereoModules)
