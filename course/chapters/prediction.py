"""Chapter 5: predict the hidden bars from the seen ones, then predict an embedding instead."""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import ColorBar, HoverTool, LabelSet
from bokeh.transform import linear_cmap

from course.engine.chapter import Chapter, Part, legend_below, new_figure, square_figure
from course.theme import HIDDEN, SEEN, VIRIDIS
from sims.prediction import PredictionSim
from sims.prediction_embedding import PredictionEmbeddingSim

N_EXAMPLES = PredictionSim.N_EXAMPLES
N_BARS = PredictionSim.N_BARS
MODEL = "#000000"  # the model's guess
BEST = "#D55E00"  # vermilion: the best possible guess
AVERAGE = "#999999"  # grey: the average guess
METER = "#009E73"  # bluish green: the collapse meter, as in the collapse chapter
CODE_RANGE = 3.0  # colour scale of the code heatmap, fixed so that changes stay visible
KINDS = ("average guess", "model", "best possible")
GROUP = N_BARS + 2  # x positions per input in the bar chart: 12 bars and a gap


def inputs() -> list[str]:
    return [f"input {i + 1}" for i in range(N_EXAMPLES)]


def label_inputs(fig, spacing: float, centre: float) -> None:
    """One tick per input, at the centre of its group of bars, labelled "input i"."""
    ticks = [spacing * i + centre for i in range(N_EXAMPLES)]
    fig.xaxis.ticker = ticks
    fig.xaxis.major_label_overrides = dict(zip(ticks, inputs(), strict=True))
    fig.xaxis.major_label_text_font_size = "11pt"
    fig.xaxis.major_tick_line_color = None
    fig.xaxis.minor_tick_line_color = None
    fig.xgrid.grid_line_color = None


class SeenAndHidden(Part):
    title = "Seen and hidden bars"
    sim = PredictionSim
    controls = ("force_collapse", "n_hidden", "noise", "factors", "code_size", "lr", "seed")
    readouts = ("error", "mean_error", "best_error", "error_over_mean", "gap_closed")
    speed = 2
    loss_label = "squared error"

    def plots(self):
        # Input i's bars sit at x = GROUP * i + 1 ... GROUP * i + 12, one tick label per input.
        bars = new_figure(
            "Four held-out inputs: seen bars (cyan), hidden bars (amber) and the guesses",
            "bars 1 to 12 of each input",
            "value",
            x_range=(0, GROUP * N_EXAMPLES - 1),
            y_range=(-3.5, 3.5),
            height=330,
            tools="save",
        )
        # The first source must move when the sim trains: the model's guesses do.
        guess = self.source("guess", y=[], x=[])
        values = self.source("bars", top=[], x=[], color=[], role=[])
        best = self.source("best", y=[], x=[])
        bars.vbar(
            "x",
            top="top",
            width=0.8,
            source=values,
            color="color",
            line_color="#333333",
            line_width=0.5,
            legend_field="role",
        )
        bars.scatter(
            "x",
            "y",
            source=best,
            marker="diamond",
            size=11,
            color=BEST,
            line_color="#ffffff",
            line_width=0.8,
            legend_label="best possible guess",
        )
        bars.scatter(
            "x",
            "y",
            source=guess,
            marker="dash",
            size=16,
            line_width=4,
            color=MODEL,
            legend_label="model's guess",
        )
        label_inputs(bars, GROUP, (N_BARS + 1) / 2)
        legend_below(bars)

        errors = new_figure(
            "Squared error per hidden bar",
            "input",
            "squared error",
            x_range=(0, 4 * N_EXAMPLES),
            y_range=(0, 2),
            height=280,
            tools="save",
        )
        err = self.source("errors", top=[], x=[], kind=[], color=[], text=[])
        errors.vbar("x", top="top", width=0.9, source=err, color="color", legend_field="kind")
        errors.add_layout(
            LabelSet(
                x="x",
                y="top",
                text="text",
                source=err,
                text_align="center",
                text_font_size="8pt",
                y_offset=2,
            )
        )
        label_inputs(errors, 4, 2)
        errors.legend.orientation = "horizontal"
        errors.legend.label_text_font_size = "9pt"
        errors.add_layout(errors.legend[0], "below")
        self.errors = errors

        cmap = linear_cmap("value", VIRIDIS, -CODE_RANGE, CODE_RANGE)
        code = new_figure(
            "The code the predictor sees",
            "code number",
            "input",
            x_range=(0.5, 4.5),
            y_range=(N_EXAMPLES + 0.5, 0.5),
            height=280,
            width=330,
            sizing_mode="fixed",
            tools="save",
        )
        cells = self.source("code", value=[], x=[], y=[])
        rects = code.rect("x", "y", width=0.95, height=0.9, source=cells, color=cmap)
        code.add_tools(HoverTool(renderers=[rects], tooltips=[("value", "@value{0.00}")]))
        code.add_layout(
            ColorBar(color_mapper=cmap["transform"], title="code value", width=10), "right"
        )
        code.xaxis.ticker = list(range(1, 9))
        code.yaxis.ticker = list(range(1, N_EXAMPLES + 1))
        code.yaxis.major_label_overrides = {i + 1: name for i, name in enumerate(inputs())}
        code.xgrid.grid_line_color = None
        code.ygrid.grid_line_color = None
        self.code = code

        errors_and_code = row(errors, code, sizing_mode="stretch_width")
        return [column(bars, errors_and_code, sizing_mode="stretch_width")]

    def draw(self, frame):
        snapshot = frame.snapshot
        x = snapshot["bars"]  # (4, 12)
        hidden = snapshot["hidden_index"].astype(int)  # (H,)
        mask = snapshot["hidden_mask"] > 0.5  # (12,)
        start = GROUP * np.arange(N_EXAMPLES)[:, None] + 1.0  # (4, 1): bar 1 of each input
        at = (start + hidden).ravel()
        self.fill("guess", y=snapshot["predicted"].ravel(), x=at)
        self.fill("best", y=snapshot["best"].ravel(), x=at)
        self.fill(
            "bars",
            top=x.ravel(),
            x=(start + np.arange(N_BARS)).ravel(),
            color=np.array([HIDDEN if m else SEEN for m in mask] * N_EXAMPLES),
            role=np.array(
                ["hidden (to predict)" if m else "seen (read by the encoder)" for m in mask]
                * N_EXAMPLES
            ),
        )
        per_input = snapshot["errors"]  # (4, 3): average guess, model, best possible
        self.fill(
            "errors",
            top=per_input.ravel(),
            x=(4 * np.arange(N_EXAMPLES)[:, None] + np.arange(1, 4)).ravel(),
            kind=np.array(list(KINDS) * N_EXAMPLES),
            color=np.array([AVERAGE, MODEL, BEST] * N_EXAMPLES),
            text=np.array([f"{v:.2f}" for v in per_input.ravel()]),
        )
        top = float(max(1.0, per_input.max()) * 1.3)
        if self.errors.y_range.end != top:
            self.errors.y_range.end = top

        c = snapshot["code"]  # (4, code_size)
        size = c.shape[1]
        self.fill(
            "code",
            value=c.ravel(),
            x=np.tile(np.arange(1, size + 1), N_EXAMPLES),
            y=np.repeat(np.arange(1, N_EXAMPLES + 1), size),
        )
        if self.code.x_range.end != size + 0.5:
            self.code.x_range.end = size + 0.5


class PredictingAnEmbedding(Part):
    title = "Predicting an embedding"
    sim = PredictionEmbeddingSim
    controls = (
        "stop_gradient",
        "ema_target",
        "predictor",
        "ema_rate",
        "predictor_lr_scale",
        "lr",
        "weight_decay",
        "n_hidden",
        "noise",
        "dim",
        "seed",
    )
    readouts = ("loss", "spread", "spread_ratio", "effective_rank", "factor_r2")
    speed = 5
    loss_label = "1 − cos"

    def plots(self):
        color = linear_cmap("factor", VIRIDIS, -2.5, 2.5)
        cloud = square_figure(
            "Embeddings (first two coordinates)",
            "embedding coordinate 1",
            "embedding coordinate 2",
            1.1,
        )
        angle = np.linspace(0, 2 * np.pi, 121)
        cloud.line(np.cos(angle), np.sin(angle), color="#bbbbbb", line_dash="dashed")
        points = self.source("embeddings", x=[], y=[], factor=[])
        cloud.scatter(
            "x",
            "y",
            source=points,
            size=7,
            color=color,
            line_color="#222222",
            line_width=0.3,
            alpha=0.85,
        )
        cloud.add_layout(
            ColorBar(
                color_mapper=color["transform"],
                title="hidden factor 1 (never used in training)",
                width=10,
            ),
            "right",
        )

        meter = new_figure(
            "Collapse meter: spread per coordinate",
            "embedding coordinate",
            "standard deviation",
            x_range=(0.4, 8.6),
            y_range=(0, 0.8),
            tools="save",
        )
        bars = self.source("meter", dim=[], std=[])
        meter.vbar("dim", top="std", width=0.7, source=bars, color=METER)
        meter.xaxis.ticker = list(range(1, 9))
        meter.xgrid.grid_line_color = None
        return [cloud, meter]

    def draw(self, frame):
        z, std = frame.snapshot["z"], frame.snapshot["spread"]
        self.fill("embeddings", x=z[:, 0], y=z[:, 1], factor=frame.snapshot["factor"])
        self.fill("meter", dim=np.arange(1, len(std) + 1), std=std)


class PredictionChapter(Chapter):
    slug = "prediction"
    order = 5
    parts = (SeenAndHidden, PredictingAnEmbedding)
