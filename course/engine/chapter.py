"""What a chapter declares: its sim, its controls and readouts, its plots, and its text.

A chapter never writes threads, callbacks or streaming code, and never computes a number: it
builds Bokeh figures once (``plots``), declaring each data source (``source``) and each
reference line (``reference``), and says how a frame fills them (``draw``, through ``fill``
and ``mark``). Readouts are listed by the sim's metric keys; the sim's ``metrics`` say how each
is labelled. The engine's ``SimView`` does the rest.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from bokeh.models import ColumnDataSource, Label, Span
from bokeh.plotting import figure

from course.engine.runner import Frame
from sims.base import Sim

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
MAX_KEY_CONTROLS = 4  # a student takes in three or four sliders; the rest wait under a card
PRESET_MARK = re.compile(r"\s*<!--\s*preset:\s*([\w-]+)\s*-->")  # in a "What to try" item


@dataclass(frozen=True)
class Text:
    """A chapter's prose, read from ``course/lessons/<slug>.md``."""

    title: str
    question: str
    summary: str
    lesson: str
    try_these: str
    deeper: str
    key_idea: str
    parts: dict[str, str] = field(default_factory=dict)  # "## Part: <title>" introductions

    SECTIONS: ClassVar[dict[str, str]] = {
        "lesson": "lesson",
        "what to try": "try_these",
        "go deeper": "deeper",
        "key idea": "key_idea",
    }

    def experiments(self) -> tuple[str, list[tuple[str, str | None]]]:
        """ "What to try" cut into its numbered items: (the text before them, [(item, preset
        name or None)]), each item's ``<!-- preset: name -->`` mark taken out."""
        pieces = re.split(r"^(?=\d+\. )", self.try_these, flags=re.M)
        intro, items = pieces[0].strip(), []
        for piece in pieces[1:]:
            found = PRESET_MARK.search(piece)
            items.append((PRESET_MARK.sub("", piece).strip(), found.group(1) if found else None))
        return intro, items

    @classmethod
    def load(cls, path: Path) -> Text:
        """``# Title``, then ``Question:`` and ``Summary:`` lines, then ``## Lesson``,
        ``## What to try``, ``## Go deeper`` and ``## Key idea`` sections."""
        source = path.read_text(encoding="utf-8")
        title = re.search(r"^# (.+)$", source, re.M)
        fields: dict[str, str] = {}
        for name in ("question", "summary"):
            match = re.search(rf"^{name}:\s*(.+)$", source, re.M | re.I)
            fields[name] = match.group(1).strip() if match else ""
        parts = re.split(r"^## (.+)$", source, flags=re.M)
        for heading, body in zip(parts[1::2], parts[2::2], strict=True):
            key = cls.SECTIONS.get(heading.strip().lower())
            if key:
                fields[key] = body.strip()
            elif heading.lower().startswith("part:"):
                fields.setdefault("parts", {})[heading.split(":", 1)[1].strip()] = body.strip()
        missing = [k for k in ("question", "summary", *cls.SECTIONS.values()) if not fields.get(k)]
        fields.setdefault("parts", {})
        if not title or missing:
            raise ValueError(f"{path.name}: missing {'title' if not title else ', '.join(missing)}")
        return cls(title=title.group(1).strip(), **fields)


class Part:
    """One live sim on a page: which sim, which controls and readouts, how to draw it.
    Subclasses set the class attributes and implement ``plots`` and ``draw``."""

    title: ClassVar[str] = ""  # a heading above the sim, for chapters with several parts
    sim: ClassVar[type[Sim]]
    controls: ClassVar[tuple[str, ...]] = ()  # param names of the sim, in the order shown
    readouts: ClassVar[tuple[str, ...]] = ()  # metric keys of the sim, in the order shown
    key: ClassVar[tuple[str, ...]] = ()  # the controls shown at once (else the first three)
    speed: ClassVar[int] = 5  # default steps per frame
    loss_label: ClassVar[str] = "loss"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        sim = cls.__dict__.get("sim")
        if sim is None:
            return
        unknown = [key for key in cls.readouts if key not in sim.metrics]
        if unknown:
            raise TypeError(f"{cls.__name__}: {sim.__name__} declares no metric {unknown}")
        missing = [name for name in cls.controls if name not in sim.param or name == "name"]
        if missing:
            raise TypeError(f"{cls.__name__}: {sim.__name__} has no param {missing}")
        stray = [name for name in cls.key if name not in cls.controls]
        if stray or len(cls.key) > MAX_KEY_CONTROLS:
            raise TypeError(
                f"{cls.__name__}: key controls must be at most {MAX_KEY_CONTROLS} of its "
                f"controls, got {cls.key}"
            )

    @classmethod
    def key_controls(cls) -> tuple[str, ...]:
        """The controls shown at once; the others go under "More settings"."""
        return cls.key or tuple(n for n in cls.controls if n != "seed")[:3]

    def __init__(self) -> None:
        self.sources: dict[str, ColumnDataSource] = {}
        self.references: dict[str, tuple[Span, Label | None]] = {}
        self.filled: set[str] = set()  # sources that have held data at least once
        self.marked: set[str] = set()  # reference lines that have had a value at least once

    def source(self, name: str, **columns: Any) -> ColumnDataSource:
        """A named data source (the name lets browser tests find it)."""
        src = ColumnDataSource({k: np.asarray(v) for k, v in columns.items()}, name=name)
        self.sources[name] = src
        return src

    def fill(self, name: str, **columns: np.ndarray) -> None:
        """Set a source's columns, sending the browser only the columns that changed (colours
        and labels usually stay put while positions move)."""
        source = self.sources[name]
        old = source.data
        if any(len(v) for v in columns.values()):
            self.filled.add(name)
        lengths = {len(v) for v in columns.values()}
        if set(old) != set(columns) or {len(v) for v in old.values()} != lengths:
            source.data = columns
            return
        changed = {k: v for k, v in columns.items() if not np.array_equal(old[k], v)}
        if changed:
            source.data.update(changed)

    def reference(
        self, fig: Any, name: str, label: str | None = None, below: bool = False, **style: Any
    ) -> Span:
        """A horizontal (or, with ``dimension="height"``, vertical) reference line on ``fig``,
        hidden until ``mark`` gives it a value; ``label`` adds a text beside it, above the line
        or, with ``below``, under it (for a floor that a curve comes down onto)."""
        style = {"dimension": "width", "line_dash": "dashed", "line_width": 2, **style}
        span = Span(name=name, location=0.0, visible=False, **style)
        fig.add_layout(span)
        text = None
        if label is not None:
            text = Label(
                x=8,
                y=0.0,
                x_units="screen",
                y_offset=-16 if below else 4,
                text="",
                text_font_size="9pt",
                text_color=style.get("line_color", "#333333"),
                visible=False,
                name=f"{name}-label",
            )
            fig.add_layout(text)
        self.references[name] = (span, text)
        return span

    def mark(self, name: str, value: float | None, text: str = "") -> None:
        """Put reference line ``name`` at ``value``, its label reading ``text.format(value)``;
        hide both when the value is unknown (None or not finite)."""
        span, label = self.references[name]
        known = value is not None and math.isfinite(value)
        if known:
            self.marked.add(name)
            if span.location != value:
                span.location = value
        if span.visible != known:
            span.visible = known
        if label is not None:
            if label.visible != known:
                label.visible = known
            if known and (label.y != value or label.text != text.format(value)):
                label.update(y=value, text=text.format(value))

    def plots(self) -> list[Any]:
        """Build the chapter's Bokeh figures (called once per page)."""
        raise NotImplementedError

    def draw(self, frame: Frame) -> None:
        """Fill the sources and mark the reference lines from a frame: its ``snapshot`` and
        its ``measured`` numbers (called inside one held document update)."""
        raise NotImplementedError


class Chapter(Part):
    """A chapter page: its place in the course, its text, and its parts. A chapter with one
    sim is its own part; a chapter with several lists them in ``parts``."""

    slug: ClassVar[str] = ""
    order: ClassVar[int] = 0
    parts: ClassVar[tuple[type[Part], ...]] = ()

    @classmethod
    def text(cls) -> Text:
        return Text.load(LESSONS / f"{cls.slug}.md")

    @classmethod
    def part_classes(cls) -> tuple[type[Part], ...]:
        return cls.parts or (cls,)


def new_figure(title: str, x_label: str, y_label: str, **kwargs: Any) -> Any:
    """A figure with the course's defaults: labelled axes, no logo, sized by its container."""
    options: dict[str, Any] = {
        "height": 360,
        "sizing_mode": "stretch_width",
        "tools": "pan,wheel_zoom,box_zoom,reset,save",
        "toolbar_location": "above",
    }
    options.update(kwargs)
    fig = figure(title=title, x_axis_label=x_label, y_axis_label=y_label, **options)
    fig.toolbar.logo = None
    return fig


def square_figure(title: str, x_label: str, y_label: str, extent: float) -> Any:
    """A figure of [-extent, extent] on both axes, for a cloud of 2-D codes."""
    return new_figure(title, x_label, y_label, x_range=(-extent, extent), y_range=(-extent, extent))


def follow(steps: Any, step: np.ndarray, minimum: float = 200.0) -> None:
    """Stretch a training-step axis (a ``Range1d``) to the newest step, at least ``minimum``
    steps wide. Set from the snapshot rather than left to autoscaling, so an empty plot still
    has axes."""
    steps.end = max(minimum, 1.02 * float(step.max())) if len(step) else minimum


def legend_below(fig: Any) -> None:
    """Move the figure's legend under the plot, its entries in one row."""
    fig.legend.orientation = "horizontal"
    fig.add_layout(fig.legend[0], "below")
