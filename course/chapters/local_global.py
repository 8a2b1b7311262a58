"""Chapter 9: local Deep InfoMax and AMDIM on digits: a digit's global vector must pick out its
own patches among every patch of the batch."""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import ColorBar, LinearColorMapper

from course.chapters.contrastive import (
    BOUND,
    CEILING,
    CEILING_TEXT,
    UNTRAINED_TEXT,
    probe_line,
)
from course.engine.chapter import Chapter, follow, legend_below, new_figure
from course.theme import VIRIDIS
from sims.local_global import LocalGlobalSim

POSITIVE, NEGATIVE = "#009E73", "#999999"  # the scores of own patches, of other digits' patches
GREYS = [f"#{v:02x}{v:02x}{v:02x}" for v in range(255, -1, -1)]  # white (0) to black (1)
UNTRAINED_GLOBAL = UNTRAINED_TEXT.replace("encoder", "encoder's global vector")


def grid_figure(title: str, cells: int):
    """A square plot of ``cells`` x ``cells`` unit squares, row 0 at the top, as an image."""
    fig = new_figure(
        title,
        "",
        "",
        x_range=(-0.5, cells - 0.5),
        y_range=(cells - 0.5, -0.5),
        frame_width=150,
        frame_height=150,
        width=None,
        height=None,
        sizing_mode="fixed",
        tools="save",
    )
    fig.xaxis.visible = fig.yaxis.visible = False
    fig.xgrid.visible = fig.ygrid.visible = False
    return fig


def cell_columns(values: np.ndarray) -> dict[str, np.ndarray]:
    """A (rows, columns) array as one entry per cell: value, x (column), y (row)."""
    rows, cols = np.indices(values.shape)
    return {"value": values.ravel(), "x": cols.ravel(), "y": rows.ravel()}


class LocalGlobalChapter(Chapter):
    slug = "local-global"
    order = 9
    sim = LocalGlobalSim
    controls = (
        "penalty",
        "penalty_weight",
        "clip",
        "clip_c",
        "augment",
        "pixel_noise",
        "multiscale",
        "lr",
        "batch_size",
        "global_dim",
        "score_dim",
        "probe_every",
        "seed",
    )
    readouts = (
        "probe_accuracy",
        "untrained_accuracy",
        "raw_accuracy",
        "bound",
        "bound_train",
        "ceiling",
        "pos_abs_mean",
        "neg_abs_mean",
        "neg_abs_max",
        "near_clip",
    )
    speed = 3
    loss_label = "NCE loss (training batch)"

    def plots(self):
        # First: the highlighted digit's positive scores, which move as the encoder trains.
        scores = grid_figure("Its own patches' scores", 4)
        mapper = LinearColorMapper(palette=VIRIDIS)
        cells = self.source("pos_map", value=[], x=[], y=[], label=[])
        scores.rect(
            "x",
            "y",
            0.96,
            0.96,
            source=cells,
            line_color=None,
            fill_color={"field": "value", "transform": mapper},
        )
        scores.text(
            "x",
            "y",
            text="label",
            source=cells,
            text_align="center",
            text_baseline="middle",
            text_font_size="9pt",
            text_color="#ffffff",
        )
        scores.add_layout(ColorBar(color_mapper=mapper, width=8), "right")

        digit = grid_figure("A held-out digit", 8)
        pixels = self.source("digit", value=[], x=[], y=[])
        digit.rect(
            "x",
            "y",
            1,
            1,
            source=pixels,
            line_color=None,
            fill_color={
                "field": "value",
                "transform": LinearColorMapper(palette=GREYS, low=0, high=1),
            },
        )

        hist = new_figure(
            "Scores: own patches against others'",
            "score (as the loss sees it)",
            "share of scores",
            height=260,
            tools="save",
        )
        bins = self.source("hist", left=[], right=[], positive=[], negative=[])
        hist.quad(
            left="left",
            right="right",
            bottom=0,
            top="negative",
            source=bins,
            fill_color=NEGATIVE,
            fill_alpha=0.5,
            line_color=None,
            legend_label="other digits' patches",
        )
        hist.quad(
            left="left",
            right="right",
            bottom=0,
            top="positive",
            source=bins,
            fill_color=POSITIVE,
            fill_alpha=0.6,
            line_color=None,
            legend_label="its own patches",
        )
        for name in ("clip-low", "clip-high"):
            self.reference(
                hist,
                name,
                label="" if name == "clip-high" else None,
                dimension="height",
                line_color=CEILING,
            )
        legend_below(hist)

        bound = new_figure(
            "NCE bound log K − L (training batches)",
            "training step",
            "nats",
            x_range=(0, 200),
            y_range=(-0.5, 7),
            height=230,
            tools="save",
        )
        self.steps = bound.x_range
        history = self.source("bound", step=[], bound=[])
        bound.line("step", "bound", source=history, color=BOUND, line_width=2)
        self.reference(bound, "lg-ceiling", label="", line_color=CEILING, below=True)

        probe = new_figure(
            "Probe on global vectors (held-out)",
            "training step",
            "accuracy (%)",
            x_range=self.steps,
            y_range=(0, 112),
            height=230,
            tools="save",
        )
        probes = self.source("probe", step=[], accuracy=[])
        probe.line("step", "accuracy", source=probes, color=POSITIVE, line_width=2)
        probe.scatter("step", "accuracy", source=probes, color=POSITIVE, size=6)
        self.reference(probe, "lg-raw", label="", line_color=CEILING)
        self.reference(
            probe, "lg-untrained", label="", below=True, line_color="#666666", line_dash="dotted"
        )
        return [
            column(
                row(digit, scores, hist, sizing_mode="stretch_width"),
                row(bound, probe, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            )
        ]

    def draw(self, frame):
        snapshot, measured = frame.snapshot, frame.measured
        scores = cell_columns(snapshot["pos_map"])
        self.fill("pos_map", **scores, label=np.array([f"{v:.1f}" for v in scores["value"]]))
        self.fill("digit", **cell_columns(snapshot["image"]))
        edges = snapshot["hist_edges"]
        self.fill(
            "hist",
            left=edges[:-1],
            right=edges[1:],
            positive=snapshot["hist_pos"],
            negative=snapshot["hist_neg"],
        )
        clip = snapshot["clip"]  # (1,) while the soft clip is on, (0,) while it is off
        self.mark("clip-low", -float(clip[0]) if len(clip) else None)
        self.mark("clip-high", float(clip[0]) if len(clip) else None, "clip ±c = ±{:.0f}")
        history, probes = snapshot["bound_history"], snapshot["probe_history"]
        self.fill("bound", step=history[:, 0], bound=history[:, 1])
        self.fill("probe", step=probes[:, 0], accuracy=100 * probes[:, 1])
        follow(self.steps, np.concatenate([history[:, 0], probes[:, 0]]))
        self.mark("lg-ceiling", measured.get("ceiling"), CEILING_TEXT)
        probe_line(self, "lg-raw", measured, "raw_accuracy", "64 raw pixels")
        probe_line(self, "lg-untrained", measured, "untrained_accuracy", UNTRAINED_GLOBAL)
