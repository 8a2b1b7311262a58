"""MI estimators against a known answer: four critics, one correlated Gaussian, true MI known.

Pairs come from y = rho x + sqrt(1 - rho^2) eps in d dimensions, whose mutual information is
-d/2 log(1 - rho^2) nats. One critic per estimator (NWJ, DV, InfoNCE, SMILE) is trained on the
same batches to maximise its own objective, and each batch's estimate is compared with the truth
and with log K, the ceiling InfoNCE can never pass. NWJ's and InfoNCE's batch values are lower
bounds in expectation; DV's (the log of a batch mean, biased upwards) and SMILE's (DV clipped)
are estimates, not bounds. After Poole et al. (ICML 2019), Figure 2.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import param
import torch
from torch import nn

from models.contrastive import info_nce_diagonal
from models.mi_bounds import (
    JointCritic,
    SeparableCritic,
    dv,
    infonce,
    nwj,
    rho_for_mi,
    sample_gaussian_pairs,
    smile,
)
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

ESTIMATORS = ("nwj", "dv", "infonce", "smile")
NAMES = {"nwj": "NWJ", "dv": "DV (MINE)", "infonce": "InfoNCE", "smile": "SMILE"}
STAIRCASE = (2.0, 4.0, 6.0, 8.0, 10.0)  # nats, as in Poole et al.
MAX_WINDOW = 500
MAX_POINTS = 400  # the history keeps between MAX_POINTS / 2 and MAX_POINTS rows
LOG_64 = math.log(64)


class MIEstimatorsSim(Sim):
    slug = "mi-estimators"
    title = "Four estimators of mutual information against a known answer"
    live = ("true_mi", "lr", "smile_tau", "window")

    true_mi = shared.number(
        4.0,
        (0.5, 16.0),
        0.5,
        "True MI (nats)",
        "The true mutual information between x and y, in nats (the correlation is set to "
        "match). Ignored while the staircase is on.",
    )
    staircase = shared.boolean(
        True,
        "Staircase: 2 → 10 nats",
        "Step the true MI through 2, 4, 6, 8 and 10 nats during training, as in Poole et al. "
        "Restarts the run.",
    )
    stair_steps = shared.integer(
        500,
        (50, 5000),
        "Steps per stair",
        "Training steps spent on each stair of the staircase. Restarts the run.",
    )
    batch_size = shared.integer(
        64,
        (4, 128),
        "Batch size K",
        "K, the number of pairs per batch. InfoNCE can never report more than log K nats. "
        "Restarts the run.",
    )
    critic = param.Selector(
        label="Critic",
        default="separable",
        objects=["separable", "joint"],
        doc="Separable: f(x, y) = g(x) . h(y), two embeddings and a dot product. Joint: one "
        "network reads x and y together. Restarts the run.",
    )
    dim = shared.integer(
        10,
        (1, 20),
        "Dimensions d",
        "Dimensions of x and y: the same MI spread over more dimensions means a weaker "
        "correlation in each. Restarts the run.",
    )
    lr = shared.learning_rate(0.001, (0.0001, 0.01), "Adam, one for all four critics")
    smile_tau = shared.number(
        5.0,
        (0.5, 20.0),
        0.5,
        "SMILE clip τ",
        "SMILE's clip: each critic score enters the marginal term clipped to [-tau, tau]. "
        "Smaller means less variance and more bias; large tau turns SMILE into DV.",
    )
    window = shared.integer(
        100,
        (10, MAX_WINDOW),
        "Window (steps)",
        "How many recent steps the smoothed estimates and the variance readouts use.",
    )

    scenarios = (
        Scenario(
            "at 2 nats every estimator lands within half a nat of the truth",
            steps=1500,
            settings={"staircase": False, "true_mi": 2.0},
            expect=tuple(Expect(f"{name}_abs_error", "<=", 0.5) for name in ESTIMATORS),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "at 10 nats InfoNCE is pinned under log 64 while NWJ is far noisier",
            steps=600,
            settings={"staircase": False, "true_mi": 10.0, "batch_size": 64},
            expect=(
                Expect("infonce_smooth", ">=", LOG_64 - 0.5),
                Expect("infonce_smooth", "<=", LOG_64),
                Expect("infonce_max_over_log_k", "<=", 0.0),
                Expect("nwj_var_over_infonce_var", ">=", 10.0),
            ),
            seeds=(0, 1, 2),
        ),
    )
    presets = (
        Preset("climb-the-staircase"),
        Preset("move-the-ceiling", {"batch_size": 16}),
        Preset("loosen-smiles-clip"),  # a staircase run; the clip is dragged while it trains
        Preset("give-the-critic-more-freedom", {"critic": "joint"}),
    )
    predictions = (
        Prediction(
            "infonce-at-ten-nats",
            "With the true MI held at 10 nats and a batch of K = 64, where will InfoNCE's "
            "smoothed estimate be after 300 steps?",
            metric="infonce_smooth",
            steps=300,
            why="InfoNCE reads log K minus a loss that is never negative, so from a batch of 64 "
            "it can never report more than log 64 ≈ 4.16 nats, however much information there is.",
            answer=1,
            choices=(
                Choice("below 3 nats", high=3.0),
                Choice("between 3 nats and log 64 ≈ 4.16 nats", 3.0, LOG_64),
                Choice("between 4.16 and 8 nats", LOG_64, 8.0),
                Choice("above 8 nats, close to the truth", low=8.0),
            ),
            settings={"staircase": False, "true_mi": 10.0},
            seeds=(0, 1),
        ),
        Prediction(
            "nwj-against-infonce-noise",
            "With the true MI held at 10 nats and K = 64, how many times larger than InfoNCE's "
            "will NWJ's batch-to-batch variance be after 300 steps?",
            metric="nwj_var_over_infonce_var",
            steps=300,
            why="NWJ averages an exponential of the critic over the mixed pairs, a mean ruled by "
            "rare huge values whose variance grows exponentially with the true MI, while "
            "InfoNCE's value is pinned just under log K.",
            answer=2,
            choices=(
                Choice("about as noisy: under 3 times", high=3.0),
                Choice("between 3 and 30 times", 3.0, 30.0),
                Choice("more than 30 times", low=30.0),
            ),
            settings={"staircase": False, "true_mi": 10.0},
            seeds=(0, 1),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "true_mi": Metric("true MI", "nats", "{:.1f}", "the answer the estimators should find"),
        "log_k": Metric(
            "log K (InfoNCE's ceiling)",
            "nats",
            "{:.2f}",
            "the most InfoNCE can ever report from a batch of K pairs",
        ),
        **{
            f"{name}_smooth": Metric(
                f"{NAMES[name]}, smoothed",
                "nats",
                "{:.2f}",
                "exponential average of the batch estimates over about the last window of steps",
            )
            for name in ESTIMATORS
        },
        "dv_above_truth": Metric(
            "DV batches above the truth",
            "",
            "{:.0%}",
            "share of DV's batch values in the last window that exceed the true MI",
        ),
        "nwj_var_over_infonce_var": Metric(
            "NWJ variance ÷ InfoNCE variance",
            "×",
            "{:,.0f}",
            "how much noisier NWJ's batch estimate is than InfoNCE's, over the last window",
        ),
    }

    HIDDEN = 64
    EMBED = 32
    JOINT_HIDDEN = 32

    def setup(self) -> None:
        g = self.generator
        self.critics = self._make_critics(g)  # one critic per estimator, evaluated together
        self.optimiser = torch.optim.Adam(self.critics.parameters(), lr=self.lr)
        self.recent = np.full((len(ESTIMATORS), MAX_WINDOW), np.nan)  # ring buffer of raw values
        self.recent_mi = np.full(MAX_WINDOW, np.nan)  # the true MI at those steps
        self.latest = dict.fromkeys(ESTIMATORS, math.nan)
        self.ema = dict.fromkeys(ESTIMATORS, math.nan)
        self.running_max = dict.fromkeys(ESTIMATORS, -math.inf)
        # (step, true MI, raw..., smoothed...) of the whole run, thinned as it grows
        self.history = History(2 + 2 * len(ESTIMATORS), limit=MAX_POINTS)
        self.last_mi = self.current_mi()

    def _make_critics(self, g: torch.Generator) -> nn.Module:
        n = len(ESTIMATORS)
        if self.critic == "joint":
            return JointCritic(self.dim, self.JOINT_HIDDEN, g, heads=n)
        return SeparableCritic(self.dim, self.HIDDEN, self.EMBED, g, layers=1, heads=n)

    @property
    def log_k(self) -> float:
        return math.log(self.batch_size)

    def current_mi(self) -> float:
        """The true MI of the batch drawn at the current step, in nats."""
        if self.staircase:
            return STAIRCASE[min(self.steps // self.stair_steps, len(STAIRCASE) - 1)]
        return float(self.true_mi)

    def train_step(self) -> dict[str, float]:
        mi = self.current_mi()
        x, y = sample_gaussian_pairs(
            self.batch_size, self.dim, rho_for_mi(mi, self.dim), self.generator
        )  # (K, d) each
        scores = dict(zip(ESTIMATORS, self.critics(x, y), strict=True))  # (K, K) each
        objectives = {
            "nwj": nwj(scores["nwj"]),
            "dv": dv(scores["dv"]),
            "infonce": infonce(scores["infonce"]),
            "smile": smile(scores["smile"], self.smile_tau),
        }
        # Each critic only feels its own objective: the parameters are disjoint.
        loss = -torch.stack(list(objectives.values())).sum()
        self.optimise(loss)
        estimates = {name: value.item() for name, value in objectives.items()}
        # log K minus a loss that is never negative: in double precision, never above log K.
        nce_loss = info_nce_diagonal(scores["infonce"].detach()).item()
        estimates["infonce"] = self.log_k - nce_loss
        self._record(mi, estimates)
        return {"loss": nce_loss, **estimates}

    def _record(self, mi: float, estimates: dict[str, float]) -> None:
        self.last_mi = mi
        alpha = 2.0 / (self.window + 1)
        slot = self.steps % MAX_WINDOW
        self.recent_mi[slot] = mi
        for row, name in enumerate(ESTIMATORS):
            value = estimates[name]
            self.recent[row, slot] = value
            self.latest[name] = value
            old = self.ema[name]
            self.ema[name] = value if math.isnan(old) else old + alpha * (value - old)
            self.running_max[name] = max(self.running_max[name], value)
        self.history.add(self.steps, mi, *estimates.values(), *self.ema.values())

    def window_values(self) -> tuple[np.ndarray, np.ndarray]:
        """Raw estimates of the last ``window`` steps, (4, n) with n <= window, and the true MI
        at those steps, (n,)."""
        n = min(self.window, self.steps)
        slots = (self.steps - 1 - np.arange(n)) % MAX_WINDOW
        return self.recent[:, slots], self.recent_mi[slots]

    def measure(self) -> dict[str, float]:
        mi = self.last_mi if self.steps else self.current_mi()
        recent, recent_mi = self.window_values()
        out = {"true_mi": mi, "log_k": self.log_k, "steps": float(self.steps)}
        for row, name in enumerate(ESTIMATORS):
            values = recent[row]
            out[name] = self.latest[name] if self.steps else 0.0
            out[f"{name}_smooth"] = self.ema[name] if self.steps else 0.0
            out[f"{name}_var"] = float(np.var(values)) if values.size > 1 else 0.0
            out[f"{name}_error"] = out[f"{name}_smooth"] - mi
            out[f"{name}_abs_error"] = abs(out[f"{name}_error"])
            # Above the truth: for NWJ and InfoNCE batch noise, for DV and SMILE also bias.
            out[f"{name}_above_truth"] = float(np.mean(values > recent_mi)) if values.size else 0.0
        out["infonce_max"] = self.running_max["infonce"] if self.steps else 0.0
        out["infonce_max_over_log_k"] = out["infonce_max"] - self.log_k
        out["nwj_var_over_infonce_var"] = out["nwj_var"] / max(out["infonce_var"], 1e-12)
        return {k: float(v) for k, v in out.items()}

    def snapshot(self) -> dict[str, np.ndarray]:
        """The whole run, thinned to at most MAX_POINTS steps (raw values stay raw)."""
        table = self.history.array()  # (n, 2 + 2 * 4)
        out = {
            "step": table[:, 0],
            "true_mi": table[:, 1],
            "log_k": np.full(len(table), self.log_k, dtype=np.float32),
        }
        for i, name in enumerate(ESTIMATORS):
            out[name] = table[:, 2 + i]
            out[f"{name}_smooth"] = table[:, 2 + len(ESTIMATORS) + i]
        # Variance of every raw estimate over the last window at the current true MI (a stair
        # of the staircase is a change of the truth, not noise), from all steps, not the thinned
        # history: NWJ's rare deep dives would be missed otherwise. NaN with fewer than 3 steps.
        recent, recent_mi = self.window_values()
        same = recent[:, recent_mi == recent_mi[0]] if recent_mi.size else recent  # (4, n)
        out["window_var"] = (
            same.var(axis=1).astype(np.float32)
            if same.shape[1] >= 3
            else np.full(len(ESTIMATORS), np.nan, dtype=np.float32)
        )
        return out

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        broken = [n for n in ESTIMATORS if not math.isfinite(measured.get(n, 0.0))]
        if broken:
            text = f"diverged: {', '.join(broken)} blew up; lower the learning rate"
            return Verdict("note", text)
        log_k, mi = measured.get("log_k", 0.0), measured.get("true_mi", 0.0)
        if mi > log_k + 0.5 and measured.get("infonce_smooth", 0.0) > log_k - 0.5:
            text = (
                f"capped: InfoNCE sits just under log K = {log_k:.2f} nats while the true "
                f"MI is {mi:.1f}"
            )
            return Verdict("note", text)
        return None
