"""Chapter 6: pull each pair together, push the other items away, and read off a bound on the
information the two views share; first on the circle, then on the two halves of real digits."""

from __future__ import annotations

from typing import Any

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import BoxAnnotation, Label, Legend

from course.engine.chapter import Chapter, Part, follow, new_figure
from course.theme import CATEGORICAL
from sims.contrastive_digits import ContrastiveDigitsSim
from sims.contrastive_toy import ContrastiveToySim

# Ten digits need ten colours, more than Okabe & Ito's eight. Every digit is drawn as its own
# numeral, so nothing depends on telling colours apart; the colours only help the eye group.
# They are Paul Tol's "muted" scheme (nine colours chosen to stay distinct for colour-blind
# readers) and a mid grey for the tenth.
DIGIT_COLOURS = (
    "#332288",  # indigo
    "#88CCEE",  # cyan
    "#44AA99",  # teal
    "#117733",  # green
    "#999933",  # olive
    "#DDCC77",  # sand
    "#CC6677",  # rose
    "#882255",  # wine
    "#AA4499",  # purple
    "#777777",  # grey
)
CEILING = "#D55E00"  # vermilion: the ceiling log K
BOUND = "#0072B2"  # blue: the bound log K - L
PULL = "#000000"  # the anchor, its positive and the line between them
PUSH = "#999999"  # the negatives and the lines to them
VACUOUS = "#999999"  # the band below 0 nats, where the bound says nothing
CEILING_TEXT = "ceiling log K = {:.2f} nats"
RAW_TEXT = "32 raw top-half pixels"
UNTRAINED_TEXT = "same encoder, untrained"
CIRCLE = np.linspace(0, 2 * np.pi, 181)
LEGEND = {
    "label_text_font_size": "9pt",
    "title_text_font_size": "9pt",
    "padding": 3,
    "spacing": 2,
    "margin": 2,
    "glyph_width": 22,
    "glyph_height": 22,
}


def round_figure(title: str, x_label: str, y_label: str, extent: float, size: int, ring: str):
    """A square plot of [-extent, extent]^2 with the unit circle drawn in colour ``ring``."""
    fig = new_figure(
        title,
        x_label,
        y_label,
        x_range=(-extent, extent),
        y_range=(-extent, extent),
        frame_width=size,
        frame_height=size,
        width=None,  # the frame's size decides: a round circle
        height=None,
        sizing_mode="fixed",
        tools="save",
    )
    fig.line(np.cos(CIRCLE), np.sin(CIRCLE), color=ring, line_width=1)
    return fig


def bound_figure(part: Part, name: str, title: str, y_range: tuple[float, float], **kwargs):
    """The bound log K - L over training, a grey band below 0 and a dashed ceiling log K (the
    reference line ``name``)."""
    fig = new_figure(title, "training step", "nats", x_range=(0, 200), y_range=y_range, **kwargs)
    fig.add_layout(BoxAnnotation(top=0, fill_color=VACUOUS, fill_alpha=0.12, line_alpha=0))
    fig.add_layout(
        Label(
            x=8,
            y=-0.15,
            x_units="screen",
            text="below 0: the bound says nothing",
            text_font_size="9pt",
            text_color="#666666",
            text_baseline="top",
        )
    )
    part.reference(fig, name, label="", line_color=CEILING)
    return fig


def digit_figure(part: Part, name: str, title: str, extent: float | None = 1.1) -> Any:
    """Codes of held-out digits in two directions, each digit drawn as its own numeral (source
    ``name``); on the unit circle when ``extent`` is given, else on axes that fit the codes."""
    if extent is None:
        codes = new_figure(
            title,
            "direction 1",
            "direction 2",
            frame_width=330,
            frame_height=330,
            width=None,
            height=None,
            sizing_mode="fixed",
            tools="save",
        )
    else:
        codes = round_figure(title, "direction 1", "direction 2", extent, 330, "#cccccc")
    points = part.source(name, x=[], y=[], digit=[], color=[])
    codes.text(
        "x",
        "y",
        text="digit",
        source=points,
        text_color="color",
        text_font_size="11pt",
        text_font_style="bold",
        text_align="center",
        text_baseline="middle",
    )
    codes.add_layout(
        Label(
            x=4,
            y=4,
            x_units="screen",
            y_units="screen",
            text="labels only colour the plot: training never sees them",
            text_font_size="9pt",
            text_color="#666666",
        )
    )
    return codes


def fill_digits(part: Part, name: str, xy: np.ndarray, labels: np.ndarray) -> None:
    """Fill a ``digit_figure`` source from (N, 2) positions and (N,) digit labels."""
    labels = labels.astype(int)
    part.fill(
        name,
        x=xy[:, 0],
        y=xy[:, 1],
        digit=np.array([str(d) for d in labels]),
        color=np.array([DIGIT_COLOURS[d % 10] for d in labels]),
    )


def probe_line(part: Part, name: str, measured, key: str, text: str) -> None:
    """A measured accuracy as reference line ``name`` on a percent axis, labelled with its
    value; hidden while the value is unknown."""
    accuracy = measured.get(key)
    part.mark(name, None if accuracy is None else 100 * accuracy, f"{text}: {{:.0f}}%")


class PushAndPull(Part):
    title = "Push and pull on the circle"
    sim = ContrastiveToySim
    key = ("loss", "negatives", "k", "tau")
    controls = (
        "loss",
        "negatives",
        "k",
        "tau",
        "margin",
        "lr",
        "weight_decay",
        "view_noise",
        "nuisance",
        "n_clusters",
        "n_items",
        "seed",
    )
    readouts = (
        "loss",
        "bound",
        "ceiling",
        "bound_max",
        "alignment",
        "uniformity",
        "resultant_length",
    )
    speed = 5
    loss_label = "loss (training batch)"

    def plots(self):
        circle = round_figure("Codes on the unit circle", "code 1", "code 2", 1.3, 340, "#aaaaaa")
        # The first source must move when the sim trains: the codes do.
        codes = self.source("codes", x=[], y=[], color=[], marker=[], group=[])
        push = self.source("push", x0=[], y0=[], x1=[], y1=[])
        pull = self.source("pull", x0=[], y0=[], x1=[], y1=[])
        negatives = self.source("negatives", x=[], y=[])
        anchor = self.source("anchor", x=[], y=[])
        positive = self.source("positive", x=[], y=[])

        circle.scatter(
            "x",
            "y",
            source=codes,
            color="color",
            marker="marker",
            size=7,
            alpha=0.75,
            line_color="#222222",
            line_width=0.3,
            legend_field="group",
        )
        circle.segment("x0", "y0", "x1", "y1", source=push, color=PUSH, alpha=0.5, line_width=1)
        circle.segment("x0", "y0", "x1", "y1", source=pull, color=PULL, line_width=3)
        circle.scatter(
            "x",
            "y",
            source=negatives,
            size=9,
            fill_alpha=0,
            line_color="#555555",
            line_width=1.5,
            legend_label="its negatives",
        )
        circle.scatter(
            "x",
            "y",
            source=positive,
            marker="diamond",
            size=17,
            color="#ffffff",
            line_color=PULL,
            line_width=2.5,
            legend_label="its positive",
        )
        circle.scatter(
            "x",
            "y",
            source=anchor,
            marker="star",
            size=19,
            color=PULL,
            line_color="#ffffff",
            line_width=0.5,
            legend_label="anchor",
        )
        clusters = circle.legend[0]
        roles = Legend(items=clusters.items[1:], orientation="horizontal", **LEGEND)
        clusters.items = clusters.items[:1]
        clusters.update(orientation="horizontal", ncols=6, title="cluster (never used in training)")
        clusters.update(**LEGEND)
        circle.add_layout(clusters, "below")
        circle.add_layout(roles, "below")
        circle.xgrid.grid_line_alpha = 0.4
        circle.ygrid.grid_line_alpha = 0.4

        bound = bound_figure(
            self, "toy-ceiling", "Bound log K − L (batches)", (-2, 5.3), height=500
        )
        history = self.source("bound", step=[], bound=[])
        bound.line("step", "bound", source=history, color=BOUND, line_width=2)
        self.steps = bound.x_range
        return [row(circle, bound, sizing_mode="stretch_width")]

    def draw(self, frame):
        snapshot = frame.snapshot
        z, labels = snapshot["z"], snapshot["labels"].astype(int)
        self.fill(
            "codes",
            x=z[:, 0],
            y=z[:, 1],
            color=np.array([CATEGORICAL[i % len(CATEGORICAL)] for i in labels]),
            marker=np.where(labels < len(CATEGORICAL), "circle", "square"),
            group=np.array([str(i + 1) for i in labels]),
        )
        a, p, neg = snapshot["anchor"], snapshot["positive"], snapshot["negatives"]
        k = len(neg)
        self.fill("push", x0=np.full(k, a[0]), y0=np.full(k, a[1]), x1=neg[:, 0], y1=neg[:, 1])
        self.fill("pull", x0=a[:1], y0=a[1:], x1=p[:1], y1=p[1:])
        self.fill("negatives", x=neg[:, 0], y=neg[:, 1])
        self.fill("anchor", x=a[:1], y=a[1:])
        self.fill("positive", x=p[:1], y=p[1:])
        history = snapshot["bound_history"]
        self.fill("bound", step=history[:, 0], bound=history[:, 1])
        follow(self.steps, history[:, 0])
        self.mark("toy-ceiling", frame.measured.get("ceiling"), CEILING_TEXT)


class TopAndBottom(Part):
    title = "Top half, bottom half: real digits"
    sim = ContrastiveDigitsSim
    controls = ("tau", "lr", "k", "pixel_noise", "probe_every", "code_dim", "hidden", "seed")
    readouts = (
        "probe_accuracy",
        "raw_accuracy",
        "untrained_accuracy",
        "bound",
        "bound_train",
        "ceiling",
        "alignment",
        "uniformity",
    )
    speed = 10
    loss_label = "CMC loss (training batch)"

    def plots(self):
        codes = digit_figure(self, "digit_codes", "Top-half codes of 300 held-out digits")

        probe = new_figure(
            "Linear probe on held-out digits",
            "training step",
            "held-out accuracy (%)",
            x_range=(0, 200),
            y_range=(0, 100),
            height=250,
            tools="save",
        )
        history = self.source("probe", step=[], accuracy=[])
        probe.line("step", "accuracy", source=history, color=BOUND, line_width=2)
        probe.scatter("step", "accuracy", source=history, color=BOUND, size=6)
        self.reference(probe, "raw-probe", label="", line_color=CEILING)
        self.reference(probe, "untrained-probe", label="", line_color="#666666", line_dash="dotted")

        bound = bound_figure(
            self, "digits-ceiling", "Bound log K − L (batches)", (-1.5, 6), height=250, tools="save"
        )
        bound.x_range = self.steps = probe.x_range  # one step axis for both, lined up
        bounds = self.source("bound", step=[], bound=[])
        bound.line("step", "bound", source=bounds, color=BOUND, line_width=2)
        return [
            row(
                codes,
                column(probe, bound, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            )
        ]

    def draw(self, frame):
        snapshot, measured = frame.snapshot, frame.measured
        fill_digits(self, "digit_codes", snapshot["xy"], snapshot["labels"])
        probe = snapshot["probe_history"]  # (m, 2): step, accuracy; the first row is step 0
        self.fill("probe", step=probe[:, 0], accuracy=100 * probe[:, 1])
        probe_line(self, "untrained-probe", measured, "untrained_accuracy", UNTRAINED_TEXT)
        probe_line(self, "raw-probe", measured, "raw_accuracy", RAW_TEXT)

        bounds = snapshot["bound_history"]
        self.fill("bound", step=bounds[:, 0], bound=bounds[:, 1])
        follow(self.steps, np.concatenate([probe[:, 0], bounds[:, 0]]))
        self.mark("digits-ceiling", measured.get("ceiling"), CEILING_TEXT)


class ContrastiveChapter(Chapter):
    slug = "contrastive"
    order = 6
    parts = (PushAndPull, TopAndBottom)
