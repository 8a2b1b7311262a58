"""Local-global infomax on handwritten digits: each digit's global vector must pick out its own
local features (the 4x4 grid of an inner layer) among the local features of every other digit
in the batch, as in Deep InfoMax's local objective trained in AMDIM's NCE form.

Switches follow AMDIM: two augmented views (the global vector from one, the locals from the
other), a second scale (the global vector against the earlier 6x6 grid, and the 4x4 locals of
one view against those of the other at the same position), and two stabilisers of the scores,
a penalty on their squares and a soft tanh clip. No label is used in training; a linear probe on
the global vectors of held-out digits is refreshed every few steps. Data: scikit-learn's 8x8
digits, split as in ``sims.contrastive_digits``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from models import dim
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
from sims.contrastive_digits import DigitHalves, digits

HIGHLIGHT = 0  # the held-out digit (index into the held-out set) whose score map is drawn
N_HIST = 64  # held-out digits whose scores fill the histograms
N_BINS = 40
MAX_CHUNKS = 8  # held-out batches averaged for the held-out bound
DEAD = 1e-3  # a spread of scores below this: every digit gets the same output
RUNAWAY = 1e3  # a raw score this large means the scores are growing without bound


def shift_views(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by -1, 0 or +1 pixel in each direction, zeros shifted in.
    x: (N, 1, 8, 8) -> (N, 1, 8, 8)."""
    padded = F.pad(x, (1, 1, 1, 1))  # (N, 1, 10, 10)
    moved = torch.stack([padded[..., r : r + 8, c : c + 8] for r in range(3) for c in range(3)])
    pick = torch.randint(0, 9, (len(x),), generator=generator)
    return moved[pick, torch.arange(len(x))]


class LocalGlobalSim(DigitHalves, Sim):
    slug = "local-global"
    title = "Local and global: a digit's summary picks out its own patches"
    live = (
        "lr",
        "batch_size",
        "penalty",
        "penalty_weight",
        "clip",
        "clip_c",
        "augment",
        "pixel_noise",
        "multiscale",
        "probe_every",
    )

    lr = shared.learning_rate(0.002, (0.0005, 0.05), "Adam", step=0.0005)
    batch_size = shared.integer(
        32,
        (4, 64),
        "Batch size B",
        "Digits per training batch. Each local feature of a digit must be told apart from all "
        "16 local features of the B − 1 other digits: K = 1 + 16 (B − 1) candidates.",
    )
    penalty = shared.boolean(
        True, "Score penalty", "Add the penalty weight times the mean squared score to the loss."
    )
    penalty_weight = shared.number(
        0.04,
        (0.0, 0.2),
        0.01,
        "Penalty weight",
        "Weight of the mean squared score (of every positive and negative score, before the "
        "clip) in the loss: a steady pull of all scores towards zero.",
    )
    clip = shared.boolean(
        True, "Soft clip", "Pass every score through c · tanh(score / c) before the softmax."
    )
    clip_c = shared.number(
        20.0,
        (2.0, 50.0),
        1.0,
        "Clip c",
        "The soft clip's limit: scores near 0 pass unchanged, none goes beyond ±c.",
    )
    augment = shared.boolean(
        True,
        "Two augmented views",
        "Take the global vector from one view and the local features from another; each view "
        "shifts the digit by up to one pixel and adds pixel noise. Off: one clean image.",
    )
    pixel_noise = shared.view_noise(
        0.1, (0.0, 0.5), "Added to every pixel (pixels run from 0 to 1) when augmenting."
    )
    multiscale = shared.boolean(
        True,
        "Multiscale",
        "Add two terms: the global vector against the earlier 6x6 grid, and each 4x4 local "
        "feature of one view against the same position of the other view.",
    )
    global_dim = shared.code_size(
        64,
        (4, 64),
        "The global vector the probe reads. Changes the model, so the run restarts.",
        "Global vector size",
    )
    score_dim = shared.integer(
        32,
        (8, 64),
        "Score space size",
        "Size of the vectors whose dot products are the scores. "
        "Changes the model, so the run restarts.",
    )
    probe_every = shared.integer(
        100,
        (20, 1000),
        "Probe every (steps)",
        "Steps between two refreshes of the linear probe on the global vectors.",
    )

    scenarios = (
        Scenario(
            "two augmented views with both stabilisers: raw scores stay far inside the clip, "
            "and the probe ends below the untrained encoder's",
            steps=300,
            expect=(
                Expect("neg_abs_max", "<=", 15.0),
                Expect("near_clip", "<=", 0.001),
                Expect("probe_gain", "<=", -0.01),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "no penalty, no clip: the negative scores spread wider, yet stay finite and bounded",
            steps=300,
            expect=(
                Expect("neg_abs_max", ">=", 20.0),
                Expect("neg_abs_max", "<=", 100.0),
                Expect("score_std", ">=", 2.5),
            ),
            settings={"penalty": False, "clip": False},
            seeds=(0, 1, 2),
        ),
        Scenario(
            "the top learning rate without stabilisers: the encoder dies, every score the same",
            steps=400,
            expect=(Expect("score_std", "<=", 1e-3), Expect("probe_accuracy", "<=", 0.15)),
            settings={"lr": 0.05, "penalty": False, "clip": False},
            seeds=(0, 1, 2),
        ),
        Scenario(
            "one clean view (no augmentation): the probe ends above the untrained encoder's",
            steps=300,
            expect=(Expect("probe_gain", ">=", 0.005), Expect("probe_accuracy", ">=", 0.9)),
            settings={"augment": False},
            seeds=(0, 1, 2),
        ),
    )
    presets = (
        Preset("train-with-everything-on"),
        Preset("switch-the-stabilisers-off", {"penalty": False, "clip": False}),
        Preset("push-the-learning-rate", {"penalty": False, "clip": False, "lr": 0.05}),
        Preset("one-clean-view", {"augment": False}),
    )
    predictions = (
        Prediction(
            "better-than-a-random-encoder",
            "On the untrained encoder, a linear probe reads 94% of held-out digits from the "
            "global vector. With every switch at its default, where will it be after 100 steps "
            "of training?",
            metric="probe_accuracy",
            steps=100,
            why="On these small digits a random convolutional encoder already sorts the digits "
            "well, and matching the summary of one shifted, noisy copy to the patches of another "
            "teaches it nothing a linear probe can use.",
            answer=0,
            choices=(
                Choice("below 92%: training made it worse", high=0.92),
                Choice("between 92% and 96%, about where it started", 0.92, 0.96),
                Choice("96% or more: training made it better", low=0.96),
            ),
            seeds=(0,),
        ),
        Prediction(
            "stabilisers-at-the-top-learning-rate",
            "At the top learning rate, 0.05, with the score penalty and the soft clip both on, "
            "what will the spread of the held-out scores be after 50 steps?",
            metric="score_std",
            steps=50,
            why="A step this large silences every unit of the local layer, so every digit gets "
            "the same features and every score the same value, and a clip or a penalty on the "
            "scores cannot bring dead units back.",
            answer=0,
            choices=(
                Choice("below 0.001: every score the same", high=0.001),
                Choice("between 0.001 and 1", 0.001, 1.0),
                Choice("above 1: the scores still spread out", low=1.0),
            ),
            settings={"lr": 0.05},
            seeds=(0, 1),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "probe_accuracy": Metric(
            "probe on global vectors",
            "",
            "{:.1%}",
            "held-out digits a linear classifier (fitted on training digits) reads correctly "
            "from the 64 numbers of the global vector",
        ),
        "raw_accuracy": Metric(
            "probe on raw pixels", "", "{:.1%}", "the same classifier on the 64 raw pixels"
        ),
        "untrained_accuracy": Metric(
            "probe on untrained vectors",
            "",
            "{:.1%}",
            "the same classifier on the global vectors of the encoder at step 0",
        ),
        "bound": Metric(
            "bound on held-out digits",
            "nats",
            "{:.2f}",
            "log K − L of the global-to-local loss on clean held-out digits, batches of B",
        ),
        "bound_train": Metric(
            "bound on the training batch",
            "nats",
            "{:.2f}",
            "log K − L of the global-to-local loss at the last training step",
        ),
        "ceiling": Metric(
            "ceiling log K",
            "nats",
            "{:.2f}",
            "the most the bound can say: K = 1 + 16 (B − 1) candidate local features",
        ),
        "pos_abs_mean": Metric(
            "mean |score|, positives", "", "{:.3g}", "before the clip, held-out digits"
        ),
        "pos_abs_max": Metric(
            "max |score|, positives", "", "{:.3g}", "before the clip, held-out digits"
        ),
        "neg_abs_mean": Metric(
            "mean |score|, negatives", "", "{:.3g}", "before the clip, held-out digits"
        ),
        "neg_abs_max": Metric(
            "max |score|, negatives", "", "{:.3g}", "before the clip, held-out digits"
        ),
        "score_std": Metric(
            "spread of the scores",
            "",
            "{:.3g}",
            "standard deviation of all raw held-out scores: 0 when every score is the same",
        ),
        "near_clip": Metric(
            "scores near the clip",
            "",
            "{:.1%}",
            "share of the scores the loss sees (after the clip, if on) larger than 0.9 c",
        ),
    }

    def setup(self) -> None:
        g = self.generator
        self.load_halves()  # the split and labels every digits sim shares; the whole image here
        x = digits()[0]  # (1797, 64)
        self.images = x.view(-1, 1, 8, 8)
        d = self.score_dim
        self.encoder = dim.LocalGlobalEncoder(g, global_dim=self.global_dim)
        self.heads = torch.nn.ModuleDict(
            {
                "global": dim.GlobalHead(self.global_dim, d, g),
                "local": dim.LocalHead(32, d, g),
                "global_early": dim.GlobalHead(self.global_dim, d, g),
                "early": dim.LocalHead(16, d, g),
                "local_src": dim.LocalHead(32, d, g),
                "local_trg": dim.LocalHead(32, d, g),
            }
        )
        parameters = [*self.encoder.parameters(), *self.heads.parameters()]
        self.optimiser = torch.optim.Adam(parameters, lr=self.lr)
        self.raw_accuracy = self._probe(x)
        self.hist_edges = np.linspace(-1.25, 1.25, N_BINS + 1, dtype=np.float32) * self.clip_c
        self.probe_history = History(2)  # (step, probe) at each refresh
        self.bound_history = History(2, every=5)  # (step, bound) of training batches
        self.last_bound = 0.0
        self.refresh(step=0)
        self.untrained_accuracy = self.probe_accuracy

    # -- pieces --------------------------------------------------------------------------------

    @torch.no_grad()
    def refresh(self, step: int) -> None:
        """Re-fit the probe on the current global vectors of every (clean) digit."""
        _, _, glob = self.encoder(self.images)  # (1797, 64)
        self.probe_accuracy = self._probe(glob)
        self.probe_history.add(step, self.probe_accuracy)

    def _prepared(self, raw: torch.Tensor) -> torch.Tensor:
        """The scores the loss sees: soft-clipped if the clip is on."""
        return dim.soft_clip(raw, self.clip_c) if self.clip else raw

    def _view(self, x: torch.Tensor) -> torch.Tensor:
        g = self.generator
        return shift_views(x, g) + self.pixel_noise * torch.randn(x.shape, generator=g)

    @property
    def n_candidates(self) -> int:
        return dim.n_candidates(self.batch_size, 16)

    def objective(self, v1: torch.Tensor, v2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Loss of one batch (global of view 1 against locals of view 2, plus the multiscale
        terms and the penalty) and its main term, the global-to-local NCE. v1, v2: (B, 1, 8, 8)."""
        h = self.heads
        b = len(v1)
        if v2 is v1:
            early2, local1, glob1 = self.encoder(v1)
            local2 = local1
        else:  # both views through the encoder in one pass
            early, local, glob = self.encoder(torch.cat([v1, v2]))
            early2, (local1, local2), glob1 = early[b:], local.split(b), glob[:b]
        raws = [dim.global_local_scores(h["global"](glob1), h["local"](local2))]  # (B, B, 16)
        losses = [dim.global_local_nce(self._prepared(raws[0]))]
        if self.multiscale:
            raws.append(dim.global_local_scores(h["global_early"](glob1), h["early"](early2)))
            losses.append(dim.global_local_nce(self._prepared(raws[-1])))  # (B, B, 36)
            raws.append(dim.local_local_scores(h["local_src"](local1), h["local_trg"](local2)))
            losses.append(dim.local_local_nce(self._prepared(raws[-1])))  # (B, 16, B, 16)
        loss = torch.stack(losses).mean()
        if self.penalty and self.penalty_weight > 0:
            penalty = torch.stack([dim.score_penalty(r) for r in raws]).mean()
            loss = loss + self.penalty_weight * penalty
        return loss, losses[0]

    def train_step(self) -> dict[str, float]:
        g, b = self.generator, self.batch_size
        batch = self.train_idx[torch.randperm(len(self.train_idx), generator=g)[:b]]
        x = self.images[batch]  # (B, 1, 8, 8)
        v1, v2 = (self._view(x), self._view(x)) if self.augment else (x, x)
        loss, main = self.objective(v1, v2)
        self.optimise(loss)
        self.last_bound = math.log(self.n_candidates) - main.item()
        if (self.steps + 1) % self.probe_every == 0:
            self.refresh(step=self.steps + 1)
        self.bound_history.add(self.steps, self.last_bound)
        return {"loss": loss.item(), "bound": self.last_bound}

    @torch.no_grad()
    def _raw_scores(self, idx: torch.Tensor) -> torch.Tensor:
        """Raw global-to-local scores of clean digits ``idx``: (n, n, 16)."""
        _, local, glob = self.encoder(self.images[idx])
        return dim.global_local_scores(self.heads["global"](glob), self.heads["local"](local))

    # -- what a page reads ---------------------------------------------------------------------

    @torch.no_grad()
    def measure(self) -> dict[str, float]:
        b = self.batch_size
        n = min(len(self.test_idx) // b, MAX_CHUNKS) * b
        raws = [self._raw_scores(chunk) for chunk in self.test_idx[:n].split(b)]
        loss = float(torch.stack([dim.global_local_nce(self._prepared(r)) for r in raws]).mean())
        pos = torch.cat([dim.positives(r).flatten() for r in raws]).abs()
        neg = torch.cat([dim.negatives(r) for r in raws]).abs()
        seen = self._prepared(torch.cat([pos, neg]))
        log_k = math.log(self.n_candidates)
        out = {
            "loss": loss,
            "bound": log_k - loss,
            "bound_train": self.last_bound,
            "ceiling": log_k,
            "probe_accuracy": self.probe_accuracy,
            "raw_accuracy": self.raw_accuracy,
            "untrained_accuracy": self.untrained_accuracy,
            "probe_gain": self.probe_accuracy - self.untrained_accuracy,
            "pos_abs_mean": float(pos.mean()),
            "pos_abs_max": float(pos.max()),
            "neg_abs_mean": float(neg.mean()),
            "neg_abs_max": float(neg.max()),
            "score_std": float(torch.cat([r.flatten() for r in raws]).std()),
            "near_clip": float((seen > 0.9 * self.clip_c).float().mean()),
        }
        big = torch.finfo(torch.float32).max  # a score beyond float range reads as the largest
        return {
            k: float(np.nan_to_num(v, nan=big, posinf=big, neginf=-big)) for k, v in out.items()
        }

    @torch.no_grad()
    def snapshot(self) -> dict[str, np.ndarray]:
        """The highlighted held-out digit ``image`` (8, 8) and its positive scores over the 4x4
        grid ``pos_map`` (as the loss sees them); histograms (as shares that sum to 1) of the
        positive and negative scores of N_HIST held-out digits over bins fixed at reset to
        ±1.25 c (scores beyond the edges fall into the end bins); the bound and probe
        histories; ``clip`` holds c while the soft clip is on, and nothing while it is off."""
        raw = self._raw_scores(self.test_idx[:N_HIST])  # (n, n, 16)
        seen = self._prepared(raw)
        lo, hi = float(self.hist_edges[0]), float(self.hist_edges[-1])
        inside = (lo + 1e-6 * (hi - lo), hi - 1e-6 * (hi - lo))
        pos = np.clip(to_numpy(dim.positives(seen)).ravel(), *inside)
        neg = np.clip(to_numpy(dim.negatives(seen)), *inside)
        hist_pos = np.histogram(pos, self.hist_edges)[0] / max(pos.size, 1)
        hist_neg = np.histogram(neg, self.hist_edges)[0] / max(neg.size, 1)
        return {
            "image": to_numpy(self.images[self.test_idx[HIGHLIGHT], 0]),
            "pos_map": to_numpy(seen[HIGHLIGHT, HIGHLIGHT].view(4, 4)),
            "hist_edges": self.hist_edges.copy(),
            "hist_pos": hist_pos.astype(np.float32),
            "hist_neg": hist_neg.astype(np.float32),
            "clip": np.array([self.clip_c] if self.clip else [], dtype=np.float32),
            "probe_history": self.probe_history.array(),
            "bound_history": self.bound_history.array(),
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if measured.get("score_std", 1.0) < DEAD:
            text = (
                "collapsed: every score is the same, the encoder gives every digit one output "
                "(its units have gone silent); lower the learning rate and press Reset"
            )
            return Verdict("collapsed", text)
        biggest = max(measured.get("pos_abs_max", 0.0), measured.get("neg_abs_max", 0.0))
        if biggest > RUNAWAY:
            text = (
                f"scores growing without bound: |s| = {biggest:.0e}; turn on the penalty or "
                "the clip"
            )
            return Verdict("note", text)
        if self.clip and measured.get("near_clip", 0.0) > 0.25:
            text = (
                f"{measured['near_clip']:.0%} of the scores sit at the clip: the softmax can no "
                "longer tell them apart"
            )
            return Verdict("note", text)
        probe, raw = measured.get("probe_accuracy", 0.0), measured.get("raw_accuracy", 1.0)
        if probe >= raw:
            return Verdict(
                "note", f"64 learned numbers beat the 64 raw pixels ({probe:.0%} vs {raw:.0%})"
            )
        return None
