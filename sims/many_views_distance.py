"""What makes two views good: a sweep of the distance between them, and the InfoMin sweet spot.

Tian et al., "What makes for good views for contrastive learning?" (NeurIPS 2020): views that
share too much let the encoders match on whatever is easiest, views that share too little leave
nothing to learn; the best views share the task and little else.

Each synthetic scene has a label (the task, one of a few classes), a background (a nuisance: a
strong 4-D signal that says nothing about the label) and private noise; each view is its own
fixed random nonlinear lift of them. A distance d in [0, 1] sets what view 2 shares: over the
first half, its background drifts from the scene's into a fresh one; over the second half, its
label is swapped for a random one more and more often. Small codes on the unit sphere, trained
with InfoNCE, match on the background while it is shared, on the label once only the label is,
and on nothing at the far end. The sim runs the whole sweep: one short training run per
distance, each from the same initial encoders and the same stream of scenes.
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from models.contrastive import cmc_loss, normalise
from models.encoders import mlp
from models.metrics import lda_probe, linear_fit_r2, procrustes
from sims import params as shared
from sims.base import (
    Choice,
    Expect,
    History,
    Metric,
    Prediction,
    Preset,
    Scenario,
    Sim,
    Verdict,
    to_numpy,
)

LABEL_DIM, NUISANCE_DIM, NOISE_DIM = 4, 4, 4  # the three parts of a scene, before the lift
INPUT_DIM, HIDDEN = 24, 32  # each view's size, and the hidden units of each encoder
LABEL_SCALE, NUISANCE_SCALE, NOISE_SCALE = 1.0, 2.0, 1.0  # the background is the loudest part
NUISANCE_GONE, LABEL_FADES = 0.5, 0.5  # distances: background fully fresh; label starts to go
BATCH = 128  # scenes per training step: each anchor picks its pair out of K = 128 candidates
N_HELD_OUT = 1024  # scenes never trained on: the bound is scored on all, the probe on halves
N_SHOWN = 300  # held-out scenes drawn in the snapshot
MONOTONE_TOLERANCE = 0.05  # nats a recorded bound may rise from one distance to the next


def sharing(distance: float) -> tuple[float, float]:
    """What view 2 shares with the scene at ``distance`` in [0, 1]: the correlation of its
    background with the scene's (1 up to 0, 0 from 0.5 on) and the chance that it keeps the
    scene's label (1 up to 0.5, 0 at 1), so the views share everything at 0 and nothing at 1."""
    d = min(max(float(distance), 0.0), 1.0)
    corr = math.cos(0.5 * math.pi * min(d / NUISANCE_GONE, 1.0))
    keep = min(1.0, (1.0 - d) / (1.0 - LABEL_FADES))
    return corr, keep


@dataclass(frozen=True)
class Scenes:
    """A batch of n scenes: everything both views are made from, drawn before the distance is
    known, so every distance sees the same scenes (and the same coin flips)."""

    label: torch.Tensor  # (n,) int64, the task
    fresh_label: torch.Tensor  # (n,) int64, what view 2 may carry instead
    coin: torch.Tensor  # (n,) uniform in [0, 1): view 2 keeps the label when coin < keep
    nuisance: torch.Tensor  # (n, NUISANCE_DIM) the scene's background
    fresh_nuisance: torch.Tensor  # (n, NUISANCE_DIM) view 2's own background
    noise1: torch.Tensor  # (n, NOISE_DIM) private to view 1
    noise2: torch.Tensor  # (n, NOISE_DIM) private to view 2

    @classmethod
    def draw(cls, n: int, n_classes: int, generator: torch.Generator) -> Scenes:
        g = generator
        return cls(
            label=torch.randint(n_classes, (n,), generator=g),
            fresh_label=torch.randint(n_classes, (n,), generator=g),
            coin=torch.rand(n, generator=g),
            nuisance=torch.randn(n, NUISANCE_DIM, generator=g),
            fresh_nuisance=torch.randn(n, NUISANCE_DIM, generator=g),
            noise1=torch.randn(n, NOISE_DIM, generator=g),
            noise2=torch.randn(n, NOISE_DIM, generator=g),
        )


class ViewMaker:
    """The two fixed lifts: view = tanh([label code, background, private noise] @ lift), one
    lift per view, and one code vector (of length LABEL_DIM) per class."""

    def __init__(self, n_classes: int, generator: torch.Generator) -> None:
        g = generator
        codes = torch.randn(n_classes, LABEL_DIM, generator=g)
        self.label_codes = codes / codes.norm(dim=1, keepdim=True) * math.sqrt(LABEL_DIM)
        width = LABEL_DIM + NUISANCE_DIM + NOISE_DIM
        self.lift1 = torch.randn(width, INPUT_DIM, generator=g) / math.sqrt(width)
        self.lift2 = torch.randn(width, INPUT_DIM, generator=g) / math.sqrt(width)

    def _lift(
        self, label: torch.Tensor, nuisance: torch.Tensor, noise: torch.Tensor, lift: torch.Tensor
    ) -> torch.Tensor:
        """tanh of the scaled parts through ``lift``: label (n,), nuisance and noise (n, 4)."""
        parts = [
            LABEL_SCALE * self.label_codes[label],
            NUISANCE_SCALE * nuisance,
            NOISE_SCALE * noise,
        ]
        return torch.tanh(torch.cat(parts, dim=1) @ lift)  # (n, INPUT_DIM)

    def view1(self, s: Scenes) -> torch.Tensor:
        """View 1 always shows the scene itself: (n, INPUT_DIM)."""
        return self._lift(s.label, s.nuisance, s.noise1, self.lift1)

    def view2(self, s: Scenes, distance: float) -> torch.Tensor:
        """View 2 at ``distance``: background blended towards a fresh one, label swapped for a
        fresh one when the scene's coin says so. (n, INPUT_DIM)."""
        corr, keep = sharing(distance)
        nuisance = corr * s.nuisance + math.sqrt(1 - corr**2) * s.fresh_nuisance
        label = torch.where(s.coin < keep, s.label, s.fresh_label)
        return self._lift(label, nuisance, s.noise2, self.lift2)


class ManyViewsDistanceSim(Sim):
    slug = "many-views-distance"
    title = "How far apart should two views be? A sweep of the distance between them"
    live = ()  # every point of the sweep must run under the same settings

    points = shared.integer(
        9,
        (3, 11),
        "Distances in the sweep",
        "How many distances, evenly spaced from 0 (the views share everything) to 1 (they "
        "share nothing); each gets its own short training run. Restarts the sweep.",
    )
    steps_per_point = shared.integer(
        200,
        (50, 600),
        "Steps per distance",
        "Training steps of each run in the sweep; the next distance starts when one finishes. "
        "Restarts the sweep.",
    )
    code_dim = shared.code_size(
        4,
        (2, 8),
        "On the unit sphere; kept small so the codes cannot hold all of the background and the "
        "label at once. Restarts the sweep.",
    )
    n_classes = shared.integer(
        6, (4, 10), "Classes", "How many labels a scene can have (the task). Restarts the sweep."
    )
    tau = shared.temperature(0.1, (0.05, 0.5), "Restarts the sweep.")
    lr = shared.learning_rate(0.006, (0.001, 0.03), "Adam, both encoders; restarts the sweep")

    scenarios = (
        Scenario(
            "the sweep: the bound falls with distance, the probe peaks in the middle",
            steps=9 * 200,
            expect=(
                Expect("sweep_done", ">=", 1.0),
                Expect("bound_monotone", ">=", 1.0),
                Expect("bound_drop", ">=", 2.5),
                Expect("peak_margin", ">=", 0.10),
            ),
            seeds=(0, 1, 2),
        ),
    )
    presets = (Preset("sweep-the-distance", {"code_dim": 4}),)
    predictions = (
        Prediction(
            "best-distance",
            "A sweep of three distances, 100 steps each: 0 (the views share the label and the "
            "background), 0.5 (only the label) and 1 (nothing). Where will the probe read the "
            "label best?",
            metric="best_distance",
            steps=3 * 100,
            why="Views that share the loud background let the small codes match on it and keep "
            "little of the label, views that share nothing leave nothing to match, and only at "
            "0.5 is the label all that the two views have in common.",
            answer=1,
            choices=(
                Choice("at 0: the more the views share, the better", high=0.25),
                Choice("at 0.5: the views share the label and nothing else", 0.25, 0.75),
                Choice("at 1: the views share nothing", low=0.75),
            ),
            settings={"points": 3, "steps_per_point": 100},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "point": Metric(
            "distance number", "", "{:.0f}", "which distance of the sweep is training (1 = first)"
        ),
        "distance": Metric(
            "distance", "", "{:.3f}", "how far apart the views of the current run are, 0 to 1"
        ),
        "bound": Metric(
            "bound (current run)",
            "nats",
            "{:.2f}",
            "log K − L on held-out scenes at the current distance, L the symmetric loss halved: "
            "how much the codes prove the two views share",
        ),
        "probe": Metric(
            "probe (current run)",
            "",
            "{:.1%}",
            "held-out scenes whose label a linear classifier reads from the view-1 codes",
        ),
        "nuisance_r2": Metric(
            "background in the codes",
            "",
            "{:.2f}",
            "share of the background's variance a linear fit on the view-1 codes explains",
        ),
        "chance": Metric(
            "chance", "", "{:.1%}", "the probe's score for codes that carry no label: 1 / classes"
        ),
        "ceiling": Metric(
            "ceiling log K", "nats", "{:.2f}", "the most the bound can say: K = 128 candidates"
        ),
        "points_done": Metric(
            "distances done", "", "{:.0f}", "runs of the sweep finished and recorded"
        ),
        "sweep_done": Metric("sweep done", "", "{:.0f}", "1 once every distance has been run"),
        "best_distance": Metric(
            "sweet spot", "", "{:.3f}", "the recorded distance with the best probe (0 before any)"
        ),
        "best_probe": Metric(
            "best probe", "", "{:.1%}", "the best recorded probe so far (0 before any)"
        ),
        "probe_at_0": Metric(
            "probe, views share all",
            "",
            "{:.1%}",
            "the recorded probe at distance 0 (0 before it is recorded)",
        ),
        "probe_at_1": Metric(
            "probe, views share nothing",
            "",
            "{:.1%}",
            "the recorded probe at distance 1 (0 until the sweep is done)",
        ),
        "peak_margin": Metric(
            "peak margin",
            "",
            "{:.1%}",
            "best probe strictly between the ends minus the better of the two ends; 0 until "
            "the sweep is done",
        ),
        "bound_drop": Metric(
            "bound drop",
            "nats",
            "{:.2f}",
            "recorded bound at distance 0 minus the last recorded bound (0 before two points)",
        ),
        "bound_monotone": Metric(
            "bound never rises",
            "",
            "{:.0f}",
            f"1 if no recorded bound rises by more than {MONOTONE_TOLERANCE} nats from one "
            "distance to the next",
        ),
    }

    def setup(self) -> None:
        g = self.generator
        self.maker = ViewMaker(self.n_classes, g)
        self.held = Scenes.draw(N_HELD_OUT, self.n_classes, g)
        self.held_x1 = self.maker.view1(self.held)  # (N_HELD_OUT, INPUT_DIM), every distance
        sizes = [INPUT_DIM, HIDDEN, self.code_dim]
        self.initial = (mlp(sizes, g, activation=nn.ReLU), mlp(sizes, g, activation=nn.ReLU))
        self.stream_seed = int(torch.randint(2**62, (1,), generator=g))
        self.basis = torch.linalg.qr(torch.randn(self.code_dim, 2, generator=g)).Q  # (d, 2)
        self.distances = torch.linspace(0.0, 1.0, self.points).tolist()
        self.sweep: list[tuple[float, float, float]] = []  # (distance, bound, probe) per point
        self.sweep_xy: list[np.ndarray] = []  # (N_SHOWN, 2) final view-1 codes per point
        self.sweep_r2: list[float] = []  # background R² of the final view-1 codes per point
        self.last = {"loss": 0.0, "bound": 0.0}
        self._start_point(0)

    @property
    def done(self) -> bool:
        return len(self.sweep) == len(self.distances)

    def _start_point(self, index: int) -> None:
        """Fresh copies of the initial encoders, a fresh optimiser and the batch stream from
        its start, so each distance differs from the others only in its views."""
        self.index = index
        self.distance = self.distances[index]
        self.enc1, self.enc2 = (copy.deepcopy(enc) for enc in self.initial)
        parameters = [*self.enc1.parameters(), *self.enc2.parameters()]
        self.optimiser = torch.optim.Adam(parameters, lr=self.lr)
        self.stream = torch.Generator().manual_seed(self.stream_seed)
        self.held_x2 = self.maker.view2(self.held, self.distance)  # (N_HELD_OUT, INPUT_DIM)
        self.point_step = 0
        self.history = History(2, every=2)  # (step within the run, bound of training batches)
        self._cache: tuple[int, dict[str, float]] | None = None

    def train_step(self) -> dict[str, float]:
        if self.done:  # the sweep is over: nothing left to train, the last numbers stand
            return dict(self.last)
        s = Scenes.draw(BATCH, self.n_classes, self.stream)
        x1, x2 = self.maker.view1(s), self.maker.view2(s, self.distance)
        loss = cmc_loss(self.enc1(x1), self.enc2(x2), self.tau)
        self.optimise(loss)
        # Each direction of the symmetric loss bounds the MI; their average does too.
        bound = math.log(BATCH) - loss.item() / 2
        self.history.add(self.point_step, bound)
        self.point_step += 1
        self.last = {"loss": loss.item(), "bound": bound}
        if self.point_step >= self.steps_per_point:
            self._finish_point()
        return dict(self.last)

    def _finish_point(self) -> None:
        """Record the finished run's (distance, bound, probe); start the next distance."""
        current = self._evaluate()
        self.sweep.append((self.distance, current["bound"], current["probe"]))
        self.sweep_xy.append(self._shown_xy())
        self.sweep_r2.append(current["nuisance_r2"])
        if not self.done:
            self._start_point(self.index + 1)

    @torch.no_grad()
    def _evaluate(self) -> dict[str, float]:
        """The current run on the held-out scenes, once per step: the bound (symmetric loss in
        groups of K pairs), the label probe and the background fit on view-1 codes."""
        if self._cache is not None and self._cache[0] == self.point_step:
            return self._cache[1]
        z1 = normalise(self.enc1(self.held_x1))  # (N_HELD_OUT, d)
        z2 = normalise(self.enc2(self.held_x2))
        groups = zip(z1.split(BATCH), z2.split(BATCH), strict=True)
        loss = float(torch.stack([cmc_loss(a, b, self.tau) for a, b in groups]).mean())
        half, y = N_HELD_OUT // 2, self.held.label
        probe = lda_probe(z1[:half], y[:half], z1[half:], y[half:], n_classes=self.n_classes)
        values = {
            "loss": loss,
            "bound": math.log(BATCH) - loss / 2,
            "probe": probe,
            "nuisance_r2": linear_fit_r2(z1, self.held.nuisance),
        }
        self._cache = (self.point_step, values)
        return values

    def _summary(self) -> dict[str, float]:
        """The sweep so far, from the recorded points only (see ``metrics`` for the zeros)."""
        rows = self.sweep
        bounds, probes = [r[1] for r in rows], [r[2] for r in rows]
        best = max(range(len(rows)), key=lambda i: probes[i]) if rows else None
        rises = [b - a for a, b in itertools.pairwise(bounds)]
        margin = 0.0
        if self.done:
            margin = max(probes[1:-1]) - max(probes[0], probes[-1])
        return {
            "points_done": float(len(rows)),
            "sweep_done": float(self.done),
            "best_distance": rows[best][0] if rows else 0.0,
            "best_probe": probes[best] if rows else 0.0,
            "probe_at_0": probes[0] if rows else 0.0,
            "probe_at_1": probes[-1] if self.done else 0.0,
            "peak_margin": margin,
            "bound_drop": bounds[0] - bounds[-1] if len(rows) >= 2 else 0.0,
            "bound_monotone": float(all(r <= MONOTONE_TOLERANCE for r in rises)),
        }

    def measure(self) -> dict[str, float]:
        current = self._evaluate()
        return {
            **current,
            "point": float(self.index + 1),
            "distance": float(self.distance),
            "point_step": float(self.point_step),
            "chance": 1.0 / self.n_classes,
            "ceiling": math.log(BATCH),
            **self._summary(),
        }

    @torch.no_grad()
    def _shown_xy(self) -> np.ndarray:
        """View-1 codes of the shown held-out scenes on their two widest directions, turned to
        match a fixed random plane so the view does not flip (the codes themselves when they
        are 2-D): (N_SHOWN, 2)."""
        z = normalise(self.enc1(self.held_x1[:N_SHOWN]))  # (N_SHOWN, d)
        if self.code_dim > 2:
            centred = (z - z.mean(dim=0)).double()
            _, vecs = torch.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
            z = z @ procrustes(vecs[:, -2:].float(), self.basis)  # (N_SHOWN, 2)
        return to_numpy(z)

    def snapshot(self) -> dict[str, np.ndarray]:
        shown = slice(0, N_SHOWN)
        empty = np.zeros((0, N_SHOWN, 2), dtype=np.float32)
        sweep = np.asarray(self.sweep, dtype=np.float32).reshape(-1, 3)
        current = np.zeros((0, 3), dtype=np.float32)
        if not self.done:
            now = self._evaluate()
            current = np.array([[self.distance, now["bound"], now["probe"]]], dtype=np.float32)
        return {
            "sweep": sweep,
            # (1, 3) distance, bound, probe of the run in progress; (0, 3) once the sweep is done
            "current": current,
            # the finished points and then the run in progress, for a curve that grows live
            "curve": np.concatenate([sweep, current]),
            "distances": np.asarray(self.distances, dtype=np.float32),
            "history": self.history.array(),
            "xy": self._shown_xy(),
            "labels": self.held.label[shown].numpy().copy(),
            "nuisance_angle": to_numpy(
                torch.atan2(self.held.nuisance[shown, 1], self.held.nuisance[shown, 0])
            ),
            "sweep_xy": np.stack(self.sweep_xy) if self.sweep_xy else empty,
            "sweep_nuisance_r2": np.asarray(self.sweep_r2, dtype=np.float32),
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if measured.get("sweep_done", 0.0) < 1.0:
            return None
        best, probe = measured.get("best_distance", 0.0), measured.get("best_probe", 0.0)
        at_0, at_1 = measured.get("probe_at_0", 0.0), measured.get("probe_at_1", 0.0)
        text = (
            f"sweep done: sweet spot at distance {best:.2f}: probe {probe:.0%}, against "
            f"{at_0:.0%} when the views share everything and {at_1:.0%} when they share nothing"
        )
        return Verdict("note", text)
