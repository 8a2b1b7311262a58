"""Push and pull on the circle: contrastive learning with 2-D codes.

Items come in clusters; each step takes a batch of K = k + 1 items and two noisy views of each.
One encoder maps every view to a point on the unit circle. The anchor (view 1 of an item) is
pulled towards its positive (view 2 of the same item) and pushed away from the k negatives
(view 2 of the other items in the batch), by a triplet, binary NCE or InfoNCE loss. Switch the
negatives off and only the pull is left: everything drifts to one point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import param
import torch
import torch.nn.functional as F

from models.contrastive import (
    alignment,
    binary_nce_loss,
    candidate_scores,
    info_nce_from_scores,
    mean_resultant_length,
    normalise,
    triplet_margin_loss,
    uniformity,
)
from models.encoders import mlp
from models.metrics import class_means, cluster_purity
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


def arc_inputs(
    n: int,
    n_clusters: int,
    generator: torch.Generator,
    span_degrees: float = 225.0,
    spread: float = 0.35,
    dim: int = 8,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Items in ``n_clusters`` blobs strung along an open arc of a 2-D latent space, lifted
    into ``dim`` dimensions by a fixed random nonlinear map. Neighbouring clusters touch, so
    noisy views link the whole data set into one piece (the arc is open, not a ring).
    Returns (x: (n, dim) standardised, labels: (n,) int64)."""
    labels = torch.arange(n) % n_clusters
    angles = math.radians(span_degrees) * labels.float() / max(n_clusters - 1, 1)
    centres = 1.5 * torch.stack([angles.cos(), angles.sin()], dim=1)  # (n, 2)
    latent = centres + spread * torch.randn(n, 2, generator=generator)
    lift = torch.randn(2, dim, generator=generator) / math.sqrt(2)
    x = torch.tanh(latent @ lift)  # (n, dim)
    return (x - x.mean(0)) / x.std(0), labels


def others(n: int) -> torch.Tensor:
    """Row i lists every index but i: (n, n - 1). Picks each anchor's negatives from a batch."""
    idx = torch.arange(n - 1).expand(n, n - 1)
    return idx + (idx >= torch.arange(n).unsqueeze(1)).long()


class ContrastiveToySim(Sim):
    slug = "contrastive-toy"
    title = "Anchor, positive, negatives: contrastive codes on the circle"
    live = ("loss", "negatives", "k", "tau", "margin", "lr", "weight_decay")

    loss = param.Selector(
        label="Contrastive loss",
        default="infonce",
        objects=["infonce", "nce", "triplet"],
        doc="Which contrastive loss: InfoNCE (pick the positive out of all candidates with a "
        "softmax), binary NCE (judge each candidate alone: positive or not) or triplet margin "
        "(the positive closer than each negative by a margin).",
    )
    negatives = shared.boolean(
        True,
        "Use the negatives",
        "Use the negatives. Off: only the pull between the two views of each item is left.",
    )
    k = shared.negatives_per_anchor(31, (1, 127))
    tau = shared.temperature(
        0.05,
        (0.01, 1.0),
        "Small tau makes the softmax sharp and punishes the closest negatives hardest (InfoNCE "
        "and NCE).",
    )
    margin = shared.number(
        0.5,
        (0.0, 4.0),
        0.05,
        "Triplet margin",
        "Triplet loss only: how much farther (in squared distance) every negative must be "
        "than the positive. On the unit circle squared distances run from 0 to 4.",
    )
    lr = shared.learning_rate(0.01, (0.0005, 0.1), "AdamW")
    weight_decay = shared.weight_decay(
        0.2,
        (0.0, 2.0),
        0.05,
        "The biases are spared. Alone it would flatten the encoder into a constant.",
    )
    view_noise = shared.view_noise(0.15, (0.0, 1.5), "Changes the data, so the run restarts.")
    nuisance = shared.number(
        1.0,
        (0.0, 3.0),
        0.1,
        "Nuisance channels",
        "Strength of the extra input channels that carry only noise, drawn afresh for each "
        "view (like lighting that changes between two photos). Changes the data.",
    )
    n_clusters = shared.integer(
        6, (2, 12), "Clusters", "How many clusters the items come from. Restarts the run."
    )
    n_items = shared.integer(
        240, (128, 480), "Items", "How many items in the data set. Restarts the run."
    )

    N_NUISANCE = 4  # noise-only input channels next to the 8 content channels
    MAX_EVAL_BATCHES = 16

    scenarios = (
        Scenario(
            "InfoNCE: the bound passes half its ceiling; one group per cluster, spread round",
            steps=1000,
            expect=(
                Expect("bound_fraction", ">=", 0.5),
                Expect("bound_max_over_ceiling", "<=", 1.0),
                # ||z1 - z2||^2 <= 0.05: the two views of an item within 13 degrees of each other
                Expect("alignment", "<=", 0.05),
                # 0 is one point, -1.575 an even circle (six even points give -1.548)
                Expect("uniformity", "<=", -1.3),
                # each cluster on its own arc: nearest cluster centre right for >= 80% of items
                # (neighbouring clusters touch in the data), each arc narrower than ~90 degrees
                Expect("cluster_purity", ">=", 0.8),
                Expect("cluster_tightness", ">=", 0.9),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "negatives off: only the pull is left and everything drifts to one point",
            steps=600,
            settings={"negatives": False},
            expect=(Expect("resultant_length", ">=", 0.99),),
            seeds=(0, 1, 2),
        ),
    )
    presets = (
        Preset("switch-negatives-off", {"negatives": True}),
        Preset("few-then-many-negatives", {"k": 3}),
        Preset("temperature-down-then-up", {"tau": 0.01}),
    )
    predictions = (
        Prediction(
            "bound-with-three-negatives",
            "With only 3 negatives per anchor, what will the held-out bound read after 300 steps?",
            metric="bound",
            steps=300,
            why="With K = 4 candidates the loss can never fall below 0, so the bound log K − L "
            "cannot pass log 4 = 1.39 nats, however much the two views share.",
            answer=1,
            choices=(
                Choice("below 0.7 nats", high=0.7),
                Choice("between 0.7 and 1.39 nats", 0.7, 1.39),
                Choice("above 1.39 nats, about the 2 nats that 31 negatives reach", low=1.39),
            ),
            settings={"k": 3},
            seeds=(0, 1, 2),
        ),
        Prediction(
            "bound-at-high-temperature",
            "With the temperature raised to τ = 1, what will the held-out bound read after 300 "
            "steps (at τ = 0.05 it reaches about 2 nats)?",
            metric="bound",
            steps=300,
            why="At τ = 1 two scores differ by at most 2, so even with the codes spread evenly "
            "round the circle the positive cannot stand out among 32 candidates, and the loss "
            "stays far above 0.",
            answer=0,
            choices=(
                Choice("below 1 nat", high=1.0),
                Choice("between 1 and 2 nats", 1.0, 2.0),
                Choice("above 2 nats, as high as at τ = 0.05", low=2.0),
            ),
            settings={"tau": 1.0},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "loss": Metric(
            "loss", "", "{:.3f}", "the chosen loss on fixed held-out views of every item"
        ),
        "bound": Metric(
            "bound log K − L",
            "nats",
            "{:.2f}",
            "the InfoNCE bound on the information shared by the two views' codes, held-out views",
        ),
        "ceiling": Metric(
            "ceiling log K",
            "nats",
            "{:.2f}",
            "the most the bound can ever say: K = k + 1 candidates per anchor",
        ),
        "bound_max": Metric(
            "best bound so far",
            "nats",
            "{:.2f}",
            "the highest bound seen on a training batch since step 0; never above the ceiling",
        ),
        "alignment": Metric(
            "alignment",
            "",
            "{:.3f}",
            "mean ||z₁ − z₂||² over the two views of each item: 0 when the views agree exactly",
        ),
        "uniformity": Metric(
            "uniformity",
            "",
            "{:.2f}",
            "log of the mean exp(−2||zᵢ − zⱼ||²): 0 for one point, about −1.58 for an even circle",
        ),
        "resultant_length": Metric(
            "collapse meter",
            "",
            "{:.2f}",
            "length of the mean code (mean resultant length): 0 spread round, 1 all on one point",
        ),
    }

    def setup(self) -> None:
        g = self.generator
        self.x, self.labels = arc_inputs(self.n_items, self.n_clusters, g)  # (n, 8), (n,)
        self.encoder = mlp([self.x.shape[1] + self.N_NUISANCE, 32, 2], g)
        weights = [p for p in self.encoder.parameters() if p.ndim > 1]
        biases = [p for p in self.encoder.parameters() if p.ndim == 1]
        self.optimiser = torch.optim.AdamW(
            [
                {"params": weights, "weight_decay": self.weight_decay},
                {"params": biases, "weight_decay": 0.0, "decay": False},
            ],
            lr=self.lr,
        )
        # Fixed views and a fixed shuffle for measuring: readouts never draw from the generator,
        # so watching a run does not change it.
        self.eval_v1, self.eval_v2 = self.views(self.x)
        self.eval_order = torch.randperm(self.n_items, generator=g)
        self.bound_max = -math.inf
        self.history = History(2, every=5)  # (step, bound) of training batches

    def views(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Two views of each item: its content plus a little noise, and nuisance channels that
        are pure noise, drawn independently for each view. x: (N, 8) -> two (N, 12)."""
        g, n = self.generator, len(x)

        def view() -> torch.Tensor:
            content = x + self.view_noise * torch.randn(x.shape, generator=g)
            noise = self.nuisance * torch.randn(n, self.N_NUISANCE, generator=g)
            return torch.cat([content, noise], dim=1)

        return view(), view()

    def codes(self, x: torch.Tensor) -> torch.Tensor:
        return normalise(self.encoder(x))  # (N, 2) on the unit circle

    def objective(self, z1: torch.Tensor, z2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The chosen loss on a batch of K pairs, each anchor against the other K - 1 items'
        second views; and the InfoNCE loss of the same batch (for the bound)."""
        neg = z2[others(len(z1))]  # (K, k, 2)
        scores = candidate_scores(z1, z2, neg, self.tau)  # (K, K), positive first
        if not self.negatives:  # the pull alone
            pull = {
                "infonce": -scores[:, 0],
                "nce": -F.logsigmoid(scores[:, 0]),
                "triplet": (z1 - z2).pow(2).sum(dim=1),
            }
            loss = pull[self.loss].mean()
        elif self.loss == "infonce":
            loss = info_nce_from_scores(scores)
        elif self.loss == "nce":
            loss = binary_nce_loss(z1, z2, neg, self.tau)
        else:
            loss = triplet_margin_loss(z1, z2, neg, self.margin)
        return loss, info_nce_from_scores(scores.detach())

    @property
    def n_candidates(self) -> int:
        return min(self.k, self.n_items - 1) + 1

    def train_step(self) -> dict[str, float]:
        K = self.n_candidates
        batch = torch.randperm(self.n_items, generator=self.generator)[:K]
        v1, v2 = self.views(self.x[batch])
        loss, nce = self.objective(self.codes(v1), self.codes(v2))
        self.optimise(loss)
        bound = math.log(K) - nce.item()
        self.bound_max = max(self.bound_max, bound)
        self.history.add(self.steps, bound)
        return {"loss": loss.item(), "bound": bound}

    @torch.no_grad()
    def eval_batches(self) -> list[torch.Tensor]:
        K = self.n_candidates
        n = min(self.n_items // K, self.MAX_EVAL_BATCHES) * K
        return list(self.eval_order[:n].split(K))

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        z1, z2 = self.codes(self.eval_v1), self.codes(self.eval_v2)  # (n, 2) each
        K = self.n_candidates
        losses, nces = zip(
            *(self.objective(z1[b], z2[b]) for b in self.eval_batches()), strict=True
        )
        bound = math.log(K) - float(torch.stack(nces).mean())
        bound_max = self.bound_max if self.steps else bound
        centres = class_means(z1, self.labels, self.n_clusters)  # (C, 2) mean code per cluster
        return {
            "loss": float(torch.stack(losses).mean()),
            "bound": bound,
            "ceiling": math.log(K),
            "bound_fraction": bound / math.log(K),
            "bound_max": bound_max,
            "bound_max_over_ceiling": bound_max / math.log(K),
            "alignment": float(alignment(z1, z2)),
            "uniformity": float(uniformity(z1)),
            "resultant_length": float(mean_resultant_length(z1)),
            # mean length of each cluster's mean code: 1 when every cluster is a single point
            "cluster_tightness": float(centres.norm(dim=1).mean()),
            # nearest cluster centre (by cosine) is the item's own cluster
            "cluster_purity": cluster_purity(z1, self.labels, self.n_clusters),
        }

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        z1, z2 = self.codes(self.eval_v1), self.codes(self.eval_v2)
        batch = self.eval_batches()[0]
        anchor = batch[0]
        return {
            "z": to_numpy(z1),
            "labels": self.labels.numpy().copy(),
            "anchor": to_numpy(z1[anchor]),
            "positive": to_numpy(z2[anchor]),
            "negatives": to_numpy(z2[batch[1:]]),
            "bound_history": self.history.array(),
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if measured.get("resultant_length", 0.0) >= 0.95:
            text = "collapsed: every item sits on (almost) the same point of the circle"
            return Verdict("collapsed", text)
        if measured.get("bound_fraction", 0.0) >= 0.9:
            text = (
                "near the ceiling: log K caps the bound; more negatives raise the cap, but the "
                "bound follows only while the codes can tell more items apart"
            )
            return Verdict("note", text)
        return None
