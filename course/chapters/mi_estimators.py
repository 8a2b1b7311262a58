"""Chapter 8: four estimators of mutual information raced against a known answer."""

from __future__ import annotations

import math

import numpy as np
from bokeh.models import ColumnDataSource, HoverTool, Range1d

from course.engine.chapter import Chapter, new_figure
from sims.mi_estimators import ESTIMATORS, MIEstimatorsSim

HISTORY_KEYS = (
    "step",
    "true_mi",
    "log_k",
    *ESTIMATORS,
    *(f"{name}_smooth" for name in ESTIMATORS),
)
NAMES = {"nwj": "NWJ", "dv": "DV (MINE)", "infonce": "InfoNCE", "smile": "SMILE"}
COLOURS = {"nwj": "#E69F00", "dv": "#0072B2", "infonce": "#009E73", "smile": "#CC79A7"}
Y_TOP = 12.0  # nats: room for the staircase's 10 nats; raised only for a higher true MI
X_CHUNK = 500  # the step axis grows in chunks, so the axes show from step 0
VAR_FLOOR = 1e-5  # nats², the bottom of the log-scale bar chart
ESTIMATOR_NAMES = np.array([NAMES[n] for n in ESTIMATORS])
ESTIMATOR_COLOURS = np.array([COLOURS[n] for n in ESTIMATORS])


def bar_label(variance: float) -> str:
    if np.isnan(variance):
        return ""
    return f"{variance:,.0f}" if variance >= 100 else f"{variance:.2g}"


class MIEstimatorsChapter(Chapter):
    slug = "mi-estimators"
    order = 8
    sim = MIEstimatorsSim
    key = ("critic", "true_mi", "batch_size", "staircase")
    controls = (
        "staircase",
        "true_mi",
        "batch_size",
        "critic",
        "smile_tau",
        "stair_steps",
        "dim",
        "lr",
        "window",
        "seed",
    )
    readouts = (
        "true_mi",
        "log_k",
        *(f"{name}_smooth" for name in ESTIMATORS),
        "dv_above_truth",
        "nwj_var_over_infonce_var",
    )
    speed = 5
    loss_label = "InfoNCE loss (nats)"

    def plots(self):
        # Created first: the browser test watches its first column. One dot per estimator at
        # its newest smoothed value marks where the run is now.
        latest = self.source("latest", step=[], value=[], colour=[])
        history = self.source("history", **{key: [] for key in HISTORY_KEYS})
        variance = self.source("variance", estimator=[], variance=[], colour=[], label=[])

        self.estimates = new_figure(
            "Estimates against the true MI",
            "training step",
            "MI estimate (nats)",
            x_range=Range1d(0, X_CHUNK),
            y_range=Range1d(-1.0, Y_TOP),
            height=400,
        )
        fig = self.estimates
        for name in ESTIMATORS:
            fig.line(
                "step",
                name,
                source=history,
                color=COLOURS[name],
                alpha=0.3,
                line_width=1,
            )
        smooth = {
            name: fig.line(
                "step",
                f"{name}_smooth",
                source=history,
                color=COLOURS[name],
                line_width=2.5,
            )
            for name in ESTIMATORS
        }
        fig.line(
            "step",
            "log_k",
            source=history,
            color="#555555",
            line_dash="dashed",
            line_width=2,
        )
        fig.step(
            "step",
            "true_mi",
            source=history,
            mode="after",
            color="#000000",
            line_width=2.5,
        )
        fig.scatter("step", "value", source=latest, color="colour", size=9, line_color="#222222")
        fig.add_tools(
            HoverTool(
                renderers=[smooth["infonce"]],  # one tooltip per step, listing every estimate
                tooltips=[("step", "@step{0}"), ("true MI", "@true_mi{0.0} nats")]
                + [(NAMES[n], f"@{n}_smooth{{0.00}} nats") for n in ESTIMATORS],
                mode="vline",
            )
        )
        # The legend is drawn from stand-in lines with no visible data: a legend redraws itself
        # whenever the data of one of its renderers changes, which would be ten times a frame.
        stand_in = ColumnDataSource({"x": [np.nan], "y": [np.nan]})  # drawn nowhere
        entries = [(NAMES[n], COLOURS[n], "solid", 2.5) for n in ESTIMATORS] + [
            ("log K (InfoNCE's ceiling)", "#555555", "dashed", 2),
            ("true MI", "#000000", "solid", 2.5),
        ]
        for label, colour, dash, width in entries:
            fig.line(
                "x",
                "y",
                source=stand_in,
                color=colour,
                line_dash=dash,
                line_width=width,
                legend_label=label,
            )
        fig.legend.ncols = 3
        fig.add_layout(fig.legend[0], "below")

        bars = new_figure(
            "How noisy is each estimate?",
            "estimator (its recent batches)",
            "variance of the estimate (nats²)",
            x_range=[NAMES[n] for n in ESTIMATORS],
            y_range=Range1d(VAR_FLOOR, 1e3),
            y_axis_type="log",
            height=400,
            width=340,
            sizing_mode="fixed",
            tools="save",
        )
        bars.vbar(
            "estimator",
            top="variance",
            bottom=VAR_FLOOR,
            width=0.7,
            source=variance,
            color="colour",
        )
        bars.text(
            "estimator",
            "variance",
            text="label",
            source=variance,
            text_align="center",
            text_baseline="bottom",
            y_offset=-3,
            text_font_size="11pt",
        )
        bars.xgrid.grid_line_color = None
        return [fig, bars]

    def draw(self, frame):
        snapshot = frame.snapshot
        step, true_mi = snapshot["step"], snapshot["true_mi"]
        self.fill("history", **{key: snapshot[key] for key in HISTORY_KEYS})
        now = float(step[-1]) if len(step) else 0.0
        self.fill(
            "latest",
            step=np.full(len(ESTIMATORS), now),
            value=np.array(
                [snapshot[f"{n}_smooth"][-1] if len(step) else np.nan for n in ESTIMATORS],
                dtype=float,
            ),
            colour=ESTIMATOR_COLOURS,
        )
        highest = float(true_mi.max()) if len(step) else 0.0
        top = max(Y_TOP, math.ceil(1.15 * highest))
        end = X_CHUNK * (1 + int(now) // X_CHUNK)
        if self.estimates.y_range.end != top:
            self.estimates.y_range.end = top
        if self.estimates.x_range.end != end:
            self.estimates.x_range.end = end

        var = snapshot["window_var"].astype(np.float64)  # NaN until a stair has 3 steps
        self.fill(
            "variance",
            estimator=ESTIMATOR_NAMES,
            variance=np.maximum(var, VAR_FLOOR),
            colour=ESTIMATOR_COLOURS,
            label=np.array([bar_label(v) for v in var]),
        )
