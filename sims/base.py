"""The contract every simulation follows, and the registry that finds them.

A sim is a plain ``param.Parameterized``: its params are bounded and documented (the bounds
become slider ranges, the docs become tooltips), it owns its data, models and optimiser, and it
never imports a UI library. The live-training engine and ``python -m sims`` drive every sim
through the same few methods: ``reset()``, ``step()``, ``measure()`` and ``snapshot()``.

Everything a page shows is computed here: ``measure()`` gives the numbers (each one a page may
show as a readout is declared in ``metrics`` with its label, unit and doc, as params carry
theirs), ``snapshot()`` the arrays, and ``verdict()`` the diagnosis for the status line.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

import numpy as np
import param
import torch

REGISTRY: dict[str, type[Sim]] = {}

_OPS: dict[str, Callable[[float, float], bool]] = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Expect:
    """One promise about a measured metric, e.g. ``Expect("spread_ratio", "<=", 0.01)``."""

    metric: str
    op: str
    target: float

    def __post_init__(self) -> None:
        if self.op not in _OPS:
            raise ValueError(f"op must be one of {sorted(_OPS)}, got {self.op!r}")

    def holds(self, value: float) -> bool:
        return math.isfinite(value) and _OPS[self.op](value, self.target)


@dataclass(frozen=True)
class Metric:
    """What one measured number means, for a readout: ``label`` in ``unit``, printed with
    ``fmt``; ``doc`` is the tooltip a student reads (as a param's doc is). A ``clock`` metric
    (a time per step) is the one kind that differs between two runs of the same seed."""

    label: str
    unit: str = ""
    fmt: str = "{:.3f}"
    doc: str = ""
    clock: bool = False  # a wall-clock reading, not a function of the seed

    def format(self, value: float | None) -> str:
        if value is None:
            return "–"
        try:
            return self.fmt.format(value)
        except (ValueError, TypeError):
            return str(value)


VERDICT_STATES = ("collapsed", "note")


@dataclass(frozen=True)
class Verdict:
    """A diagnosis for the status line: ``collapsed`` colours it as a collapse, ``note`` only
    adds the text."""

    state: Literal["collapsed", "note"]
    text: str

    def __post_init__(self) -> None:
        if self.state not in VERDICT_STATES:
            raise ValueError(f"state must be one of {VERDICT_STATES}, got {self.state!r}")


@dataclass(frozen=True)
class Scenario:
    """A run the chapter's lesson makes a promise about: settings, length, and the promises."""

    name: str
    steps: int
    expect: tuple[Expect, ...]
    settings: Mapping[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class Preset:
    """The setup of one experiment of a chapter's "What to try", applied in one click: every
    param back to its default, then ``settings``, then a reset. The lesson names it in its item
    as ``<!-- preset: name -->``."""

    name: str
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Choice:
    """One answer of a prediction: it is what happened when the measured value falls in
    ``[low, high)``."""

    label: str
    low: float = -math.inf
    high: float = math.inf

    def contains(self, value: float) -> bool:
        return math.isfinite(value) and self.low <= value < self.high


@dataclass(frozen=True)
class Prediction:
    """A question a student answers before a run, graded by the sim at the decision point.

    The run is the preset-like setup ``settings`` (every other param at its default) on
    ``seeds[0]``, trained to step ``steps``; then ``metric`` is measured. With ``choices`` the
    student picks one and is right when the measured value falls in it (``answer`` is the one
    the seeds give, checked by a test); with ``number`` = (low, high, step) the student sets a
    slider and is right within ``tolerance`` of the measured value (``answer`` is the value the
    seeds give, within half the tolerance). ``why`` is the one sentence shown with the grade."""

    name: str
    question: str
    metric: str
    steps: int
    why: str
    answer: float
    choices: tuple[Choice, ...] = ()
    number: tuple[float, float, float] | None = None
    tolerance: float = 0.0
    settings: Mapping[str, Any] = field(default_factory=dict)
    seeds: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        if bool(self.choices) == (self.number is not None):
            raise ValueError(f"{self.name}: give either choices or a number slider")
        if self.choices and not 0 <= self.answer < len(self.choices):
            raise ValueError(f"{self.name}: answer must index one of the choices")
        if self.number is not None and self.tolerance <= 0:
            raise ValueError(f"{self.name}: a number needs a positive tolerance")
        if self.steps < 1 or not self.seeds:
            raise ValueError(f"{self.name}: needs steps >= 1 and at least one seed")

    def grade(self, guess: float, measured: float) -> tuple[bool, str]:
        """(right?, what happened): ``guess`` is the index of a choice or the slider's value."""
        if self.choices:
            happened = next(
                (c.label for c in self.choices if c.contains(measured)), "none of these"
            )
            return self.choices[int(guess)].contains(measured), happened
        if not math.isfinite(measured):
            return False, "no finite value"
        return abs(guess - measured) <= self.tolerance, f"{measured:g}"


class Sim(param.Parameterized):
    """Base class: subclasses set ``slug`` and implement ``setup``, ``train_step``,
    ``measure`` and ``snapshot``.

    ``live`` names the params that a running sim picks up on its next step (learning rate,
    loss weights); changing any other param changes the data or the model, so the run resets.
    """

    slug: ClassVar[str] = ""
    title: ClassVar[str] = ""
    live: ClassVar[tuple[str, ...]] = ()
    scenarios: ClassVar[tuple[Scenario, ...]] = ()
    presets: ClassVar[tuple[Preset, ...]] = ()  # one per "What to try" item of its lesson
    predictions: ClassVar[tuple[Prediction, ...]] = ()  # graded questions, before a run
    metrics: ClassVar[Mapping[str, Metric]] = {}  # what measure() returns that a page may show

    seed = param.Integer(
        default=0, bounds=(0, 9999), doc="Random seed: the same seed always gives the same run."
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if (
            "slug" in cls.__dict__ and cls.slug
        ):  # a subclass that keeps its parent's slug is a variant
            if cls.slug in REGISTRY and REGISTRY[cls.slug].__qualname__ != cls.__qualname__:
                raise ValueError(f"two sims share the slug {cls.slug!r}")
            REGISTRY[cls.slug] = cls

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        unknown = set(self.live) - set(self.param)
        if unknown:
            raise TypeError(f"{type(self).__name__}.live names unknown params {sorted(unknown)}")
        self.steps = 0
        self.reset()

    # -- the engine's interface ---------------------------------------------------------------

    def reset(self) -> None:
        """Rebuild data, models and optimiser from ``seed``; back to step 0."""
        self.steps = 0
        self.generator = torch.Generator().manual_seed(int(self.seed))
        self.setup()

    def step(self) -> dict[str, float]:
        """One optimiser step; returns plain floats (at least ``loss``)."""
        metrics = self.train_step()
        self.steps += 1
        return metrics

    def run(self, n: int) -> dict[str, float]:
        """``n`` steps; returns the last step's metrics."""
        metrics: dict[str, float] = {}
        for _ in range(n):
            metrics = self.step()
        return metrics

    def settings(self) -> dict[str, Any]:
        """Current param values, for rebuilding the same sim elsewhere."""
        return {name: getattr(self, name) for name in self.param if name != "name"}

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """Every param's default value (what a preset or a prediction starts from)."""
        return {
            name: p.default for name, p in cls.param.objects("existing").items() if name != "name"
        }

    # -- what subclasses provide --------------------------------------------------------------

    def setup(self) -> None:
        raise NotImplementedError

    def train_step(self) -> dict[str, float]:
        raise NotImplementedError

    def measure(self) -> dict[str, float]:
        """Metrics worth a readout or an expectation (may cost a forward pass)."""
        raise NotImplementedError

    def snapshot(self) -> dict[str, np.ndarray]:
        """Plain numpy arrays for drawing; never tensors that the next step will change."""
        raise NotImplementedError

    def verdict(self, measured: Mapping[str, float]) -> Verdict | None:
        """A short diagnosis for the status line (e.g. a collapse), or None."""
        return None

    def readout_metrics(self, measured: Mapping[str, float]) -> Mapping[str, Metric]:
        """How to label the readouts of ``measured``: ``metrics`` unless the sim reports in a
        unit a student can switch (nats or bits), in which case the labels follow the frame."""
        return self.metrics

    # -- helpers for subclasses ---------------------------------------------------------------

    def optimise(self, loss: torch.Tensor) -> None:
        """One step of ``self.optimiser`` on ``loss`` with the live ``lr`` and ``weight_decay``
        params (where the sim has them), so a slider moved mid-run counts from the next step.

        A param group may carry ``"lr_scale"``, the name of a param that multiplies ``lr`` for
        that group, and ``"decay": False`` to keep its weight decay as built (e.g. biases)."""
        lr = getattr(self, "lr", None)
        decay = getattr(self, "weight_decay", None)
        for group in self.optimiser.param_groups:
            if lr is not None:
                scale = group.get("lr_scale")
                group["lr"] = lr * getattr(self, scale) if scale else lr
            if decay is not None and group.get("decay", True):
                group["weight_decay"] = decay
        self.optimiser.zero_grad(set_to_none=True)
        loss.backward()
        self.optimiser.step()


def discover() -> dict[str, type[Sim]]:
    """Import every module in the ``sims`` package so each sim registers itself."""
    import importlib
    import pkgutil

    import sims

    for info in pkgutil.iter_modules(sims.__path__):
        if not info.name.startswith("_") and info.name not in {"base", "check"}:
            importlib.import_module(f"sims.{info.name}")
    return dict(sorted(REGISTRY.items()))


class History:
    """A thinned record of a whole run for a plot: one row ``(step, *values)`` every ``stride``
    steps; past ``limit`` rows every other row is dropped and the stride doubles, so the record
    stays bounded and evenly spaced however long the run."""

    def __init__(self, width: int, every: int = 1, limit: int = 400) -> None:
        if width < 1 or every < 1 or limit < 2:
            raise ValueError(
                f"need width, every >= 1 and limit >= 2, got {width}, {every}, {limit}"
            )
        self.width, self.limit, self.stride = width, limit, every
        self.rows: list[tuple[float, ...]] = []

    def add(self, step: int, *values: float) -> None:
        """Record ``values`` at ``step`` if the step falls on the stride."""
        if len(values) + 1 != self.width:
            raise ValueError(f"expected {self.width - 1} values, got {len(values)}")
        if step % self.stride:
            return
        self.rows.append((float(step), *map(float, values)))
        if len(self.rows) > self.limit:
            self.rows = self.rows[::2]
            self.stride *= 2

    def array(self) -> np.ndarray:
        """The rows as a float32 (n, width) array."""
        return np.asarray(self.rows, dtype=np.float32).reshape(-1, self.width)

    def __len__(self) -> int:
        return len(self.rows)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    """A detached float32 copy, safe to hand to another thread."""
    return tensor.detach().to(torch.float32).numpy().copy()
