"""Chapter 2: the laziest way to agree, and the variance floor that forbids it."""

from __future__ import annotations

import numpy as np
from bokeh.models import Legend, LegendItem

from course.engine.chapter import Chapter, new_figure, square_figure
from course.theme import CATEGORICAL
from sims.collapse import CollapseSim

N_CLUSTERS = 4  # sims.data.cluster_inputs' default


class CollapseChapter(Chapter):
    slug = "collapse"
    order = 2
    sim = CollapseSim
    controls = (
        "variance_floor",
        "floor",
        "floor_weight",
        "lr",
        "weight_decay",
        "view_noise",
        "dim",
        "seed",
    )
    readouts = (
        "agreement",
        "spread",
        "spread_ratio",
        "min_spread_over_floor",
        "effective_rank",
    )
    speed = 2

    def plots(self):
        cloud = square_figure(
            "Embeddings of every input", "embedding dimension 1", "embedding dimension 2", 3.5
        )
        points = self.source("cloud", x=[], y=[], color=[])
        renderer = cloud.scatter(
            "x",
            "y",
            source=points,
            color="color",
            size=7,
            alpha=0.8,
            line_color="#222222",
            line_width=0.3,
        )
        # A fixed legend: input i belongs to cluster i % 4, so point i shows cluster i's colour.
        # (A legend grouped from the data would be rebuilt by the browser on every frame.)
        items = [
            LegendItem(label=f"cluster {i + 1}", renderers=[renderer], index=i)
            for i in range(N_CLUSTERS)
        ]
        cloud.add_layout(
            Legend(
                items=items,
                title="input cluster (never used in training)",
                orientation="horizontal",
            ),
            "below",
        )

        meter = new_figure(
            "Collapse meter: spread of each dimension",
            "embedding dimension",
            "standard deviation",
            x_range=(0.4, 8.6),
            y_range=(0, 2.6),
            tools="save",
        )
        bars = self.source("spread", dim=[], std=[])
        meter.vbar("dim", top="std", width=0.7, source=bars, color="#009E73")
        self.reference(meter, "floor-line", line_color="#D55E00")
        meter.xaxis.ticker = list(range(1, 9))
        return [cloud, meter]

    def draw(self, frame):
        snapshot = frame.snapshot
        z, labels = snapshot["z"], snapshot["labels"]
        colours = np.array([CATEGORICAL[i % len(CATEGORICAL)] for i in labels])
        self.fill("cloud", x=z[:, 0], y=z[:, 1], color=colours)
        std = snapshot["spread"]
        self.fill("spread", dim=np.arange(1, len(std) + 1), std=std)
        self.mark("floor-line", float(snapshot["floor"][0]))  # NaN while the floor is off
