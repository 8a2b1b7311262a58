"""Chapter 1: two encoders learn to agree on two views of each scene."""

from __future__ import annotations

import numpy as np
from bokeh.models import ColorBar, HoverTool
from bokeh.transform import linear_cmap

from course.engine.chapter import Chapter, legend_below, new_figure, square_figure
from course.theme import VIRIDIS
from sims.agreement import AgreementSim

HIGHLIGHT = 0  # the scene drawn large, so one pair can be followed by eye


class AgreementChapter(Chapter):
    slug = "agreement"
    order = 1
    sim = AgreementSim
    controls = ("lr", "nuisance", "normalise", "n_scenes", "seed")
    readouts = ("loss", "disagreement", "signal_r2", "spread_ratio")
    speed = 2

    def plots(self):
        color = linear_cmap("signal", VIRIDIS, -1, 1)
        codes = square_figure(
            "Codes of each scene: A ●, B ■", "code dimension 1", "code dimension 2", 3.5
        )
        pairs = self.source("pairs", x0=[], y0=[], x1=[], y1=[])
        a = self.source("codes_a", x=[], y=[], signal=[])
        b = self.source("codes_b", x=[], y=[], signal=[])
        one = self.source("highlight", x=[], y=[])
        codes.segment("x0", "y0", "x1", "y1", source=pairs, color="#888888", alpha=0.45)
        ra = codes.scatter(
            "x",
            "y",
            source=a,
            size=7,
            color=color,
            line_color="#222222",
            line_width=0.4,
            legend_label="A (left view)",
        )
        codes.scatter(
            "x",
            "y",
            source=b,
            size=7,
            marker="square",
            color=color,
            line_color="#222222",
            line_width=0.4,
            legend_label="B (right view)",
        )
        codes.line("x", "y", source=one, color="#CC79A7", line_width=3)
        codes.scatter(
            "x",
            "y",
            source=one,
            size=15,
            marker="circle",
            fill_alpha=0,
            line_color="#CC79A7",
            line_width=3,
            legend_label="one scene",
        )
        codes.legend.click_policy = "hide"
        legend_below(codes)
        codes.add_tools(HoverTool(renderers=[ra], tooltips=[("hidden signal", "@signal{0.00}")]))
        codes.add_layout(
            ColorBar(color_mapper=color["transform"], title="hidden signal s", width=10), "right"
        )

        capture = new_figure(
            "What code A captures",
            "hidden signal s (never shown to the model)",
            "code A, dimension 1",
            x_range=(-1.1, 1.1),
            y_range=(-3.5, 3.5),
        )
        cap = self.source("capture", s=[], a1=[], b1=[])
        capture.scatter(
            "s", "a1", source=cap, size=6, color="#0072B2", alpha=0.7, legend_label="code A"
        )
        capture.scatter(
            "s",
            "b1",
            source=cap,
            size=6,
            marker="square",
            color="#D55E00",
            alpha=0.5,
            legend_label="code B",
        )
        legend_below(capture)
        return [codes, capture]

    def draw(self, frame):
        a, b, s = frame.snapshot["a"], frame.snapshot["b"], frame.snapshot["signal"]
        self.fill("pairs", x0=a[:, 0], y0=a[:, 1], x1=b[:, 0], y1=b[:, 1])
        self.fill("codes_a", x=a[:, 0], y=a[:, 1], signal=s)
        self.fill("codes_b", x=b[:, 0], y=b[:, 1], signal=s)
        self.fill(
            "highlight",
            x=np.array([a[HIGHLIGHT, 0], b[HIGHLIGHT, 0]]),
            y=np.array([a[HIGHLIGHT, 1], b[HIGHLIGHT, 1]]),
        )
        self.fill("capture", s=s, a1=a[:, 0], b1=b[:, 0])
