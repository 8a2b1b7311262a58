"""The last chapter: mutual information is not enough. Invertible encoders whose MI cannot
move, three critics of growing capacity, and InfoNCE taken apart into alignment and uniformity."""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import FactorRange, LabelSet

from course.chapters.contrastive import (
    BOUND,
    CEILING,
    CEILING_TEXT,
    RAW_TEXT,
    UNTRAINED_TEXT,
    digit_figure,
    fill_digits,
    probe_line,
    round_figure,
)
from course.engine.chapter import Chapter, Part, follow, legend_below, new_figure
from course.theme import CATEGORICAL
from sims.beyond_alignment import BeyondAlignmentSim
from sims.beyond_critics import CRITICS, NAMES, BeyondCriticsSim
from sims.beyond_invertible import BeyondInvertibleSim

TRUTH = "#000000"  # the true MI: black, as in the estimators chapter
HELD_OUT = "#009E73"  # green: estimates on digits never trained on
CRITIC_COLOURS = {"bilinear": "#0072B2", "separable": "#E69F00", "joint": "#D55E00"}
RUN_DASH = {"infonce": "solid", "direct": "dashed"}
CRITIC_NAMES = [NAMES[c] for c in CRITICS]


def steps_figure(title: str, y_label: str, **kwargs):
    """A curve over training steps, its step axis stretched by ``follow``."""
    return new_figure(title, "training step", y_label, x_range=(0, 200), tools="save", **kwargs)


class InvertibleEncoders(Part):
    title = "Invertible encoders: the information cannot change"
    sim = BeyondInvertibleSim
    controls = (
        "adversarial",
        "adversary_weight",
        "lr",
        "k",
        "n_coupling",
        "hidden",
        "probe_every",
        "seed",
    )
    readouts = (
        "true_mi",
        "estimate",
        "train_estimate",
        "ceiling",
        "probe_accuracy",
        "raw_accuracy",
        "condition_number",
        "reconstruction_error",
    )
    speed = 5
    loss_label = "loss (training batch)"

    def plots(self):
        # First: the codes move as the encoders train.
        codes = digit_figure(
            self, "codes", "Top-half codes g₁(x₁) of 300 held-out digits", extent=None
        )
        estimates = steps_figure("InfoNCE estimate against the true MI", "nats", y_range=(-1, 9))
        train = self.source("train_estimate", step=[], estimate=[])
        held = self.source("heldout_estimate", step=[], estimate=[])
        estimates.line(
            "step", "estimate", source=train, color=BOUND, line_width=2, legend_label="training"
        )
        estimates.line("step", "estimate", source=held, color=HELD_OUT, line_width=2)
        estimates.scatter(
            "step", "estimate", source=held, color=HELD_OUT, size=6, legend_label="held-out"
        )
        self.reference(estimates, "true-mi", label="", line_color=TRUTH, line_dash="solid")
        self.reference(estimates, "inv-ceiling", label="", line_color=CEILING, below=True)
        legend_below(estimates)
        self.steps = estimates.x_range

        probe = steps_figure("Linear probe on held-out digits", "accuracy (%)", y_range=(0, 100))
        probe.x_range = self.steps
        history = self.source("probe", step=[], accuracy=[])
        probe.line("step", "accuracy", source=history, color=BOUND, line_width=2)
        probe.scatter("step", "accuracy", source=history, color=BOUND, size=6)
        self.reference(probe, "inv-raw-probe", label="", line_color=CEILING, below=True)

        smooth = steps_figure(
            "How far from smooth: the Jacobian's condition number",
            "σ_max / σ_min (median)",
            y_axis_type="log",
            y_range=(1, 1e6),
        )
        smooth.x_range = self.steps
        cond = self.source("condition", step=[], condition=[])
        smooth.line("step", "condition", source=cond, color="#CC79A7", line_width=2)
        smooth.scatter("step", "condition", source=cond, color="#CC79A7", size=6)
        for fig in (estimates, probe, smooth):
            fig.height = 230
        return [
            row(
                codes,
                column(estimates, probe, smooth, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            )
        ]

    def draw(self, frame):
        snapshot, measured = frame.snapshot, frame.measured
        fill_digits(self, "codes", snapshot["xy"], snapshot["labels"])
        train, held = snapshot["estimate_history"], snapshot["heldout_history"]
        self.fill("train_estimate", step=train[:, 0], estimate=train[:, 1])
        self.fill("heldout_estimate", step=held[:, 0], estimate=held[:, 1])
        probe = snapshot["probe_history"]  # (m, 3): step, accuracy, condition number
        self.fill("probe", step=probe[:, 0], accuracy=100 * probe[:, 1])
        self.fill("condition", step=probe[:, 0], condition=probe[:, 2])
        follow(self.steps, np.concatenate([train[:, 0], probe[:, 0]]))
        text = "true I(X₁; X₂) = {:.2f} nats, at every step"
        self.mark("true-mi", measured.get("true_mi"), text)
        self.mark("inv-ceiling", measured.get("ceiling"), CEILING_TEXT)
        probe_line(self, "inv-raw-probe", measured, "raw_accuracy", RAW_TEXT)


class BiggerCritics(Part):
    title = "A bigger critic is not a better teacher"
    sim = BeyondCriticsSim
    controls = ("code_dim", "critic_hidden", "k", "pixel_noise", "lr", "probe_every", "seed")
    readouts = (
        *(f"estimate_{c}" for c in CRITICS),
        *(f"probe_{c}" for c in CRITICS),
        "raw_accuracy",
        "untrained_accuracy",
        "ceiling",
    )
    speed = 5
    loss_label = "InfoNCE loss (mean of 3)"

    def plots(self):
        # First: the held-out estimates, which move with every frame.
        now = self.source("now", estimate=[], critic=[], colour=[], label=[])
        bars = new_figure(
            "Now, on held-out digits",
            "critic",
            "InfoNCE estimate (nats)",
            x_range=FactorRange(*CRITIC_NAMES),
            y_range=(0, 5.5),
            tools="save",
            width=260,
            sizing_mode="fixed",
            height=480,
        )
        bars.vbar(x="critic", top="estimate", source=now, width=0.7, color="colour")
        bars.add_layout(
            LabelSet(
                x="critic",
                y="estimate",
                text="label",
                source=now,
                text_align="center",
                y_offset=4,
                text_font_size="9pt",
            )
        )
        self.reference(bars, "critic-ceiling", label="", line_color=CEILING)

        estimates = steps_figure("InfoNCE estimate (training batches)", "nats", y_range=(0, 5))
        self.steps = estimates.x_range
        history = self.source("estimates", step=[], **{c: [] for c in CRITICS})
        probe = steps_figure("Linear probe on held-out digits", "accuracy (%)", y_range=(50, 100))
        probe.x_range = self.steps
        probes = self.source("probes", step=[], **{c: [] for c in CRITICS})
        for critic in CRITICS:
            style = {"color": CRITIC_COLOURS[critic], "line_width": 2}
            estimates.line("step", critic, source=history, legend_label=NAMES[critic], **style)
            probe.line("step", critic, source=probes, **style)
            probe.scatter("step", critic, source=probes, color=CRITIC_COLOURS[critic], size=5)
        legend_below(estimates)
        # The raw-pixel line sits above the untrained one: its label above, the other's below.
        self.reference(probe, "critic-raw-probe", label="", line_color=CEILING)
        self.reference(
            probe,
            "critic-untrained",
            label="",
            below=True,
            line_color="#666666",
            line_dash="dotted",
        )
        for fig in (estimates, probe):
            fig.height = 240
        return [
            row(
                bars,
                column(estimates, probe, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            )
        ]

    def draw(self, frame):
        snapshot, measured = frame.snapshot, frame.measured
        estimate = np.array([measured.get(f"estimate_{c}", np.nan) for c in CRITICS])
        probe = [measured.get(f"probe_{c}") for c in CRITICS]
        self.fill(
            "now",
            estimate=estimate,
            critic=np.array(CRITIC_NAMES),
            colour=np.array([CRITIC_COLOURS[c] for c in CRITICS]),
            label=np.array(["" if p is None else f"probe {p:.0%}" for p in probe]),
        )
        history, probes = snapshot["estimate_history"], snapshot["probe_history"]
        self.fill(
            "estimates", step=history[:, 0], **{c: history[:, i + 1] for i, c in enumerate(CRITICS)}
        )
        self.fill(
            "probes",
            step=probes[:, 0],
            **{c: 100 * probes[:, i + 1] for i, c in enumerate(CRITICS)},
        )
        follow(self.steps, np.concatenate([history[:, 0], probes[:, 0]]))
        self.mark("critic-ceiling", measured.get("ceiling"), CEILING_TEXT)
        probe_line(self, "critic-raw-probe", measured, "raw_accuracy", RAW_TEXT)
        probe_line(self, "critic-untrained", measured, "untrained_accuracy", UNTRAINED_TEXT)


class AlignmentAndUniformity(Part):
    title = "Alignment and uniformity"
    sim = BeyondAlignmentSim
    controls = (
        "lam",
        "w_align",
        "t",
        "tau",
        "infonce",
        "lr",
        "k",
        "view_noise",
        "nuisance",
        "n_clusters",
        "hidden",
        "seed",
    )
    readouts = (
        "align_infonce",
        "align_direct",
        "unif_infonce",
        "unif_direct",
        "probe_infonce",
        "probe_direct",
        "unif_even",
    )
    speed = 5
    loss_label = "InfoNCE loss (training batch)"

    def plots(self):
        circles = []
        for run, title in (
            ("infonce", "InfoNCE"),
            ("direct", "Direct: w·align + λ·uniform"),
        ):
            fig = round_figure(title, "code 1", "code 2", 1.25, 290, "#aaaaaa")
            pairs = self.source(f"{run}_codes", x=[], y=[], x2=[], y2=[], color=[])
            fig.segment("x", "y", "x2", "y2", source=pairs, color="#999999", alpha=0.5)
            fig.scatter("x", "y", source=pairs, color="color", size=6, alpha=0.8)
            circles.append(fig)

        align = steps_figure("Alignment (lower: the views agree)", "E‖z₁ − z₂‖²")
        self.steps = align.x_range
        unif = steps_figure("Uniformity, t = 2 (lower: more spread)", "uniformity")
        unif.x_range = self.steps
        terms = self.source(
            "terms", step=[], **{f"{k}_{r}": [] for k in ("align", "unif") for r in RUN_DASH}
        )
        for run, dash in RUN_DASH.items():
            name = "InfoNCE" if run == "infonce" else "direct"
            style = {"color": BOUND, "line_width": 2, "line_dash": dash, "legend_label": name}
            align.line("step", f"align_{run}", source=terms, **style)
            unif.line("step", f"unif_{run}", source=terms, **style)
        self.reference(unif, "even", label="", line_color=CEILING, below=True)
        legend_below(align)
        unif.legend.visible = False  # one legend, under the alignment plot, serves both
        unif.y_range.start, unif.y_range.end = -1.7, 0.05
        for fig in (align, unif):
            fig.height = 220
        return [
            column(
                row(*circles),
                row(align, unif, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            )
        ]

    def draw(self, frame):
        snapshot, measured = frame.snapshot, frame.measured
        colours = np.array([CATEGORICAL[i % len(CATEGORICAL)] for i in snapshot["labels"]])
        for run in RUN_DASH:
            xy, xy2 = snapshot[f"{run}_xy"], snapshot[f"{run}_xy2"]
            self.fill(
                f"{run}_codes", x=xy[:, 0], y=xy[:, 1], x2=xy2[:, 0], y2=xy2[:, 1], color=colours
            )
        terms = snapshot["terms_history"]  # (m, 5): step, align / unif of InfoNCE, then direct
        self.fill(
            "terms",
            step=terms[:, 0],
            align_infonce=terms[:, 1],
            unif_infonce=terms[:, 2],
            align_direct=terms[:, 3],
            unif_direct=terms[:, 4],
        )
        follow(self.steps, terms[:, 0])
        self.mark("even", measured.get("unif_even"), "300 evenly spaced points: {:.3f}")


class BeyondMIChapter(Chapter):
    slug = "beyond-mi"
    order = 10
    parts = (InvertibleEncoders, BiggerCritics, AlignmentAndUniformity)
