"""The live page for one chapter's sim: controls, readouts, status line, loss curve, plots.

Frames arrive from the trainer pool's thread into a ``FrameInbox``, which keeps the newest and
asks Bokeh, thread-safely, for one flush on the event loop. A flush draws the frame inside one
held document change, so the browser gets one websocket message per frame; the readouts, the
status line and the loss curve follow only the frames the runner measured (a few a second).
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool
from panel.io.state import set_curdoc

from course.engine import render
from course.engine.chapter import Part, new_figure
from course.engine.components import FrameClock, LiveHTML, Shortcuts
from course.engine.inbox import Delivery, FrameInbox
from course.engine.pool import POOL, TrainerPool
from course.engine.runner import Frame, Runner
from course.engine.settings import SPEEDS, sim_settings, speed_setting

LOSS_POINTS_PER_UPDATE = 50  # the loss curve keeps its shape without one point per step
LOSS_ROLLOVER = 4000

log = logging.getLogger(__name__)


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
        settings = settings or {}
        values, self.notices = sim_settings(part.sim.param, settings)
        speed, notice = speed_setting(settings.get("speed"), part.speed)
        self.notices += [notice] if notice else []
        self.runner = Runner(part.sim(**values), steps_per_frame=speed)
        self.inbox = FrameInbox(self._schedule_flush)
        self._loss_backlog: list[tuple[np.ndarray, np.ndarray]] = []  # flushed, not yet drawn
        self._note = ""
        self.clock = FrameClock(self.inbox.ack)

        self.loss_source = ColumnDataSource({"step": [], "loss": []}, name="loss")
        self.figures = [*part.plots(), self._loss_figure()]
        self._build_widgets()
        self.runner.on_frame = self._on_frame
        self._on_frame(self.runner.frame)  # type: ignore[arg-type]
        self.flush()
        pool.add(self.runner, connected=self._connected)

    @property
    def drawn_frame_id(self) -> int:
        return self.inbox.drawn_id

    # -- construction ------------------------------------------------------------------------

    def _loss_figure(self) -> Any:
        fig = new_figure("Training loss", "step", self.part.loss_label, height=220)
        fig.line("step", "loss", source=self.loss_source, line_width=2, color="#0072B2")
        fig.add_tools(HoverTool(tooltips=[("step", "@step{0}"), ("loss", "@loss{0.0000}")]))
        self.clock.attach(fig)
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
            options=list(SPEEDS),
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
            # The run's last frame goes out now, before the word "Paused": nothing moves after.
            self.flush()
            self._draw_loss(reset=False)  # the points the last frames held back
        if self.runner.frame is not None:
            self._render_text(self.runner.frame)

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
        if self.runner.frame is not None:
            self._render_text(self.runner.frame)

    def _refresh_controls(self) -> None:
        label = "Pause" if self.runner.running else "Train"
        if self.train_button.label != label:  # param.update costs the server even when equal
            self.train_button.param.update(
                label=label, color="warning" if label == "Pause" else "primary"
            )

    def _connected(self) -> bool:
        if self.doc is None or self.doc.session_context is None:
            return True
        session = getattr(self.doc.session_context, "_session", None)
        return session is None or session.connection_count > 0

    def close(self) -> None:
        """Stop training for good (the browser session ended)."""
        self.pool.remove(self.runner)
        self.runner.on_frame = None
        log.info(
            "%s (seed %d): session closed, its run left the trainer pool (%d runs left)",
            type(self.part).__name__,
            self.runner.sim.seed,
            len(self.pool),
        )

    # -- frames ------------------------------------------------------------------------------

    def _on_frame(self, frame: Frame) -> None:
        """Any thread: hand the frame to the inbox, which schedules a flush when one is due."""
        self.inbox.put(frame, running=self.runner.running)

    def _schedule_flush(self) -> None:
        if self.doc is not None:
            self.doc.add_next_tick_callback(self.flush)

    def flush(self) -> None:
        """Event loop: draw the newest frame (once) in one document update."""
        delivery = self.inbox.take()
        if delivery is None:
            return
        with set_curdoc(self.doc), pn.io.hold(self.doc):
            self._draw(delivery)
            self.clock.frame = self.inbox.mark_sent()  # the browser echoes it once applied

    def _draw(self, delivery: Delivery) -> None:
        frame = delivery.frame
        if frame.snapshot:
            self.part.draw(frame)
        # Numbers changing 40 times a second cannot be read, and every redraw costs the browser
        # time: the text and the loss curve follow the measured frames, a few a second.
        reset = delivery.reset
        self._loss_backlog = delivery.history if reset else self._loss_backlog + delivery.history
        if reset or delivery.fresh or not self.runner.running:
            self._draw_loss(reset)
            self._render_text(frame)
        self._refresh_controls()

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

    def _render_text(self, frame: Frame) -> None:
        """The readouts and the status line, each sent only if it changed."""
        metrics = self.runner.sim.readout_metrics(frame.measured)
        readouts = render.readouts_html(frame, metrics, self.part.readouts)
        if self.readouts.text != readouts:
            self.readouts.text = readouts
        state, text = render.status(frame, self.runner.running)
        status = render.status_html(state, text, [*self.notices, self._note])
        if self.status.text != status:
            self.status.text = status
