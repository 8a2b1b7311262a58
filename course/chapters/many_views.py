"""Chapter 7: more than two views. The core view against the full graph, and a sweep of how far
apart two views should be."""

from __future__ import annotations

import numpy as np
from bokeh.layouts import column, row
from bokeh.models import ColorBar, FactorRange, LinearColorMapper

from course.chapters.contrastive import BOUND, CEILING, CEILING_TEXT, DIGIT_COLOURS
from course.engine.chapter import Chapter, Part, follow, legend_below, new_figure
from course.theme import VIRIDIS
from sims.many_views_distance import ManyViewsDistanceSim
from sims.many_views_graph import FACTOR_NAMES, ManyViewsGraphSim

MAX_VIEWS = int(ManyViewsGraphSim.param["views"].bounds[1])
VIEW_NAMES = [f"V{i}" for i in range(1, MAX_VIEWS + 1)]
NO_COLOURS = np.array([], dtype=object)  # an empty colour column (an empty float array is not one)
PROBE = "#009E73"  # green: the probe on the task factor
SHARED, HIDDEN_FACTOR = "#0072B2", "#D55E00"  # the factor all views see, the one V1 cannot


def class_colours(classes: np.ndarray) -> np.ndarray:
    return np.array([DIGIT_COLOURS[int(c) % len(DIGIT_COLOURS)] for c in classes])


def code_figure(title: str, size: int):
    """A small fixed-size plot of 2-D codes, its axes fitted to them."""
    fig = new_figure(
        title,
        "direction 1",
        "direction 2",
        frame_width=size,
        frame_height=size,
        width=None,
        height=None,
        sizing_mode="fixed",
        tools="save",
    )
    fig.xaxis.visible = fig.yaxis.visible = False
    return fig


class CoreOrFull(Part):
    title = "Core view or full graph"
    sim = ManyViewsGraphSim
    key = ("objective", "views", "tau", "colour_factor")
    controls = (
        "objective",
        "views",
        "colour_factor",
        "tau",
        "nuisance",
        "code_dim",
        "lr",
        "k",
        "hidden",
        "probe_every",
        "seed",
    )
    readouts = (
        "all_factor_min",
        "rest_factor_min_others",
        "raw_v1_rest",
        "rest_untrained_others",
        "chance",
        "n_terms",
        "loss_per_term",
        "step_ms",
    )
    speed = 5
    loss_label = "loss (training batch)"

    def plots(self):
        # First: view 1's codes, which move as the encoders train.
        views = []
        for name in VIEW_NAMES:
            fig = code_figure(f"{name}'s codes" if name != "V4" else "V4 (with 4 views)", 150)
            fig.scatter(
                "x",
                "y",
                source=self.source(f"{name}_codes", x=[], y=[], colour=NO_COLOURS),
                color="colour",
                size=4,
                alpha=0.7,
            )
            views.append(fig)

        mapper = LinearColorMapper(palette=VIRIDIS, low=0.0, high=1.0)
        grid = new_figure(
            "Probe: each view's code → each factor",
            "factor",
            "code of view",
            x_range=FactorRange(*FACTOR_NAMES),
            y_range=FactorRange(*reversed(VIEW_NAMES)),
            width=330,
            height=260,
            sizing_mode="fixed",
            tools="save",
        )
        cells = self.source("grid", view=[], factor=[], score=[], text=[], ink=[])
        grid.rect(
            "factor",
            "view",
            0.95,
            0.95,
            source=cells,
            fill_color={"field": "score", "transform": mapper},
            line_color=None,
        )
        grid.text(
            "factor",
            "view",
            text="text",
            source=cells,
            text_color="ink",
            text_align="center",
            text_baseline="middle",
            text_font_size="11pt",
        )
        grid.add_layout(ColorBar(color_mapper=mapper, width=8, title="accuracy"), "right")
        grid.xgrid.visible = grid.ygrid.visible = False

        history = new_figure(
            "Worst view, over training",
            "training step",
            "accuracy (%)",
            x_range=(0, 200),
            y_range=(0, 105),
            height=260,
            tools="save",
        )
        self.steps = history.x_range
        worst = self.source("worst", step=[], shared=[], hidden=[])
        history.line(
            "step",
            "shared",
            source=worst,
            color=SHARED,
            line_width=2,
            legend_label="shared by all, worst view",
        )
        history.line(
            "step",
            "hidden",
            source=worst,
            color=HIDDEN_FACTOR,
            line_width=2,
            legend_label="not seen by V1, worst of V2…",
        )
        self.reference(
            history, "chance", label="", line_color="#666666", line_dash="dotted", below=True
        )
        legend_below(history)
        return [
            column(
                row(grid, history, sizing_mode="stretch_width"),
                row(*views),
                sizing_mode="stretch_width",
            )
        ]

    def draw(self, frame):
        snapshot, measured = frame.snapshot, frame.measured
        xy, colours = snapshot["xy"], class_colours(snapshot["colour_by"])  # (M, N, 2)
        for i, name in enumerate(VIEW_NAMES):
            shown = i < len(xy)
            self.fill(
                f"{name}_codes",
                x=xy[i, :, 0] if shown else np.zeros(0),
                y=xy[i, :, 1] if shown else np.zeros(0),
                colour=colours if shown else NO_COLOURS,
            )
        grid = snapshot["grid"]  # (M, 2)
        views, factors = np.meshgrid(
            snapshot["view_names"], snapshot["factor_names"], indexing="ij"
        )
        scores = grid.ravel()
        self.fill(
            "grid",
            view=views.ravel(),
            factor=factors.ravel(),
            score=scores,
            text=np.array([f"{s:.0%}" for s in scores]),
            ink=np.where(scores > 0.6, "#000000", "#ffffff"),
        )
        probe = snapshot["probe_history"]  # (n, 3): step, worst shared, worst hidden
        self.fill("worst", step=probe[:, 0], shared=100 * probe[:, 1], hidden=100 * probe[:, 2])
        follow(self.steps, probe[:, 0])
        chance = measured.get("chance")
        self.mark("chance", None if chance is None else 100 * chance, "chance: {:.1f}%")


class HowFarApart(Part):
    title = "How far apart should two views be?"
    sim = ManyViewsDistanceSim
    controls = ("points", "steps_per_point", "code_dim", "n_classes", "tau", "lr", "seed")
    readouts = (
        "distance",
        "point",
        "bound",
        "probe",
        "nuisance_r2",
        "best_distance",
        "best_probe",
        "probe_at_0",
    )
    speed = 10
    loss_label = "loss (training batch)"

    def plots(self):
        # First: view 1's codes at the current distance, which move as it trains.
        codes = code_figure("View 1's codes at the current distance", 300)
        codes.scatter(
            "x",
            "y",
            source=self.source("codes", x=[], y=[], colour=[]),
            color="colour",
            size=5,
            alpha=0.75,
        )

        bound = new_figure(
            "Bound on held-out pairs, one run per distance",
            "distance between the views",
            "nats",
            x_range=(-0.03, 1.03),
            y_range=(-0.2, 5.2),
            height=230,
            tools="save",
        )
        done = self.source("curve", distance=[], bound=[], probe=[])
        now = self.source("now", distance=[], bound=[], probe=[])
        bound.line("distance", "bound", source=done, color=BOUND, line_width=2)
        bound.scatter("distance", "bound", source=done, color=BOUND, size=7)
        bound.scatter(
            "distance", "bound", source=now, color=BOUND, size=11, fill_alpha=0, line_width=2
        )
        self.reference(bound, "distance-ceiling", label="", line_color=CEILING, below=True)

        probe = new_figure(
            "Linear probe on the task, view 1's codes",
            "distance between the views",
            "accuracy (%)",
            x_range=bound.x_range,
            y_range=(0, 105),
            height=230,
            tools="save",
        )
        probe.line("distance", "probe", source=done, color=PROBE, line_width=2)
        probe.scatter(
            "distance",
            "probe",
            source=done,
            color=PROBE,
            size=7,
            legend_label="one run per distance",
        )
        probe.scatter(
            "distance",
            "probe",
            source=now,
            color=PROBE,
            size=11,
            fill_alpha=0,
            line_width=2,
            legend_label="the run in progress",
        )
        self.reference(
            probe, "task-chance", label="", line_color="#666666", line_dash="dotted", below=True
        )
        legend_below(probe)
        return [
            row(
                codes,
                column(bound, probe, sizing_mode="stretch_width"),
                sizing_mode="stretch_width",
            )
        ]

    def draw(self, frame):
        snapshot, measured = frame.snapshot, frame.measured
        xy = snapshot["xy"]
        self.fill("codes", x=xy[:, 0], y=xy[:, 1], colour=class_colours(snapshot["labels"]))
        for name, key in (("curve", "curve"), ("now", "current")):
            rows = snapshot[key]  # (n, 3): distance, bound, probe
            self.fill(name, distance=rows[:, 0], bound=rows[:, 1], probe=100 * rows[:, 2])
        self.mark("distance-ceiling", measured.get("ceiling"), CEILING_TEXT)
        chance = measured.get("chance")
        self.mark("task-chance", None if chance is None else 100 * chance, "chance: {:.0f}%")


class ManyViewsChapter(Chapter):
    slug = "many-views"
    order = 7
    parts = (CoreOrFull, HowFarApart)
