"""Chapter 3: what information is. Surprise and entropy, KL in both directions, mutual
information as what a channel carries, and Linsker's InfoMax on noisy linear units."""

from __future__ import annotations

import numpy as np
from bokeh.models import DataRange1d, Range1d

from course.engine.chapter import (
    Chapter,
    Part,
    follow,
    legend_below,
    new_figure,
    square_figure,
)
from course.theme import HIDDEN, SEEN, VIEW_A, VIEW_B
from sims.information_channel import ChannelSim
from sims.information_entropy import DIE, EntropySim
from sims.information_infomax import InfoMaxSim
from sims.information_kl import KLSim
from sims.units import UNIT_KEY

LIMIT = "#D55E00"  # vermilion: the line the learner cannot pass (entropy, capacity, optimum)
TERM_LABELS = ("H(X)", "H(Y)", "H(X|Y)", "H(Y|X)", "I(X;Y)")
TERM_COLOURS = np.array([VIEW_A, VIEW_B, HIDDEN, HIDDEN, "#009E73"])
NEVER = "never happens"
ARROW = 2.6  # drawn length of a unit's weight vector, in input units


def unit(frame) -> str:
    """The information unit the frame's numbers are in."""
    return "bits" if frame.measured.get(UNIT_KEY) else "nats"


def step_figure(title: str, y_label: str) -> tuple:
    fig = new_figure(title, "step", y_label, x_range=Range1d(0, 100), y_range=DataRange1d(start=0))
    return fig, fig.x_range


class Surprise(Part):
    title = "Surprise and entropy"
    sim = EntropySim
    controls = (
        "source",
        "in_bits",
        "lr",
        "batch_size",
        "weight_1",
        "weight_2",
        "weight_3",
        "weight_4",
        "weight_5",
        "weight_6",
        "seed",
    )
    readouts = ("entropy", "cross_entropy", "gap", "max_error")
    speed = 1
    loss_label = "batch surprise (nats)"

    def plots(self):
        self.bars = new_figure(
            "Surprise of each outcome",
            "outcome",
            "surprise −log p",
            x_range=list(DIE),
            tools="save",
        )
        belief = self.source("belief", surprise=[], outcome=[])  # the column that moves first
        truth = self.source("truth", outcome=[], surprise=[], label=[])
        self.bars.vbar(
            "outcome",
            top="surprise",
            width=0.7,
            source=truth,
            color=SEEN,
            legend_label="−log p, the source",
        )
        self.bars.scatter(
            "outcome",
            "surprise",
            source=belief,
            size=14,
            marker="dash",
            line_width=4,
            color=VIEW_B,
            legend_label="−log q, the predictor",
        )
        self.bars.text(
            "outcome",
            "surprise",
            text="label",
            source=truth,
            angle=np.pi / 2,  # up the bar, ending just under its top
            text_align="right",
            text_baseline="middle",
            y_offset=6,
            text_font_size="9pt",
        )
        self.bars.y_range = Range1d(0, 7)
        legend_below(self.bars)

        curve, self.steps = step_figure("Average surprise, exactly", "nats")
        self.curve = curve
        history = self.source("history", step=[], cross_entropy=[])
        curve.line(
            "step",
            "cross_entropy",
            source=history,
            color=VIEW_B,
            line_width=2,
            legend_label="cross-entropy H(p, q)",
        )
        self.reference(curve, "entropy", label="", below=True, line_color=LIMIT)
        legend_below(curve)
        return [self.bars, curve]

    def draw(self, frame):
        snapshot, name = frame.snapshot, unit(frame)
        outcomes = snapshot["outcomes"]
        if list(self.bars.x_range.factors) != list(outcomes):
            self.bars.x_range.factors = list(outcomes)
        top = 10.0 if name == "bits" else 7.0
        if self.bars.y_range.end != top:
            self.bars.y_range.end = top
        surprise = snapshot["surprise"]
        never = ~np.isfinite(surprise)
        self.fill("belief", outcome=outcomes, surprise=np.minimum(snapshot["model_surprise"], top))
        self.fill(
            "truth",
            outcome=outcomes,
            surprise=np.where(never, 0.92 * top, surprise),
            label=np.where(never, NEVER, ""),
        )
        history = snapshot["history"]
        self.fill("history", step=history[:, 0], cross_entropy=history[:, 1])
        follow(self.steps, history[:, 0], minimum=100.0)
        self.curve.yaxis.axis_label = name
        self.bars.yaxis.axis_label = f"surprise −log p ({name})"
        self.mark("entropy", frame.measured.get("entropy"), f"entropy H(p) = {{:.3f}} {name}")


class Directions(Part):
    title = "KL has a direction"
    sim = KLSim
    controls = (
        "direction",
        "gap",
        "left_weight",
        "in_bits",
        "mode_width",
        "start_mean",
        "lr",
        "batch_size",
        "seed",
    )
    readouts = ("kl_forward", "kl_reverse", "q_mean", "p_mean", "q_std", "p_std")
    speed = 5
    loss_label = "KL, batch estimate (nats)"

    def plots(self):
        densities = new_figure(
            "The mixture p and the Gaussian q", "x", "density", x_range=(-10, 10), y_range=(0, 0.45)
        )
        q = self.source("q", density=[], x=[])
        p = self.source("p", x=[], density=[])
        densities.varea(
            "x", y1=0, y2="density", source=p, color=SEEN, alpha=0.5, legend_label="p (two modes)"
        )
        densities.line(
            "x", "density", source=q, color=VIEW_B, line_width=3, legend_label="q (one Gaussian)"
        )
        legend_below(densities)

        curve, self.steps = step_figure("Both divergences, exactly", "nats")
        self.curve = curve
        history = self.source("kl", step=[], forward=[], reverse=[])
        curve.line(
            "step", "forward", source=history, color=VIEW_A, line_width=2, legend_label="KL(p ‖ q)"
        )
        curve.line(
            "step",
            "reverse",
            source=history,
            color=HIDDEN,
            line_width=2,
            line_dash="dashed",
            legend_label="KL(q ‖ p)",
        )
        legend_below(curve)
        return [densities, curve]

    def draw(self, frame):
        snapshot = frame.snapshot
        self.fill("q", x=snapshot["x"], density=snapshot["q"])
        self.fill("p", x=snapshot["x"], density=snapshot["p"])
        history = snapshot["history"]
        self.fill("kl", step=history[:, 0], forward=history[:, 1], reverse=history[:, 2])
        follow(self.steps, history[:, 0], minimum=100.0)
        self.curve.yaxis.axis_label = unit(frame)


class Channel(Part):
    title = "Mutual information is what a channel carries"
    sim = ChannelSim
    controls = ("kind", "error", "symbols", "in_bits", "lr", "seed")
    readouts = ("h_x", "h_y", "h_x_given_y", "h_y_given_x", "mi", "capacity", "capacity_gap")
    speed = 1
    loss_label = "loss: −I(X;Y) (nats)"

    def plots(self):
        sender = new_figure(
            "What the sender sends, p(x)",
            "symbol x",
            "probability",
            x_range=[str(i) for i in range(6)],
            y_range=(0, 1.05),
            tools="save",
        )
        inputs = self.source("input", probability=[], symbol=[])
        best = self.source("best", symbol=[], probability=[])
        sender.vbar(
            "symbol",
            top="probability",
            width=0.7,
            source=inputs,
            color=VIEW_A,
            legend_label="learned p(x)",
        )
        sender.scatter(
            "symbol",
            "probability",
            source=best,
            marker="dash",
            size=26,
            line_width=4,
            color=LIMIT,
            legend_label="capacity-achieving p(x)",
        )
        legend_below(sender)
        self.sender = sender

        self.budget = new_figure(
            "Entropies and the information carried",
            "",
            "nats",
            x_range=list(TERM_LABELS),
            tools="save",
        )
        self.budget.y_range = Range1d(0, 1.0)
        terms = self.source("terms", term=[], value=[], color=[])
        self.budget.vbar("term", top="value", width=0.65, color="color", source=terms)
        self.reference(self.budget, "capacity", label="", line_color=LIMIT)
        _, label = self.references["capacity"]
        label.update(background_fill_color="#ffffff", background_fill_alpha=0.8)  # over a bar
        return [sender, self.budget]

    def draw(self, frame):
        snapshot, name = frame.snapshot, unit(frame)
        symbols = [str(i) for i in range(len(snapshot["input"]))]
        if list(self.sender.x_range.factors) != symbols:
            self.sender.x_range.factors = symbols
        self.fill("input", symbol=np.array(symbols), probability=snapshot["input"])
        self.fill("best", symbol=np.array(symbols), probability=snapshot["best_input"])
        terms = snapshot["terms"]
        self.fill("terms", term=np.array(TERM_LABELS), value=terms, color=TERM_COLOURS)
        top = 1.1 * float(max(terms.max(), 1e-3))  # grows to fit, never shrinks mid-run
        if top > self.budget.y_range.end or frame.step == 0:
            self.budget.y_range.end = top
        self.budget.yaxis.axis_label = name
        self.mark("capacity", frame.measured.get("capacity"), f"capacity C = {{:.3f}} {name}")


class InfoMax(Part):
    title = "Linsker's InfoMax: units that share an input"
    sim = InfoMaxSim
    controls = ("noise", "correlation", "units", "stage", "in_bits", "lr", "seed")
    readouts = (
        "mi",
        "mi_optimum",
        "mi_stage",
        "abs_cos",
        "predicted_cos",
        "top_axis_cos",
        "critical_noise",
    )
    speed = 2
    loss_label = "loss: −I(x; y) (nats)"

    def plots(self):
        cloud = square_figure("The input and each unit's weights", "x₁", "x₂", 3.5)
        tips = self.source("tips", x=[], y=[], color=[], unit=[])
        arrows = self.source("arrows", x0=[], y0=[], x1=[], y1=[], color=[])
        points = self.source("points", x=[], y=[])
        axes = self.source("axes", x0=[], y0=[], x1=[], y1=[])
        cloud.scatter(
            "x", "y", source=points, size=3, alpha=0.35, color="#777777", legend_label="input x"
        )
        cloud.segment(
            "x0",
            "y0",
            "x1",
            "y1",
            source=axes,
            color="#000000",
            line_dash="dashed",
            line_width=1.5,
            legend_label="principal axes",
        )
        cloud.segment("x0", "y0", "x1", "y1", source=arrows, color="color", line_width=4)
        cloud.scatter("x", "y", source=tips, size=11, color="color", legend_label="weights")
        cloud.text("x", "y", text="unit", source=tips, x_offset=8, text_font_size="10pt")
        legend_below(cloud)

        curve, self.steps = step_figure("What the units keep, I(x; y)", "nats")
        self.curve = curve
        history = self.source("history", step=[], mi=[])
        curve.line("step", "mi", source=history, color=VIEW_A, line_width=2, legend_label="I(x; y)")
        self.reference(curve, "optimum", label="", below=True, line_color=LIMIT)
        self.reference(curve, "staged", label="", line_color="#009E73", line_dash="dotted")
        legend_below(curve)
        return [cloud, curve]

    def draw(self, frame):
        snapshot, measured, name = frame.snapshot, frame.measured, unit(frame)
        w = snapshot["weights"] * ARROW
        m = len(w)
        colours = np.array([VIEW_B, VIEW_A, HIDDEN, "#009E73"][:m])
        self.fill("arrows", x0=np.zeros(m), y0=np.zeros(m), x1=w[:, 0], y1=w[:, 1], color=colours)
        self.fill(
            "tips",
            x=w[:, 0],
            y=w[:, 1],
            color=colours,
            unit=np.array([f"w{i + 1}" for i in range(m)]),
        )
        pts = snapshot["points"]
        self.fill("points", x=pts[:, 0], y=pts[:, 1])
        axes = snapshot["axes"]
        self.fill("axes", x0=-axes[:, 0], y0=-axes[:, 1], x1=axes[:, 0], y1=axes[:, 1])
        history = snapshot["history"]
        self.fill("history", step=history[:, 0], mi=history[:, 1])
        follow(self.steps, history[:, 0], minimum=100.0)
        self.curve.yaxis.axis_label = name
        self.mark("optimum", measured.get("mi_optimum"), f"best possible = {{:.3f}} {name}")
        staged = measured.get("mi_stage") if measured.get("stage_on") else None  # no stage: no line
        self.mark("staged", staged, f"after the stage = {{:.3f}} {name}")


class InformationChapter(Chapter):
    slug = "information"
    order = 3
    parts = (Surprise, Directions, Channel, InfoMax)
