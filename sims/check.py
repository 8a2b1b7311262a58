"""Run sims headless: to their expected states (``check``) and for speed (``bench``)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sims.base import Prediction, Preset, Scenario, Sim
from sims.runs import Runs


@dataclass(frozen=True)
class Row:
    sim: str
    scenario: str
    seed: int
    steps: int
    metric: str
    value: float
    op: str
    target: float
    ok: bool


def run_scenario(
    cls: type[Sim], scenario: Scenario, seed: int, runs: Runs | None = None
) -> list[Row]:
    """Train one sim from ``seed`` for the scenario's steps (or read the run from ``runs``);
    one row per promise."""
    measured = (runs or Runs()).measure(cls, scenario.steps, {**scenario.settings, "seed": seed})
    rows = []
    for expect in scenario.expect:
        value = float(measured.get(expect.metric, float("nan")))
        rows.append(
            Row(
                cls.slug,
                scenario.name,
                seed,
                scenario.steps,
                expect.metric,
                value,
                expect.op,
                expect.target,
                expect.holds(value),
            )
        )
    return rows


def prediction_run(
    cls: type[Sim], prediction: Prediction, seed: int, runs: Runs | None = None
) -> float:
    """The value a prediction is graded on: its setup from ``seed``, trained to its step, as
    the page runs it (or read from ``runs``)."""
    settings = {**prediction.settings, "seed": seed}
    measured = (runs or Runs()).measure(cls, prediction.steps, settings)
    return float(measured.get(prediction.metric, float("nan")))


def preset_sim(cls: type[Sim], preset: Preset) -> Sim:
    """The sim a preset sets up, as the page builds it: defaults, then the preset's settings."""
    return cls(**{**cls.defaults(), **preset.settings})


def cases(registry: dict[str, type[Sim]]) -> list[tuple[type[Sim], Scenario, int]]:
    """Every (sim, scenario, seed) the registry promises something about."""
    return [
        (cls, scenario, seed)
        for cls in registry.values()
        for scenario in cls.scenarios
        for seed in scenario.seeds
    ]


def steps_per_second(cls: type[Sim], seconds: float = 1.5) -> float:
    """Headless training speed at default settings, after a short warm-up."""
    sim = cls()
    sim.run(5)
    n, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        sim.run(10)
        n += 10
    return n / elapsed


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [line.format(*header), line.format(*("-" * w for w in widths))]
    out += [line.format(*map(str, row)) for row in rows]
    return "\n".join(out)
