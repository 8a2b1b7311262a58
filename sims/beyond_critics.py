"""Three critics, one batch: does the critic that finds the most information teach the best codes?

Three runs train in lockstep on the same batches of handwritten digits (top half and bottom
half, as in ``sims.contrastive_digits``), each with its own pair of encoders, all three pairs
initialised identically, and each with its own critic scoring every pair of the batch:

- bilinear, f(u, v) = u^T W v (``models.critics.BilinearCritic``);
- separable, f(u, v) = MLP1(u) . MLP2(v) (``models.mi_bounds.SeparableCritic``);
- joint, f(u, v) = MLP([u; v]) on all K x K pairs (``models.mi_bounds.JointCritic``).

Each run maximises InfoNCE on its batch. The sim reports each run's estimate on held-out digits
and a linear probe of its top-half codes u (the encoder's output, not the critic's features).
After Tschannen et al. (ICLR 2020), "On Mutual Information Maximization for Representation
Learning", who found that the critic with the most capacity gave the highest estimate but not
the best codes.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from models.critics import BilinearCritic
from models.encoders import mlp
from models.mi_bounds import JointCritic, SeparableCritic, infonce
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
)
from sims.contrastive_digits import N_HELD_OUT, RAW_PROBE, DigitHalves

CRITICS = ("bilinear", "separable", "joint")
NAMES = {"bilinear": "bilinear", "separable": "separable", "joint": "joint MLP"}
ENCODER_HIDDEN = 128  # hidden units of every encoder (one ReLU layer)
TRAIN_WINDOW = 25  # training-batch estimates averaged for the readout
MAX_CHUNKS = 16  # held-out groups of K digits the estimate averages over, at most


def make_critic(kind: str, dim: int, hidden: int, generator: torch.Generator) -> nn.Module:
    """One critic scoring (K, dim) codes against (K, dim) codes: (1, K, K) scores."""
    if kind == "bilinear":
        return BilinearCritic(dim, generator)
    if kind == "separable":
        return SeparableCritic(dim, hidden, hidden, generator)
    if kind == "joint":
        return JointCritic(dim, hidden, generator)
    raise ValueError(f"critic must be one of {CRITICS}, got {kind!r}")


def _metrics() -> dict[str, Metric]:
    """The readouts: per critic its held-out estimate, training estimate and probe; then the
    references and the differences the scenarios promise."""
    out: dict[str, Metric] = {}
    for c in CRITICS:
        name = NAMES[c]
        out[f"estimate_{c}"] = Metric(
            f"estimate, {name}",
            "nats",
            "{:.2f}",
            f"InfoNCE log K − L of the {name} run on held-out digits (never trained on)",
        )
    for c in CRITICS:
        name = NAMES[c]
        out[f"train_estimate_{c}"] = Metric(
            f"training estimate, {name}",
            "nats",
            "{:.2f}",
            f"InfoNCE log K − L of the {name} run on its training batches "
            f"(mean of the last {TRAIN_WINDOW} steps)",
        )
    for c in CRITICS:
        name = NAMES[c]
        out[f"probe_{c}"] = Metric(
            f"probe, {name}",
            "",
            "{:.1%}",
            f"held-out digits a linear classifier reads from the top-half codes of the {name} run",
        )
    out.update(
        {
            "raw_accuracy": RAW_PROBE,
            "untrained_accuracy": Metric(
                "probe on untrained codes",
                "",
                "{:.1%}",
                "the same classifier on the codes at step 0 (the same for all three runs)",
            ),
            "ceiling": Metric(
                "ceiling log K",
                "nats",
                "{:.2f}",
                "the most InfoNCE can ever say: K = k + 1 candidates",
            ),
            "estimate_joint_minus_bilinear": Metric(
                "estimate: joint − bilinear",
                "nats",
                "{:+.2f}",
                "how much more the joint MLP critic reports on held-out digits than the "
                "bilinear one",
            ),
            "probe_bilinear_minus_joint": Metric(
                "probe: bilinear − joint",
                "",
                "{:+.1%}",
                "how much better the bilinear run's codes are read than the joint run's",
            ),
            "probe_spread": Metric(
                "probe spread",
                "",
                "{:.1%}",
                "best probe minus worst probe of the three runs",
            ),
            "probe_gain_min": Metric(
                "smallest probe gain",
                "",
                "{:+.1%}",
                "the worst of the three probes minus the probe on untrained codes",
            ),
        }
    )
    return out


class BeyondCriticsSim(DigitHalves, Sim):
    slug = "beyond-mi-critics"
    title = "A bigger critic is not a better teacher: three critics on the same digits"
    live = ("lr", "k", "pixel_noise", "probe_every")

    lr = shared.learning_rate(0.003, (0.0002, 0.03), "Adam, for all three runs")
    k = shared.negatives_per_anchor(63, (3, 255))
    pixel_noise = shared.view_noise(
        0.2,
        (0.0, 1.0),
        "Here it is added to every pixel (pixels run from 0 to 1) of both halves at each "
        "training step, the same noise for all three runs.",
    )
    code_dim = shared.code_size(
        16,
        (2, 64),
        "The encoders' output u, which the critic scores and the probe reads. Changes the "
        "models, so the run restarts.",
    )
    critic_hidden = shared.integer(
        64,
        (8, 128),
        "Critic hidden units",
        "Hidden units of the separable and joint critics (one ReLU layer; the separable "
        "critic's features are as wide). The bilinear critic has none. Changes the models: "
        "restarts.",
    )
    probe_every = shared.integer(
        200,
        (50, 2000),
        "Probe every (steps)",
        "Steps between two refreshes of the three linear probes.",
    )

    scenarios: ClassVar[tuple[Scenario, ...]] = (
        Scenario(
            "the joint MLP critic reports the least, yet the three probes land within a few points",
            steps=600,
            expect=(
                Expect("estimate_joint_minus_bilinear", "<=", -0.12),
                Expect("probe_spread", "<=", 0.07),
                Expect("probe_gain_min", ">=", 0.02),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "with 64-number codes the bilinear critic beats the joint MLP on estimate and probe",
            steps=600,
            settings={"code_dim": 64},
            expect=(
                Expect("estimate_joint_minus_bilinear", "<=", -0.15),
                Expect("probe_bilinear_minus_joint", ">=", 0.008),
            ),
            seeds=(0, 1, 2),
        ),
    )
    presets = (Preset("three-critics"),)
    predictions = (
        Prediction(
            "the-most-flexible-critic",
            "The joint MLP critic can score pairs in ways a bilinear uᵀWv cannot. After 200 "
            "steps, how will its held-out estimate compare with the bilinear critic's?",
            metric="estimate_joint_minus_bilinear",
            steps=200,
            why="A joint network must learn from scratch that a pair matches, while a bilinear "
            "critic is built around a dot product, so in a short run the bigger critic finds "
            "less, not more.",
            answer=0,
            choices=(
                Choice("lower, by more than 0.1 nats", high=-0.1),
                Choice("within 0.1 nats of it", -0.1, 0.1),
                Choice("higher, by more than 0.1 nats", low=0.1),
            ),
            seeds=(0, 1),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = _metrics()

    def setup(self) -> None:
        g = self.generator
        self.load_halves()
        sizes = [32, ENCODER_HIDDEN, self.code_dim]
        top, bottom = mlp(sizes, g, activation=nn.ReLU), mlp(sizes, g, activation=nn.ReLU)
        runs = {}
        for c in CRITICS:  # the same encoders at step 0 in every run; each its own critic
            critic = make_critic(c, self.code_dim, self.critic_hidden, g)
            runs[c] = nn.ModuleDict(
                {"top": copy.deepcopy(top), "bottom": copy.deepcopy(bottom), "critic": critic}
            )
        self.runs = nn.ModuleDict(runs)
        self.optimiser = torch.optim.Adam(self.runs.parameters(), lr=self.lr)
        self.raw_accuracy = self._probe(self.top)
        self.recent = {c: deque(maxlen=TRAIN_WINDOW) for c in CRITICS}
        self.probe_history = History(4)  # (step, bilinear, separable, joint) at each refresh
        self.estimate_history = History(4, every=5)  # (step, ...) training-batch estimates
        self.refresh(step=0)
        self.untrained_accuracy = self.probes["bilinear"]

    @torch.no_grad()
    def refresh(self, step: int) -> None:
        """Re-fit the three probes on the current top-half codes u of each run."""
        self.probes = {c: self._probe(run["top"](self.top)) for c, run in self.runs.items()}
        self.probe_history.add(step, *(self.probes[c] for c in CRITICS))

    @property
    def n_candidates(self) -> int:
        return self.k + 1

    @staticmethod
    def estimate(run: nn.ModuleDict, top: torch.Tensor, bottom: torch.Tensor) -> torch.Tensor:
        """InfoNCE log K - L of one run on K pairs of halves, all against all. (K, 32) x 2 -> ()."""
        return infonce(run["critic"](run["top"](top), run["bottom"](bottom))[0])

    def train_step(self) -> dict[str, float]:
        g, K = self.generator, self.n_candidates
        batch = self.train_idx[torch.randperm(len(self.train_idx), generator=g)[:K]]
        top = self.top[batch] + self.pixel_noise * torch.randn(K, 32, generator=g)  # (K, 32)
        bottom = self.bottom[batch] + self.pixel_noise * torch.randn(K, 32, generator=g)
        estimates = {c: self.estimate(run, top, bottom) for c, run in self.runs.items()}
        # The runs share no parameter, so one Adam on the summed losses trains each on its own.
        self.optimise(-torch.stack(list(estimates.values())).sum())
        values = {c: e.item() for c, e in estimates.items()}
        for c, v in values.items():
            self.recent[c].append(v)
        self.estimate_history.add(self.steps, *(values[c] for c in CRITICS))
        if (self.steps + 1) % self.probe_every == 0:
            self.refresh(step=self.steps + 1)
        loss = math.log(K) - sum(values.values()) / len(values)
        return {"loss": loss, **{f"est_{c}": v for c, v in values.items()}}

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        K = self.n_candidates
        n = max(min(N_HELD_OUT // K, MAX_CHUNKS), 1) * K
        top, bottom = self.top[self.test_idx[:n]], self.bottom[self.test_idx[:n]]
        chunks = list(zip(top.split(K), bottom.split(K), strict=True))  # clean, held-out
        held_out = {
            c: float(torch.stack([self.estimate(run, a, b) for a, b in chunks]).mean())
            for c, run in self.runs.items()
        }
        out = {"ceiling": math.log(K)}
        for c in CRITICS:
            out[f"estimate_{c}"] = held_out[c]
            recent = self.recent[c]
            out[f"train_estimate_{c}"] = sum(recent) / len(recent) if recent else 0.0
            out[f"probe_{c}"] = self.probes[c]
        out["raw_accuracy"] = self.raw_accuracy
        out["untrained_accuracy"] = self.untrained_accuracy
        out["estimate_joint_minus_bilinear"] = held_out["joint"] - held_out["bilinear"]
        out["probe_bilinear_minus_joint"] = self.probes["bilinear"] - self.probes["joint"]
        probes = [self.probes[c] for c in CRITICS]
        out["probe_spread"] = max(probes) - min(probes)
        out["probe_gain_min"] = min(probes) - self.untrained_accuracy
        return out

    def snapshot(self) -> dict[str, np.ndarray]:
        return {
            "probe_history": self.probe_history.array(),
            "estimate_history": self.estimate_history.array(),
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        probes = {c: measured.get(f"probe_{c}", 0.0) for c in CRITICS}
        estimates = {c: measured.get(f"estimate_{c}", 0.0) for c in CRITICS}
        if max(probes.values()) == min(probes.values()):
            return None  # before the first refresh the three probes read the same codes
        top_estimate = max(CRITICS, key=estimates.__getitem__)
        top_probe = max(CRITICS, key=probes.__getitem__)
        e, p = estimates[top_estimate], probes[top_probe]
        if top_estimate == top_probe:
            text = (
                f"the {NAMES[top_estimate]} critic both reports the most information "
                f"({e:.2f} nats) and gives the codes that read best ({p:.0%})"
            )
        else:
            text = (
                f"the {NAMES[top_estimate]} critic reports the most information ({e:.2f} nats), "
                f"but the {NAMES[top_probe]} critic's codes read best ({p:.0%})"
            )
        return Verdict("note", text)
