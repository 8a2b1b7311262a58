"""Beyond InfoNCE: train alignment and uniformity directly, on the circle.

Wang & Isola (ICML 2020, "Understanding contrastive representation learning through alignment
and uniformity on the hypersphere") read InfoNCE as two forces: alignment pulls the two views
of an item together, uniformity spreads all codes over the sphere. Here two encoders start from
the same weights and see the same batches and views: one trained with InfoNCE at temperature
tau, one with w_align * L_align + lam * L_uniform(t) written out. Codes are 2-D, on the unit
circle, so the page can draw both runs side by side; alignment, uniformity and a linear probe on
held-out items say whether the two recipes end in the same place.

Items come from clusters strung along an open arc (``sims.contrastive_toy.arc_inputs``); each
view adds Gaussian noise to the 8 content features and appends 4 channels of pure noise, drawn
afresh per view. Only alignment makes an encoder ignore that noise.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import param
import torch

from models.contrastive import (
    alignment,
    batch_info_nce,
    cmc_loss,
    normalise,
    uniformity,
    uniformity_circle_limit,
    uniformity_evenly_spaced,
)
from models.encoders import mlp
from models.metrics import lda_probe
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
from sims.contrastive_toy import arc_inputs

RUNS = ("infonce", "direct")
N_TRAIN = 600  # items the encoders train on (two fresh noisy views each step)
N_HELD_OUT = 300  # items never trained on: every readout and the drawn codes use them
N_NUISANCE = 4  # input channels of pure noise, drawn afresh for each view
READOUT_T = 2.0  # the uniformity readouts always use t = 2, whatever t the direct run trains
COLLAPSE_UNIFORMITY = -0.1  # above this the held-out codes sit (nearly) on one point
HISTORY_EVERY = 10  # steps between two rows of the alignment / uniformity history


class BeyondAlignmentSim(Sim):
    slug = "beyond-mi-alignment"
    title = "Alignment and uniformity: InfoNCE against its two terms trained directly"
    live = ("tau", "infonce", "lam", "t", "w_align", "lr", "k")

    tau = shared.temperature(
        0.25,
        (0.05, 1.0),
        "InfoNCE run only. Small tau cares most about the closest other codes and pushes them "
        "apart hardest.",
    )
    infonce = param.Selector(
        default="symmetric",
        objects=["symmetric", "one-way"],
        label="InfoNCE form",
        doc="InfoNCE run only: symmetric (each view in turn picks its partner among the other "
        "view's codes, as in CMC) or one-way (view 1 picks among the codes of view 2).",
    )
    lam = shared.number(
        0.5,
        (0.0, 4.0),
        0.05,
        "Uniformity weight λ",
        "Direct run only: weight of the uniformity term, which spreads the codes round the "
        "circle. At 0 only the alignment pull is left and nothing stops every code going to "
        "one point.",
    )
    t = shared.number(
        2.0,
        (0.5, 8.0),
        0.1,
        "Uniformity t",
        "Direct run only: the uniformity it trains is log mean exp(−t·distance²) over pairs of "
        "codes; large t cares only about near neighbours. The readouts always use t = 2.",
    )
    w_align = shared.number(
        1.0,
        (0.0, 2.0),
        0.05,
        "Alignment weight",
        "Direct run only: weight of the alignment term, the mean squared distance between the "
        "codes of an item's two views. At 0 nothing asks the two views to agree.",
    )
    lr = shared.learning_rate(0.01, (0.0005, 0.05), "Adam, one per run", step=0.0005)
    k = shared.negatives_per_anchor(127, (7, 255))
    view_noise = shared.view_noise(
        0.5,
        (0.0, 1.5),
        "Added to each of the 8 content features (each has standard deviation 1). Changes the "
        "data, so the run restarts.",
    )
    nuisance = shared.number(
        1.5,
        (0.0, 3.0),
        0.1,
        "Nuisance channels",
        "Strength of 4 extra input channels that carry only noise, drawn afresh for each view "
        "(like lighting that changes between two photos). Changes the data, so the run restarts.",
    )
    n_clusters = shared.integer(
        6, (2, 12), "Clusters", "How many clusters the items come from. Restarts the run."
    )
    hidden = shared.integer(
        32, (8, 128), "Hidden units", "Hidden units of each encoder (one tanh layer). Restarts."
    )

    scenarios = (
        Scenario(
            "defaults: the direct run lands where InfoNCE does (alignment, uniformity, probe)",
            steps=600,
            expect=(
                Expect("align_ratio", ">=", 0.9),
                Expect("align_ratio", "<=", 1.1),
                Expect("unif_ratio", ">=", 0.9),
                Expect("unif_ratio", "<=", 1.1),
                Expect("probe_gap", "<=", 0.03),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "no uniformity (λ = 0): the direct run's codes collapse to one point",
            steps=600,
            settings={"lam": 0.0},
            expect=(Expect("unif_direct", ">=", -0.05), Expect("align_ratio", "<=", 0.05)),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "no alignment (w_align = 0): codes spread, yet the two views no longer agree",
            steps=600,
            settings={"w_align": 0.0},
            expect=(
                Expect("align_ratio", ">=", 3.0),
                Expect("unif_direct", "<=", -1.5),
                Expect("probe_drop", ">=", 0.1),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "strong uniformity (λ = 4): the codes spread almost as evenly as evenly spaced points",
            steps=600,
            settings={"lam": 4.0},
            expect=(
                Expect("unif_excess_direct", "<=", 0.03),
                Expect("probe_direct", ">=", 0.75),
            ),
            seeds=(0, 1, 2),
        ),
    )
    presets = (Preset("take-infonce-apart"),)  # then λ = 0, then w = 0, then λ = 4
    predictions = (
        Prediction(
            "uniformity-alone",
            "With the alignment weight at 0, the direct run only spreads its codes round the "
            "circle. Where will its probe be after 200 steps (the InfoNCE run reads 80 to 83%)?",
            metric="probe_direct",
            steps=200,
            why="Nothing asks the two views of an item to land together any more, so the "
            "encoder has no reason to ignore each view's noise, and the codes of one cluster "
            "scatter round the circle.",
            answer=0,
            choices=(
                Choice("below 65%, far under InfoNCE's", high=0.65),
                Choice("between 65% and 75%", 0.65, 0.75),
                Choice("75% or more, about as good as InfoNCE's", low=0.75),
            ),
            settings={"w_align": 0.0},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "align_infonce": Metric(
            "alignment, InfoNCE run",
            "",
            "{:.3f}",
            "mean ||z₁ − z₂||² over the two views of each held-out item: 0 when the views agree",
        ),
        "align_direct": Metric(
            "alignment, direct run",
            "",
            "{:.3f}",
            "mean ||z₁ − z₂||² over the two views of each held-out item: 0 when the views agree",
        ),
        "unif_infonce": Metric(
            "uniformity, InfoNCE run",
            "",
            "{:.3f}",
            "log mean exp(−2||zᵢ − zⱼ||²) over held-out codes (t = 2): 0 for one point, lower "
            "is more spread",
        ),
        "unif_direct": Metric(
            "uniformity, direct run",
            "",
            "{:.3f}",
            "log mean exp(−2||zᵢ − zⱼ||²) over held-out codes (t = 2, whatever t it trains "
            "with): 0 for one point, lower is more spread",
        ),
        "probe_infonce": Metric(
            "probe, InfoNCE run",
            "",
            "{:.1%}",
            "held-out items whose cluster a linear classifier (LDA) reads from their 2-D code",
        ),
        "probe_direct": Metric(
            "probe, direct run",
            "",
            "{:.1%}",
            "held-out items whose cluster a linear classifier (LDA) reads from their 2-D code",
        ),
        "align_ratio": Metric(
            "alignment ratio direct / InfoNCE",
            "",
            "{:.2f}",
            "1 when both runs align the views equally well; above 1 the direct run's views "
            "agree less",
        ),
        "unif_ratio": Metric(
            "uniformity ratio direct / InfoNCE",
            "",
            "{:.2f}",
            "1 when both runs spread their codes equally; near 0 when the direct run collapses",
        ),
        "probe_gap": Metric(
            "probe gap",
            "",
            "{:.1%}",
            "how far apart the two runs' probe accuracies are (either way round)",
        ),
        "unif_even": Metric(
            "uniformity of evenly spaced points",
            "",
            "{:.3f}",
            f"the uniformity (t = 2) of {N_HELD_OUT} points evenly spaced round the circle, as "
            "many as the held-out codes: as spread as codes can be",
        ),
        "unif_limit": Metric(
            "uniformity of the whole circle",
            "",
            "{:.3f}",
            "the same for infinitely many evenly spread points: −4 + log I₀(4) ≈ −1.575",
        ),
        "unif_excess_direct": Metric(
            "direct run above evenly spaced",
            "",
            "{:.3f}",
            "uniformity of the direct run's codes minus that of evenly spaced points: 0 is a "
            "perfectly even spread",
        ),
    }

    def setup(self) -> None:
        g = self.generator
        x, labels = arc_inputs(N_TRAIN + N_HELD_OUT, self.n_clusters, g)  # (900, 8), (900,)
        order = torch.randperm(len(x), generator=g)
        self.x, self.labels = x[order], labels[order]  # the first N_TRAIN train, the rest held out
        encoder = mlp([x.shape[1] + N_NUISANCE, self.hidden, 2], g)
        self.encoders = {"infonce": encoder, "direct": copy.deepcopy(encoder)}  # one start
        parameters = [p for e in self.encoders.values() for p in e.parameters()]
        self.optimiser = torch.optim.Adam(parameters, lr=self.lr)  # per-weight: runs independent
        # Fixed noisy views of every item for the readouts: watching never draws from g.
        self.eval_v1, self.eval_v2 = self.views(self.x)  # (900, 12) each
        self.unif_even = uniformity_evenly_spaced(N_HELD_OUT, READOUT_T)
        self.unif_limit = uniformity_circle_limit(READOUT_T)
        # (step, align_infonce, unif_infonce, align_direct, unif_direct) on held-out items
        self.history = History(5, every=HISTORY_EVERY)
        self._record(0)
        self.untrained_probe = self._probe("infonce")  # both runs share it at step 0

    def views(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Two views of each item: its features plus noise, then nuisance channels of pure
        noise, drawn independently for each view. x: (N, 8) -> two (N, 12)."""
        g = self.generator

        def view() -> torch.Tensor:
            content = x + self.view_noise * torch.randn(x.shape, generator=g)
            noise = self.nuisance * torch.randn(len(x), N_NUISANCE, generator=g)
            return torch.cat([content, noise], dim=1)

        return view(), view()

    def codes(self, run: str, v: torch.Tensor) -> torch.Tensor:
        """One run's codes on the unit circle. v: (N, 12) -> (N, 2)."""
        return normalise(self.encoders[run](v))

    def losses(
        self, z1: Mapping[str, torch.Tensor], z2: Mapping[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Each run's training loss on one batch: codes (K, 2) of views 1 and 2 per run."""
        a, b = z1["infonce"], z2["infonce"]
        symmetric = self.infonce == "symmetric"
        nce = cmc_loss(a, b, self.tau) if symmetric else batch_info_nce(a, b, self.tau)
        a, b = z1["direct"], z2["direct"]
        unif = (uniformity(a, self.t) + uniformity(b, self.t)) / 2  # both views, as the paper
        return {"infonce": nce, "direct": self.w_align * alignment(a, b) + self.lam * unif}

    def train_step(self) -> dict[str, float]:
        K = self.k + 1
        batch = torch.randperm(N_TRAIN, generator=self.generator)[:K]
        v1, v2 = self.views(self.x[batch])  # the same items and views for both runs
        z1 = {run: self.codes(run, v1) for run in RUNS}
        z2 = {run: self.codes(run, v2) for run in RUNS}
        losses = self.losses(z1, z2)
        self.optimise(losses["infonce"] + losses["direct"])  # no shared weights: two runs
        if (self.steps + 1) % HISTORY_EVERY == 0:
            self._record(self.steps + 1)
        nce, direct = losses["infonce"].item(), losses["direct"].item()
        return {"loss": nce, "loss_infonce": nce, "loss_direct": direct}

    @torch.no_grad()
    def _held_out(self, run: str) -> tuple[torch.Tensor, torch.Tensor]:
        """One run's codes of the fixed views of the held-out items: two (N_HELD_OUT, 2)."""
        return self.codes(run, self.eval_v1[N_TRAIN:]), self.codes(run, self.eval_v2[N_TRAIN:])

    @torch.no_grad()
    def _probe(self, run: str) -> float:
        """LDA fitted on the training items' view-1 codes, scored on the held-out items'."""
        fit = self.codes(run, self.eval_v1[:N_TRAIN])
        held = self.codes(run, self.eval_v1[N_TRAIN:])
        y_fit, y_held = self.labels[:N_TRAIN], self.labels[N_TRAIN:]
        return lda_probe(fit, y_fit, held, y_held, n_classes=self.n_clusters)

    @torch.no_grad()
    def _record(self, step: int) -> None:
        row: list[float] = []
        for run in RUNS:
            z1, z2 = self._held_out(run)
            row += [float(alignment(z1, z2)), float(uniformity(z1, READOUT_T))]
        self.history.add(step, *row)

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for run in RUNS:
            z1, z2 = self._held_out(run)
            out[f"align_{run}"] = float(alignment(z1, z2))
            out[f"unif_{run}"] = float(uniformity(z1, READOUT_T))
            out[f"probe_{run}"] = self._probe(run)
        out["align_ratio"] = out["align_direct"] / max(out["align_infonce"], 1e-6)
        out["unif_ratio"] = out["unif_direct"] / min(out["unif_infonce"], -1e-6)
        out["probe_gap"] = abs(out["probe_direct"] - out["probe_infonce"])
        out["probe_drop"] = out["probe_infonce"] - out["probe_direct"]
        out["untrained_probe"] = self.untrained_probe
        out["unif_even"] = self.unif_even
        out["unif_limit"] = self.unif_limit
        out["unif_excess_direct"] = out["unif_direct"] - self.unif_even
        out["unif_excess_infonce"] = out["unif_infonce"] - self.unif_even
        return out

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        snap: dict[str, np.ndarray] = {}
        for run in RUNS:
            z1, z2 = self._held_out(run)
            snap[f"{run}_xy"], snap[f"{run}_xy2"] = to_numpy(z1), to_numpy(z2)
        snap["labels"] = self.labels[N_TRAIN:].numpy().copy()
        snap["terms_history"] = self.history.array()
        return snap

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        unif, probe = measured.get("unif_direct", -1.0), measured.get("probe_direct", 1.0)
        if unif > COLLAPSE_UNIFORMITY:
            text = (
                f"collapsed: the direct run's codes crowd into one point (uniformity "
                f"{unif:.2f}; a probe still reads {probe:.0%} from differences too small to see)"
            )
            return Verdict("collapsed", text)
        ratio = measured.get("align_ratio", 1.0)
        if self.w_align == 0 and ratio >= 2.0:
            text = (
                f"no alignment: the direct run's codes spread, but the two views of an item land "
                f"{ratio:.1f}× farther apart than with InfoNCE"
            )
            return Verdict("note", text)
        return None
