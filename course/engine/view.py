"""The live page for one chapter's sim: controls, readouts, status line, loss curve, plots.

Frames arrive from the trainer pool's thread; ``_on_frame`` keeps only the newest (stale ones
are dropped, their loss points kept) and asks Bokeh, thread-safely, for one flush on the event
loop. A flush updates every plot and readout inside one held document change, so the browser
gets one websocket message per frame.
"""

from __future__ import annotations

import html
import math
import threading
import time
from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool
from panel.custom import JSComponent
from panel.io.state import set_curdoc

from course.engine.chapter import Part, new_figure
from course.engine.pool import POOL, TrainerPool
from course.engine.runner import Frame, Runner
from course.theme import (
    NOTICE_STYLE,
    READOUT_LABEL_STYLE,
    READOUT_TABLE_STYLE,
    READOUT_VALUE_STYLE,
    status_style,
)

SPEEDS = [1, 2, 5, 10, 20, 50, 100, 200, 500]
LOSS_POINTS_PER_UPDATE = 50  # the loss curve keeps its shape without one point per step
LOSS_ROLLOVER = 4000
FRAMES_IN_FLIGHT = 2  # frames sent but not yet applied by the browser, at most
ACK_TIMEOUT = 1.0  # seconds: send anyway if the browser never acknowledges
TEXT_PERIOD = 0.15  # seconds between refreshes of the readouts and status line while training


class Shortcuts(JSComponent):
    """Space trains or pauses, S steps, R resets (ignored while typing in a field)."""

    _esm = """
    export function render({ model }) {
      const keys = {" ": "space", "s": "step", "r": "reset"};
      const onKey = (event) => {
        if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
        const target = event.composedPath()[0];
        const tag = target && target.tagName ? target.tagName : "";
        if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return;
        const action = keys[event.key.toLowerCase()];
        if (!action) return;
        event.preventDefault();
        model.send_msg(action);
      };
      document.addEventListener("keydown", onKey);
      model.on("remove", () => document.removeEventListener("keydown", onKey));
      const el = document.createElement("span");
      el.className = "shortcut-hint";
      el.textContent = "Keys: Space train/pause · S step · R reset";
      return el;
    }
    """

    def __init__(self, on_key, **params: Any) -> None:
        super().__init__(**params)
        self._on_key = on_key

    def _handle_msg(self, msg: Any) -> None:
        self._on_key(str(msg))


class LiveHTML(JSComponent):
    """HTML that changes several times a second (status line, readouts).

    A Bokeh ``Div`` would do, but Bokeh answers any change to a layout model by laying out the
    whole page again, plots included; this component only replaces its own element's content.
    """

    text = param.String(default="")

    _esm = """
    export function render({ model }) {
      const el = document.createElement("div");
      el.innerHTML = model.text;
      model.on("text", () => { el.innerHTML = model.text; });
      return el;
    }
    """


class FrameClock(JSComponent):
    """Flow control between server and browser: the server numbers every frame it sends, and
    the browser echoes the number back once it has applied the frame."""

    frame = param.Integer(default=0)

    _esm = """
    export function render({ model }) {
      model.on("frame", () => model.send_msg(model.frame));
      return document.createElement("span");
    }
    """

    def __init__(self, on_ack, **params: Any) -> None:
        super().__init__(**params)
        self._on_ack = on_ack

    def _handle_msg(self, msg: Any) -> None:
        self._on_ack(int(msg))


def widget_for(p: param.Parameter, value: Any) -> pn.widgets.Widget:
    """A widget whose range, step and tooltip come from the param itself."""
    common = {"label": p.label, "value": value}
    if isinstance(p, param.Boolean):
        return pn.widgets.Checkbox(**common)
    if isinstance(p, param.Selector):
        return pn.widgets.Select(options=p.objects, description=p.doc, **common)
    start, end = p.bounds
    if isinstance(p, param.Integer):
        return pn.widgets.IntSlider(start=start, end=end, step=p.step or 1, **common)
    step = p.step or (end - start) / 100
    decimals = max(0, -math.floor(math.log10(step)))
    return pn.widgets.FloatSlider(
        start=start, end=end, step=step, format=f"0.{'0' * decimals}", **common
    )


def clamp_setting(p: param.Parameter, raw: str) -> tuple[Any, str | None]:
    """Parse a URL value for ``p``: (value, None) if fine, (value or None, notice) if not."""
    try:
        if isinstance(p, param.Boolean):
            if raw.lower() not in {"true", "false", "1", "0", "on", "off", "yes", "no"}:
                raise ValueError
            return raw.lower() in {"true", "1", "on", "yes"}, None
        if isinstance(p, param.Selector):
            if raw not in p.objects:
                raise ValueError
            return raw, None
        number = int(raw) if isinstance(p, param.Integer) else float(raw)
        if not math.isfinite(number):
            raise ValueError
    except ValueError:
        return None, f"ignored {p.name}={raw!r}: not a valid value"
    low, high = p.bounds
    clamped = min(max(number, low), high)
    if clamped != number:
        return clamped, f"{p.name}={raw} is outside {low}–{high}; using {clamped}"
    return number, None


class SimView:
    """Binds one chapter's sim to widgets, plots and a status line for one browser session."""

    def __init__(
        self,
        part: Part,
        settings: dict[str, str] | None = None,
        pool: TrainerPool = POOL,
        doc: Any = None,
        keyboard: bool = True,
    ) -> None:
        self.part = part
        self.keyboard = keyboard  # one sim per page answers Space, S and R
        self.pool = pool
        self.doc = doc
        self.notices: list[str] = []
        sim = part.sim(**self._parse_settings(settings or {}))
        self.runner = Runner(sim, steps_per_frame=self._speed(settings or {}))
        self._inbox_lock = threading.Lock()
        self._latest: Frame | None = None
        self._history: list[tuple[np.ndarray, np.ndarray]] = []  # loss points not yet flushed
        self._loss_backlog: list[tuple[np.ndarray, np.ndarray]] = []  # flushed, not yet drawn
        self._reset_pending = True
        self._flush_scheduled = False
        self.drawn_frame_id = 0
        self._note = ""
        self._text_drawn_at = 0.0
        # Flow control: a slow browser must not build a queue of stale frames (it would take
        # seconds for a click on Pause to get through). The browser echoes each frame's number
        # back; at most FRAMES_IN_FLIGHT go unacknowledged.
        self._sent, self._acked, self._sent_at = 0, 0, 0.0
        self.clock = FrameClock(self._on_ack, height=0, margin=0)

        self.loss_source = ColumnDataSource({"step": [], "loss": []}, name="loss")
        self.figures = [*part.plots(), self._loss_figure()]
        self._build_widgets()
        self.runner.on_frame = self._on_frame
        self._on_frame(self.runner.frame)  # type: ignore[arg-type]
        self.flush()
        pool.add(self.runner, connected=self._connected)

    # -- construction ------------------------------------------------------------------------

    def _parse_settings(self, settings: dict[str, str]) -> dict[str, Any]:
        params = self.part.sim.param
        values = {}
        for name, raw in settings.items():
            if name in ("chapter", "speed", "theme"):
                continue
            if name not in params or name == "name":
                continue  # the page reports settings that no part of it knows
            value, notice = clamp_setting(params[name], raw)
            if notice:
                self.notices.append(notice)
            if value is not None:
                values[name] = value
        return values

    def _speed(self, settings: dict[str, str]) -> int:
        raw = settings.get("speed")
        if raw is None:
            return self.part.speed
        try:
            wanted = int(raw)
        except ValueError:
            self.notices.append(f"ignored speed={raw!r}: not a whole number")
            return self.part.speed
        nearest = min(SPEEDS, key=lambda s: abs(s - wanted))
        if nearest != wanted:
            self.notices.append(f"speed={raw} is not offered; using {nearest}")
        return nearest

    def _loss_figure(self) -> Any:
        fig = new_figure("Training loss", "step", self.part.loss_label, height=220)
        fig.line("step", "loss", source=self.loss_source, line_width=2, color="#0072B2")
        fig.add_tools(HoverTool(tooltips=[("step", "@step{0}"), ("loss", "@loss{0.0000}")]))
        return fig

    def _build_widgets(self) -> None:
        self.train_button = pn.widgets.Button(
            label="Train",
            color="primary",
            width=95,
            description="Start or pause training (Space)",
        )
        self.step_button = pn.widgets.Button(
            label="Step", width=75, description="Pause and train one frame's worth of steps (S)"
        )
        self.reset_button = pn.widgets.Button(
            label="Reset", width=75, description="Back to step 0 with the same seed (R)"
        )
        self.speed = pn.widgets.DiscreteSlider(
            label="Speed (steps per frame)",
            options=SPEEDS,
            value=self.runner.steps_per_frame,
        )
        self.train_button.on_click(lambda _: self.toggle())
        self.step_button.on_click(lambda _: self.step())
        self.reset_button.on_click(lambda _: self.reset())
        self.speed.param.watch(self._on_speed, "value")
        self.shortcuts = Shortcuts(self._on_key)

        sim = self.runner.sim
        self.param_widgets: dict[str, pn.widgets.Widget] = {}
        for name in self.part.controls:
            widget = widget_for(sim.param[name], getattr(sim, name))
            live = name in sim.live
            event = "value_throttled" if "value_throttled" in widget.param and not live else "value"
            widget.param.watch(lambda e, name=name: self._on_setting(name, e.new), event)
            self.param_widgets[name] = widget

        self.status = LiveHTML(sizing_mode="stretch_width")
        self.readouts = LiveHTML(sizing_mode="stretch_width")

    def panel(self) -> pn.viewable.Viewable:
        """The sim section of a chapter page: plots first, controls beside them."""
        buttons = pn.Row(self.train_button, self.step_button, self.reset_button)
        controls = pn.Column(
            buttons,
            self._with_tooltip(
                self.speed,
                "How many optimiser steps run between two frames of "
                "the animation. Higher is faster; 1 shows every step.",
            ),
            *[
                self._with_tooltip(w, self.runner.sim.param[n].doc)
                for n, w in self.param_widgets.items()
            ],
            self.readouts,
            *([self.shortcuts] if self.keyboard else []),
            self.clock,
            width=330,
            css_classes=["sim-controls"],
        )
        plots = pn.Column(
            self.status,
            pn.Row(
                *[pn.pane.Bokeh(fig, sizing_mode="stretch_width") for fig in self.figures[:-1]],
                sizing_mode="stretch_width",
            ),
            pn.pane.Bokeh(self.figures[-1], sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
        return pn.Row(plots, controls, sizing_mode="stretch_width", css_classes=["sim"])

    @staticmethod
    def _with_tooltip(widget: pn.widgets.Widget, doc: str) -> pn.viewable.Viewable:
        """Sliders and checkboxes have no tooltip of their own: put the doc in an icon beside."""
        if "description" in widget.param:
            return widget
        widget.width = 270
        return pn.Row(widget, pn.widgets.TooltipIcon(value=doc, margin=(10, 0, 0, 0)))

    # -- controls ----------------------------------------------------------------------------

    def toggle(self) -> None:
        running = self.runner.toggle()
        self._note = ""
        self._refresh_controls()
        if running:
            self.pool.wake()
        else:
            self._draw_loss(reset=False)  # the points the last frames held back
        if self.runner.frame is not None:
            self._render_readouts(self.runner.frame)
            self._render_status(self.runner.frame)

    def step(self) -> None:
        self._note = ""
        self.runner.step_frame()
        self._refresh_controls()

    def reset(self) -> None:
        self._note = ""
        self.runner.reset()
        self._refresh_controls()

    def _on_key(self, action: str) -> None:
        {"space": self.toggle, "step": self.step, "reset": self.reset}[action]()

    def _on_speed(self, event: param.parameterized.Event) -> None:
        self.runner.steps_per_frame = int(event.new)

    def _on_setting(self, name: str, value: Any) -> None:
        if self.runner.update(**{name: value}):
            p = self.runner.sim.param[name]
            self._note = f"{p.label} changes the data or the model, so the run restarted at step 0."
        elif not self.runner.running:
            self.runner.publish()  # paused: redraw at once, so the change shows (e.g. a floor line)
        self._refresh_controls()
        self._render_status(self.runner.frame)

    def _refresh_controls(self) -> None:
        self.train_button.label = "Pause" if self.runner.running else "Train"
        self.train_button.color = "warning" if self.runner.running else "primary"

    def _connected(self) -> bool:
        if self.doc is None or self.doc.session_context is None:
            return True
        session = getattr(self.doc.session_context, "_session", None)
        return session is None or session.connection_count > 0

    def close(self) -> None:
        """Stop training for good (the browser session ended)."""
        self.pool.remove(self.runner)
        self.runner.on_frame = None

    # -- frames ------------------------------------------------------------------------------

    def _on_frame(self, frame: Frame) -> None:
        """Any thread: keep the newest frame and its loss points; schedule one flush, unless
        the browser is still busy with earlier frames (then the next acknowledgement does)."""
        with self._inbox_lock:
            self._latest = frame
            if frame.reset:  # the points of earlier frames belong to the run that was reset
                self._history = []
            self._history.append(frame.history)
            self._reset_pending |= frame.reset
            if self._flush_scheduled or self.doc is None:
                return
            busy = self._sent - self._acked >= FRAMES_IN_FLIGHT
            if busy and self.runner.running and time.perf_counter() - self._sent_at < ACK_TIMEOUT:
                return
            self._flush_scheduled = True
        self.doc.add_next_tick_callback(self.flush)

    def _on_ack(self, applied: int) -> None:
        """Event loop: the browser has applied frame ``applied``; send the newest one, if any."""
        with self._inbox_lock:
            self._acked = max(self._acked, applied)
            waiting = self._latest is not None and self._latest.id != self.drawn_frame_id
            if not waiting or self._flush_scheduled:
                return
            self._flush_scheduled = True
        self.doc.add_next_tick_callback(self.flush)

    def flush(self) -> None:
        """Event loop: draw the newest frame (once) in one document update."""
        with self._inbox_lock:
            frame, history, reset = self._latest, self._history, self._reset_pending
            self._history, self._reset_pending, self._flush_scheduled = [], False, False
        if frame is None or frame.id == self.drawn_frame_id:
            return
        with set_curdoc(self.doc), pn.io.hold(self.doc):
            self._draw(frame, history, reset)
            self._sent += 1
            self._sent_at = time.perf_counter()
            self.clock.frame = self._sent  # the browser echoes it once applied (_on_ack)

    def _draw(
        self, frame: Frame, history: list[tuple[np.ndarray, np.ndarray]], reset: bool
    ) -> None:
        if frame.snapshot:
            self.part.draw(dict(frame.snapshot))
        # Numbers changing 40 times a second cannot be read, and every redraw costs the browser
        # time: while training, the text and the loss curve follow a few times a second.
        self._loss_backlog = history if reset else self._loss_backlog + history
        now = time.perf_counter()
        if reset or not self.runner.running or now - self._text_drawn_at >= TEXT_PERIOD:
            self._text_drawn_at = now
            self._draw_loss(reset)
            self._render_readouts(frame)
            self._render_status(frame)
        self._refresh_controls()
        self.drawn_frame_id = frame.id

    def _draw_loss(self, reset: bool) -> None:
        backlog, self._loss_backlog = self._loss_backlog, []
        steps = np.concatenate([h[0] for h in backlog]) if backlog else np.array([])
        losses = np.concatenate([h[1] for h in backlog]) if backlog else np.array([])
        if reset:
            self.loss_source.data = {"step": steps, "loss": losses}
        elif len(steps):
            stride = max(1, math.ceil(len(steps) / LOSS_POINTS_PER_UPDATE))
            keep = slice(len(steps) - 1, None, -stride)  # always keep the newest point
            self.loss_source.stream(
                {"step": steps[keep][::-1], "loss": losses[keep][::-1]}, rollover=LOSS_ROLLOVER
            )

    def _render_readouts(self, frame: Frame) -> None:
        def row(key: str, label: str, value: str, unit: str = "", help: str = "") -> str:
            return (
                f'<tr title="{html.escape(help)}"><th style="{READOUT_LABEL_STYLE}">'
                f'{html.escape(label)}</th><td class="value" data-key="{key}" '
                f'style="{READOUT_VALUE_STYLE}">{value}</td><td>{html.escape(unit)}</td></tr>'
            )

        rows = [row("step", "step", f"{frame.step:,}")] + [
            row(r.key, r.label, r.format(frame.measured.get(r.key)), r.unit, r.help)
            for r in self.part.readouts
        ]
        text = f'<table class="readouts" style="{READOUT_TABLE_STYLE}">{"".join(rows)}</table>'

        if self.readouts.text != text:
            self.readouts.text = text

    def _render_status(self, frame: Frame | None) -> None:
        if frame is None:
            return
        if frame.problem:
            state, text = "diverged", frame.problem
        elif self.runner.running:
            state, text = "training", f"Training · step {frame.step:,}"
        elif frame.step == 0:
            state, text = "ready", "Ready · press Train (or Space)"
        else:
            state, text = "paused", f"Paused at step {frame.step:,}"
        if frame.verdict and not frame.problem:
            if frame.verdict.startswith("collapsed"):
                state = "collapsed"
            text += f" · {frame.verdict}"
        extra = "".join(
            f'<div class="notice" style="{NOTICE_STYLE}">{html.escape(n)}</div>'
            for n in [*self.notices, self._note]
            if n
        )
        status = (
            f'<div class="status" data-state="{state}" style="{status_style(state)}">'
            f"{html.escape(text)}</div>" + extra
        )
        if self.status.text != status:
            self.status.text = status
