"""Mutual information is what a channel carries; the sender learns to use it fully.

A sender picks one of K symbols with probabilities p(x) (a softmax over learnable scores), a
noisy channel p(y | x) turns it into a received symbol. Every entropy and the mutual
information are computed exactly from p(x) and the channel; gradient ascent on I(X;Y) moves
p(x) until I reaches the channel's capacity, which Blahut–Arimoto computes independently.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import ClassVar

import numpy as np
import param
import torch

from models.information import (
    binary_entropy,
    blahut_arimoto,
    channel_terms,
    symmetric_channel,
    z_channel,
    z_channel_capacity,
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
    to_numpy,
)
from sims.units import UNIT_KEY, InformationUnits, in_bits

SYMMETRIC, Z = "symmetric", "Z-channel"
TERMS = ("h_x", "h_y", "h_x_given_y", "h_y_given_x", "mi")


class ChannelSim(InformationUnits, Sim):
    slug = "information-channel"
    title = "Mutual information is what a channel carries"
    live = ("lr", "in_bits")

    kind = param.Selector(
        default=SYMMETRIC,
        objects=[SYMMETRIC, Z],
        label="Channel",
        doc="Symmetric: every symbol is garbled with the error rate, into any other symbol "
        "alike. Z-channel: only the last symbol is garbled, always into the first. Changes the "
        "channel, so the run restarts.",
    )
    symbols = shared.integer(
        2, (2, 6), "Symbols K", "How many symbols the sender can send. Restarts the run."
    )
    error = shared.number(
        0.1,
        (0.0, 1.0),
        0.01,
        "Error rate ε",
        "The chance that a (garbled-able) symbol arrives as another. 0 is the ideal channel; "
        "for the symmetric channel (K − 1)/K makes the output ignore the input. Restarts.",
    )
    lr = shared.learning_rate(0.05, (0.005, 0.5), "Adam", step=0.005)
    in_bits = in_bits()

    scenarios = (
        Scenario(
            "binary symmetric channel: the learned input is uniform and I = 1 − H_b(ε) bits",
            steps=600,
            settings={"kind": SYMMETRIC, "symbols": 2, "error": 0.1, "in_bits": True},
            expect=(
                Expect("capacity_gap", "<=", 1e-3),
                Expect("capacity_gap", ">=", -1e-9),
                Expect("closed_form_gap", "<=", 1e-3),
                Expect("input_error", "<=", 1e-2),
            ),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "Z-channel: the learned input is the closed-form one (within 1e-2)",
            steps=600,
            settings={"kind": Z, "symbols": 2, "error": 0.3},
            expect=(Expect("input_error", "<=", 1e-2), Expect("capacity_gap", "<=", 1e-3)),
            seeds=(0, 1, 2),
        ),
        Scenario(
            "the ideal channel carries everything the sender sends: I = H(X)",
            steps=0,
            settings={"kind": SYMMETRIC, "symbols": 4, "error": 0.0},
            expect=(Expect("equivocation", "<=", 1e-9), Expect("equivocation", ">=", -1e-9)),
        ),
        Scenario(
            "the fully disturbed channel carries nothing, whatever the sender does",
            steps=200,
            settings={"kind": SYMMETRIC, "symbols": 4, "error": 0.75},
            expect=(Expect("mi", "<=", 1e-9), Expect("mi", ">=", -1e-9)),
        ),
    )
    presets = (Preset("fill-the-channel", {"kind": SYMMETRIC, "error": 0.1, "in_bits": True}),)
    predictions = (
        Prediction(
            "a-quarter-intact",
            "Four symbols, each arriving intact only 1 time in 4 and otherwise as one of the "
            "other three at random (ε = 0.75): how much will the trained sender get through?",
            metric="mi",
            steps=200,
            why="Whatever is sent, each of the four symbols is received with probability 1/4, "
            "so the output is independent of the input and I(X;Y) = 0 however the sender "
            "chooses.",
            answer=0,
            choices=(
                Choice("nothing (below 0.01 bits)", high=0.01),
                Choice("a little (0.01 to 0.5 bits)", 0.01, 0.5),
                Choice("more than half a bit", low=0.5),
            ),
            settings={"kind": SYMMETRIC, "symbols": 4, "error": 0.75, "in_bits": True},
            seeds=(0, 1, 2),
        ),
    )
    metrics: ClassVar[Mapping[str, Metric]] = {
        "h_x": Metric("H(X), sent", "nats", "{:.4f}", "uncertainty of the sent symbol"),
        "h_y": Metric("H(Y), received", "nats", "{:.4f}", "uncertainty of the received symbol"),
        "h_x_given_y": Metric(
            "H(X|Y), lost", "nats", "{:.4f}", "what is still unknown about X after seeing Y"
        ),
        "h_y_given_x": Metric(
            "H(Y|X), channel noise", "nats", "{:.4f}", "what the channel adds on its own"
        ),
        "mi": Metric("I(X;Y), carried", "nats", "{:.4f}", "H(X) − H(X|Y) = H(Y) − H(Y|X), exactly"),
        "capacity": Metric(
            "capacity C", "nats", "{:.4f}", "the most I(X;Y) any input can reach (Blahut–Arimoto)"
        ),
        "capacity_gap": Metric(
            "C − I(X;Y)", "nats", "{:.5f}", "how much of the channel the sender still wastes"
        ),
    }

    def setup(self) -> None:
        make = symmetric_channel if self.kind == SYMMETRIC else z_channel
        self.channel = make(self.symbols, self.error)
        self.scores = torch.nn.Parameter(
            torch.randn(self.symbols, generator=self.generator, dtype=torch.float64)
        )
        self.optimiser = torch.optim.Adam([self.scores], lr=self.lr)
        self.capacity, self.best_input = blahut_arimoto(self.channel)
        self.history = History(2, limit=300)
        self.record()

    def input_distribution(self) -> torch.Tensor:
        return torch.softmax(self.scores, 0)

    def terms(self) -> dict[str, float]:
        with torch.no_grad():
            return {
                k: float(v)
                for k, v in channel_terms(self.input_distribution(), self.channel).items()
            }

    def record(self) -> None:
        self.history.add(self.steps, self.terms()["mi"])

    def train_step(self) -> dict[str, float]:
        loss = -channel_terms(self.input_distribution(), self.channel)["mi"]
        self.optimise(loss)
        self.record()
        return {"loss": float(loss.detach())}

    def closed_form(self) -> tuple[float, float] | None:
        """Capacity and best P(X = last symbol) where a formula exists (binary channels)."""
        if self.symbols != 2:
            return None
        if self.kind == Z:
            return z_channel_capacity(self.error)
        return math.log(2.0) - binary_entropy(self.error), 0.5

    def measure(self) -> dict[str, float]:
        terms = self.terms()
        px = self.input_distribution().detach()
        s = self.unit_scale
        out = {key: terms[key] * s for key in TERMS}
        out.update(
            loss=-terms["mi"],
            capacity=self.capacity * s,
            capacity_gap=(self.capacity - terms["mi"]) * s,
            equivocation=terms["h_x"] - terms["mi"],  # H(X) − I: 0 for the ideal channel
            **{UNIT_KEY: float(self.in_bits)},
        )
        closed = self.closed_form()
        if closed is not None:
            capacity, p_last = closed
            out["closed_form_gap"] = abs(capacity - terms["mi"]) * s
            out["input_error"] = abs(float(px[-1]) - p_last)
        else:
            out["input_error"] = float((px - self.best_input).abs().max())
        return out

    def snapshot(self) -> dict[str, np.ndarray]:
        terms = self.terms()
        history = self.history.array()
        history[:, 1:] *= self.unit_scale
        return {
            "terms": np.array([terms[k] for k in TERMS], dtype=np.float32) * self.unit_scale,
            "input": to_numpy(self.input_distribution()),
            "best_input": to_numpy(self.best_input),
            "channel": to_numpy(self.channel),
            "history": history,  # step, I(X;Y)
        }

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        if self.capacity < 1e-9:
            return Verdict("note", "the output ignores the input: nothing gets through")
        if measured.get("capacity_gap", 1.0) / self.unit_scale < 1e-4:
            return Verdict("note", "the sender has reached the channel's capacity")
        return None
