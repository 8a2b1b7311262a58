"""Pinned runs: a run's curves kept as grey ghosts on the same plots, to hold it against the next.

Every curve over training steps (the loss, and each source of a part with a ``step`` column)
gets a ghost renderer, drawn under the live curve, for each of two slots; a slot's ghosts are
made at its first pin (a page that never pins pays nothing for them), and pinning copies the
curves' current data into them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bokeh.models import ColumnDataSource, GlyphRenderer, Label, Line, Plot

SLOTS = ("A", "B")  # at most two pinned runs per sim
DASHES = {"A": "dashed", "B": "dotted"}
GHOST = "#8a8a8a"


@dataclass
class Pin:
    """One pinned run: when it was pinned and with which settings."""

    slot: str
    step: int
    settings: dict[str, Any]


class Pins:
    """The ghosts of one sim's curves, for ``SLOTS`` pinned runs."""

    def __init__(self, figures: Sequence[Any], curves: Sequence[ColumnDataSource], prefix: str):
        self.pins: list[Pin] = []
        self.prefix = prefix
        self._ghosts: dict[str, list[_Ghost]] = {slot: [] for slot in SLOTS}
        names = {id(source) for source in curves}
        plots = [
            p for f in figures for p in ([f] if isinstance(f, Plot) else f.select({"type": Plot}))
        ]
        self._curves = [  # (plot, live renderer): where the ghosts go once a run is pinned
            (plot, r)
            for plot in plots
            for r in plot.renderers
            if isinstance(r, GlyphRenderer) and id(r.data_source) in names
        ]

    def _build(self, slot: str) -> None:
        """The slot's ghosts, made at its first pin (most pages never pin: they cost nothing),
        drawn under the live curves."""
        for plot, renderer in self._curves:
            plot.renderers = [self._ghost(plot, renderer, slot, self.prefix), *plot.renderers]

    def _ghost(self, fig: Any, renderer: GlyphRenderer, slot: str, prefix: str) -> GlyphRenderer:
        source: ColumnDataSource = renderer.data_source
        name = f"pin-{slot.lower()}-{prefix}{source.name}"
        ghost = ColumnDataSource({k: [] for k in source.data}, name=name)
        style: dict[str, Any] = {"line_color": GHOST, "line_alpha": 0.7, "line_dash": DASHES[slot]}
        glyph = renderer.glyph
        if "fill_color" in glyph.properties():
            style.update(fill_color=GHOST, fill_alpha=0.25, line_dash="solid")
        label = None
        if isinstance(glyph, Line):  # a curve: its letter at its end
            label = Label(
                x=0,
                y=0,
                text=slot,
                visible=False,
                text_color=GHOST,
                text_font_size="9pt",
                x_offset=3,
                name=f"{name}-label",
            )
            fig.add_layout(label)
        self._ghosts[slot].append(
            _Ghost(source, ghost, label, _field(glyph, "x"), _field(glyph, "y"))
        )
        return GlyphRenderer(
            data_source=ghost,
            glyph=glyph.clone(**{k: v for k, v in style.items() if k in glyph.properties()}),
            name=f"{name}-glyph",
        )

    @property
    def full(self) -> bool:
        return len(self.pins) >= len(SLOTS)

    def pin(self, step: int, settings: Mapping[str, Any]) -> Pin | None:
        """Copy every curve as it stands into the next free ghost; None if both are taken."""
        if self.full:
            return None
        slot = next(s for s in SLOTS if s not in {p.slot for p in self.pins})
        if not self._ghosts[slot]:
            self._build(slot)
        for g in self._ghosts[slot]:
            data = {k: list(v) for k, v in g.live.data.items()}
            g.ghost.data = data
            xs, ys = data.get(g.x or "", []), data.get(g.y or "", [])
            if g.label is not None and len(xs) and len(ys):
                g.label.update(x=float(xs[-1]), y=float(ys[-1]), visible=True)
        pin = Pin(slot, step, dict(settings))
        self.pins.append(pin)
        return pin

    def clear(self) -> None:
        for slot in SLOTS:
            for g in self._ghosts[slot]:
                g.ghost.data = {k: [] for k in g.ghost.data}
                if g.label is not None:
                    g.label.visible = False
        self.pins.clear()

    def describe(self, now: Mapping[str, Any], labels: Mapping[str, str]) -> str:
        """One line per pin: its slot, its step, and the settings in which it differs from
        ``now`` (``labels`` names them as the controls do)."""
        lines = []
        for pin in self.pins:
            differ = [
                f"{labels.get(k, k)} {_shown(v)}"
                for k, v in pin.settings.items()
                if k in labels and now.get(k) != v
            ]
            what = ", ".join(differ) if differ else "the same settings"
            lines.append(f"{pin.slot} ({DASHES[pin.slot]} grey), step {pin.step:,}: {what}")
        return " · ".join(lines)


@dataclass(frozen=True)
class _Ghost:
    live: ColumnDataSource
    ghost: ColumnDataSource
    label: Label | None
    x: str | None  # the columns the glyph draws, where its letter goes
    y: str | None


def _field(glyph: Any, name: str) -> str | None:
    spec = getattr(glyph, name, None)
    return spec if isinstance(spec, str) else getattr(spec, "field", None)


def _shown(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
