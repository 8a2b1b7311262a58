"""Many views of one scene: pair every view with view 1 (core view) or every pair (full graph).

Each synthetic scene has two hidden factors of 8 classes each: one that every view sees, and one
that every view but V1 sees. Each of the M views mixes the factors it sees with private noise of
its own (fresh for every view of every scene, like lighting) through a fixed random nonlinear
map. One encoder per view is trained with the multi-view objectives of Contrastive Multiview
Coding (Tian et al., ECCV 2020; ``models.multiview``); a grid of linear probes on held-out scenes
asks which factor each view's code carries. Under the core view, views 2..M learn only what
they share with V1; under the full graph they also keep the factor V1 cannot see.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import param
import torch
from torch import nn

from models.contrastive import normalise
from models.encoders import mlp
from models.metrics import lda_probe, procrustes
from models.multiview import OBJECTIVES, multiview_loss, n_terms
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

FACTORS = ("all", "rest")  # short names, as in the metric keys
FACTOR_NAMES = ("shared by all", "not seen by V1")  # as drawn on the grid
ALL, REST = 0, 1
N_CLASSES = 8  # classes per factor: chance accuracy 1 / 8
FACTOR_DIM = 4  # each class of a factor is a fixed random point in 4-D
NUISANCE_DIM = 4  # private noise of each view
VIEW_DIM = 12  # what an encoder reads
N_FIT, N_TEST = 400, 300  # held-out scenes: the probes are fitted on N_FIT, scored on N_TEST


class Scenes:
    """A fixed random world of M views: view 1 sees the factor ``all``; views 2..M see ``all``
    and ``rest``. Each view is tanh of a random linear lift of the embeddings of the classes it
    sees and its private noise, in VIEW_DIM dimensions."""

    def __init__(self, m: int, nuisance: float, generator: torch.Generator) -> None:
        g = generator
        self.m, self.nuisance = m, nuisance
        self.tables = torch.randn(len(FACTORS), N_CLASSES, FACTOR_DIM, generator=g)  # (F, C, e)
        self.lifts = []
        for view in range(m):
            k = FACTOR_DIM * len(self.sees(view)) + NUISANCE_DIM
            self.lifts.append(torch.randn(k, VIEW_DIM, generator=g) / math.sqrt(k))  # (k, D)

    @staticmethod
    def sees(view: int) -> tuple[int, ...]:
        """The factors view ``view`` (zero-based) sees: V1 only ``all``, the others both."""
        return (ALL,) if view == 0 else (ALL, REST)

    def draw(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """``n`` fresh scenes: their factors (n, F) int64 and M views, each (n, VIEW_DIM)."""
        g = generator
        factors = torch.randint(N_CLASSES, (n, len(FACTORS)), generator=g)  # (n, F)
        noise = torch.randn(self.m, n, NUISANCE_DIM, generator=g)  # fresh for every view
        return factors, self.render(factors, noise)

    def render(self, factors: torch.Tensor, noise: torch.Tensor) -> list[torch.Tensor]:
        """The M views of scenes with ``factors`` (n, F) and standard normal private noise
        ``noise`` (M, n, NUISANCE_DIM), scaled by ``nuisance``: M (n, VIEW_DIM)."""
        views = []
        for view, lift in enumerate(self.lifts):
            parts = [self.tables[f][factors[:, f]] for f in self.sees(view)]  # each (n, e)
            parts.append(self.nuisance * noise[view])
            views.append(torch.tanh(torch.cat(parts, dim=1) @ lift))  # (n, D)
        return views


class ManyViewsGraphSim(Sim):
    slug = "many-views-graph"
    title = "Core view or full graph: what M views learn together"
    live = ("objective", "tau", "lr", "k", "probe_every", "colour_factor")

    objective = param.Selector(
        label="Objective",
        default="core",
        objects=list(OBJECTIVES),
        doc="Which pairs of views are trained to agree. core: every view with V1 only (M − 1 "
        "pairs). full: every pair of views (M (M − 1) / 2 pairs). Switch it during a run to "
        "watch the codes change.",
    )
    views = shared.integer(
        3,
        (3, 4),
        "Views M",
        "How many views of each scene, each with its own encoder. Changes the data and the "
        "models, so the run restarts.",
    )
    nuisance = shared.number(
        1.0,
        (0.0, 2.0),
        0.1,
        "Private noise",
        "Standard deviation of the noise private to each view of each scene (like its own "
        "lighting): nothing another view can predict. Changes the data, so the run restarts.",
    )
    tau = shared.temperature(0.2, (0.05, 1.0))
    lr = shared.learning_rate(0.003, (0.0005, 0.03), "Adam, one for all the encoders", 0.0005)
    k = shared.negatives_per_anchor(127, (15, 511))
    code_dim = shared.code_size(
        8, (2, 16), "On the unit sphere. Changes the models, so the run restarts."
    )
    hidden = shared.integer(
        64,
        (16, 256),
        "Hidden units",
        "Hidden units in each encoder (one ReLU layer). Changes the models, so the run restarts.",
    )
    probe_every = shared.integer(
        50,
        (10, 1000),
        "Probe every (steps)",
        "Steps between two refreshes of the grid of probes and of the drawn 2-D views.",
    )
    colour_factor = param.Selector(
        label="Colour by",
        default="all",
        objects=list(FACTORS),
        doc="Which factor colours the drawn codes: all (seen by every view) or rest (seen by "
        "every view but V1).",
    )

    scenarios = (
        Scenario(
            "core view: every view keeps the shared factor, views 2-3 drop the one V1 cannot see",
            steps=600,
            settings={"objective": "core"},
            expect=(
                Expect("all_factor_min", ">=", 0.8),
                Expect("rest_factor_min_others", "<=", 0.3),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "full graph: every view keeps the shared factor, views 2-3 keep the one V1 cannot see",
            steps=600,
            settings={"objective": "full"},
            expect=(
                Expect("all_factor_min", ">=", 0.8),
                Expect("rest_factor_min_others", ">=", 0.8),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "four views, core view: views 2-4 drop the factor V1 cannot see",
            steps=600,
            settings={"objective": "core", "views": 4},
            expect=(
                Expect("all_factor_min", ">=", 0.8),
                Expect("rest_factor_min_others", "<=", 0.3),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "four views, full graph: views 2-4 keep the factor V1 cannot see",
            steps=600,
            settings={"objective": "full", "views": 4},
            expect=(
                Expect("all_factor_min", ">=", 0.8),
                Expect("rest_factor_min_others", ">=", 0.8),
            ),
            seeds=(0, 1, 2),
        ),
    )

    presets = (
        Preset("anchor-on-one-view", {"objective": "core"}),
        Preset("four-views", {"objective": "core", "views": 4}),
        Preset("warm-the-temperature", {"objective": "full", "tau": 1.0}),
    )
    predictions = (
        Prediction(
            "core-view-hidden-factor",
            "Under the core view, how well will the codes of V2 and V3 read the factor V1 "
            "cannot see after 200 steps? Untrained, they read it about half the time.",
            metric="rest_factor_min_others",
            steps=200,
            why="The core view scores V2 and V3 only against the codes of V1, which never sees "
            "that factor, so carrying it only blurs those scores and training pushes it out.",
            answer=0,
            choices=(
                Choice("near chance: below 35%", high=0.35),
                Choice("between 35% and 65%, about as well as untrained", 0.35, 0.65),
                Choice("above 65%: they keep it", low=0.65),
            ),
            settings={"objective": "core"},
            seeds=(0, 1, 2),
        ),
    )

    metrics: ClassVar[Mapping[str, Metric]] = {
        "all_factor_min": Metric(
            "shared factor, worst view",
            "",
            "{:.1%}",
            "the lowest probe accuracy over all views' codes for the factor every view sees "
            "(chance 12.5%)",
        ),
        "rest_factor_min_others": Metric(
            "factor V1 cannot see, worst of views 2..M",
            "",
            "{:.1%}",
            "the lowest probe accuracy over the codes of views 2..M for the factor every view "
            "but V1 sees (chance 12.5%)",
        ),
        **{
            f"probe_v{v}_{f}": Metric(
                f"V{v} code → {name}",
                "",
                "{:.1%}",
                f"held-out scenes whose {name} factor a linear classifier reads from view "
                f"{v}'s code (chance 12.5%)",
            )
            for v in (1, 2, 3)
            for f, name in zip(FACTORS, FACTOR_NAMES, strict=True)
        },
        "raw_v1_rest": Metric(
            "V1 raw input → not seen by V1",
            "",
            "{:.1%}",
            "the same classifier on V1's raw input: chance, since V1 never sees that factor",
        ),
        "raw_rest_others": Metric(
            "raw input → not seen by V1, worst of views 2..M",
            "",
            "{:.1%}",
            "the same classifier on the raw inputs of views 2..M: the factor is there to learn",
        ),
        "rest_untrained_others": Metric(
            "untrained codes → not seen by V1, worst of views 2..M",
            "",
            "{:.1%}",
            "the same classifier on the codes of views 2..M at step 0: what training then keeps "
            "or throws away",
        ),
        "chance": Metric("chance", "", "{:.1%}", "accuracy of guessing one of the 8 classes"),
        "n_terms": Metric(
            "pairs in the loss",
            "",
            "{:.0f}",
            "two-view terms the objective sums: M − 1 for the core view, M (M − 1) / 2 for the "
            "full graph",
        ),
        "loss_per_term": Metric(
            "held-out loss per pair",
            "nats",
            "{:.2f}",
            "the objective on the held-out scenes (all against all) divided by its pairs",
        ),
        "step_ms": Metric(
            "time per step",
            "ms",
            "{:.1f}",
            "wall-clock time of one training step (with the probe refresh when one falls due), "
            "averaged over the last 50 steps; grows with the number of pairs",
            clock=True,
        ),
    }

    def setup(self) -> None:
        g, m = self.generator, self.views
        self.scenes = Scenes(m, self.nuisance, g)
        self.fit_factors, fit_views = self.scenes.draw(N_FIT, g)
        self.test_factors, test_views = self.scenes.draw(N_TEST, g)
        self.held_out = [torch.cat(pair) for pair in zip(fit_views, test_views, strict=True)]
        sizes = [VIEW_DIM, self.hidden, self.code_dim]
        self.encoders = nn.ModuleList(mlp(sizes, g, activation=nn.ReLU) for _ in range(m))
        self.optimiser = torch.optim.Adam(self.encoders.parameters(), lr=self.lr)
        self.raw_grid = self._probe_grid(self.held_out)
        self.bases = torch.linalg.qr(torch.randn(m, self.code_dim, 2, generator=g)).Q  # (M, d, 2)
        self.loss_history = History(2, every=5)  # (step, training loss)
        self.probe_history = History(3)  # (step, all_factor_min, rest_factor_min_others)
        self.step_seconds: deque[float] = deque(maxlen=50)
        self.refresh(step=0)
        self.untrained_grid = self.grid.copy()

    def _probe_grid(self, features: list[torch.Tensor]) -> np.ndarray:
        """Held-out accuracy of an LDA probe from each view's ``features`` (N_FIT + N_TEST, ·)
        to each factor: (M, F)."""
        grid = np.zeros((len(features), len(FACTORS)), dtype=np.float32)
        for v, x in enumerate(features):
            for f in range(len(FACTORS)):
                fit, test = self.fit_factors[:, f], self.test_factors[:, f]
                score = lda_probe(x[:N_FIT], fit, x[N_FIT:], test, n_classes=N_CLASSES)
                grid[v, f] = score
        return grid

    @torch.no_grad()
    def _codes(self) -> list[torch.Tensor]:
        """Each view's codes of the held-out scenes: M (N_FIT + N_TEST, d)."""
        return [normalise(enc(x)) for enc, x in zip(self.encoders, self.held_out, strict=True)]

    @torch.no_grad()
    def refresh(self, step: int) -> None:
        """Re-fit the grid of probes on the current codes, and re-aim each view's drawn 2-D view
        at its codes' two widest directions (PCA), turned to match the previous view."""
        codes = self._codes()
        self.grid = self._probe_grid(codes)
        self.probe_history.add(step, *self._summary(self.grid))
        for v, z in enumerate(codes):
            shown = z[N_FIT:]
            centred = (shown - shown.mean(dim=0)).double()
            _, vecs = torch.linalg.eigh(centred.T @ centred)  # ascending eigenvalues
            self.bases[v] = procrustes(vecs[:, -2:].float(), self.bases[v])

    @staticmethod
    def _summary(grid: np.ndarray) -> tuple[float, float]:
        """(worst view on the shared factor, worst of views 2..M on the factor V1 cannot see)."""
        return float(grid[:, ALL].min()), float(grid[1:, REST].min())

    def train_step(self) -> dict[str, float]:
        start = time.perf_counter()
        _, views = self.scenes.draw(self.k + 1, self.generator)  # M (K, D): K scenes
        codes = [enc(x) for enc, x in zip(self.encoders, views, strict=True)]  # M (K, d)
        loss = multiview_loss(codes, self.objective, self.tau)
        self.optimise(loss)
        if (self.steps + 1) % self.probe_every == 0:
            self.refresh(step=self.steps + 1)
        self.step_seconds.append(time.perf_counter() - start)
        self.loss_history.add(self.steps, loss.item())
        return {"loss": loss.item()}

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        terms = n_terms(self.objective, self.views)
        test_codes = [z[N_FIT:] for z in self._codes()]  # M (N_TEST, d)
        loss = float(multiview_loss(test_codes, self.objective, self.tau))
        all_min, rest_min = self._summary(self.grid)
        out = {
            "loss": loss,
            "loss_per_term": loss / terms,
            "n_terms": float(terms),
            "all_factor_min": all_min,
            "rest_factor_min_others": rest_min,
            "raw_v1_rest": float(self.raw_grid[0, REST]),
            "raw_rest_others": float(self.raw_grid[1:, REST].min()),
            "rest_untrained_others": float(self.untrained_grid[1:, REST].min()),
            "chance": 1.0 / N_CLASSES,
            "step_ms": 1000 * sum(self.step_seconds) / max(len(self.step_seconds), 1),
        }
        for v in range(self.views):
            for f, name in enumerate(FACTORS):
                out[f"probe_v{v + 1}_{name}"] = float(self.grid[v, f])
        return out

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        codes = [z[N_FIT:] for z in self._codes()]  # M (N_TEST, d)
        xy = torch.stack([z @ basis for z, basis in zip(codes, self.bases, strict=True)])
        return {
            "grid": self.grid.copy(),  # (M, F) probe accuracy, rows views, columns factors
            "raw_grid": self.raw_grid.copy(),  # (M, F) the same probes on the raw inputs
            "untrained_grid": self.untrained_grid.copy(),  # (M, F) on the codes at step 0
            "factor_names": np.array(FACTOR_NAMES),
            "view_names": np.array([f"V{v + 1}" for v in range(self.views)]),
            "xy": to_numpy(xy),  # (M, N_TEST, 2)
            "colour_by": self.test_factors[:, FACTORS.index(self.colour_factor)].numpy().copy(),
            "loss_history": self.loss_history.array(),
            "probe_history": self.probe_history.array(),
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        all_min = measured.get("all_factor_min", 0.0)
        rest = measured.get("rest_factor_min_others", 0.0)
        others = f"views 2-{self.views}"
        name = "core view" if self.objective == "core" else "full graph"
        chance = f"chance {1 / N_CLASSES:.0%}"
        if all_min < 0.8:
            scores = {v: measured.get(f"probe_v{v}_all", 1.0) for v in range(1, self.views + 1)}
            worst = min(scores, key=scores.__getitem__)
            return Verdict(
                "note",
                f"{name}: V{worst} reads the factor all views share at only {all_min:.0%} "
                f"({chance})",
            )
        if rest < 0.5:
            return Verdict(
                "note",
                f"{name}: {others} ignore the factor V1 cannot see (probe {rest:.0%}, {chance})",
            )
        if self.objective == "core":
            return Verdict(
                "note",
                f"core view: {others} still carry the factor V1 cannot see (probe {rest:.0%}), "
                "though no pair in the loss rewards it",
            )
        return Verdict(
            "note",
            f"full graph: {others} keep the factor V1 cannot see (probe {rest:.0%}); only V1 "
            "misses it, as it must",
        )
