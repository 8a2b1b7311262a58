"""The live page for one chapter's sim: controls, readouts, status line, loss curve, plots.

Frames arrive from the trainer pool's thread into a ``FrameInbox``, which keeps the newest and
asks Bokeh, thread-safely, for one flush on the event loop. A flush draws the frame inside one
held document change, so the browser gets one websocket message per frame; the readouts, the
status line and the loss curve follow only the frames the runner measured (a few a second).
"""

from __future__ import annotations

import html
import io
import logging
import math
import time
from collections.abc import Mapping
from functools import partial
from typing import Any

import numpy as np
import panel as pn
import param
from bokeh.models import ColumnDataSource, HoverTool
from panel.io.state import set_curdoc

from course.engine import address, render, wire
from course.engine.chapter import Part, new_figure
from course.engine.components import FrameClock, LiveHTML, Shortcuts, copy_link_button
from course.engine.inbox import Delivery, FrameInbox
from course.engine.pins import Pins
from course.engine.pool import POOL, TrainerPool
from course.engine.predict import PredictionCard
from course.engine.runner import Frame, Runner
from course.engine.settings import SPEEDS, sim_settings, speed_setting
from sims import export
from sims.base import Prediction

CONNECT_GRACE = 60.0  # seconds a new session's browser has to connect before it counts as gone
LOSS_POINTS_PER_UPDATE = 50  # the loss curve keeps its shape without one point per step
LOSS_ROLLOVER = 4000

log = logging.getLogger(__name__)
wire.install()  # a frame leaves in one socket write (course/engine/wire.py)


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
    """Binds one chapter's sim to widgets, plots and a status line for one browser session.

    ``settings`` come from the address (see ``course.engine.address``): the sim's params, the
    speed, a ``step`` to open at, and the controls to ``lock`` or ``hide``. ``index`` and
    ``n_parts`` place the sim on its page, for the address's keys; ``on_change`` is told
    whenever the address should follow the page."""

    def __init__(
        self,
        part: Part,
        settings: dict[str, str] | None = None,
        pool: TrainerPool = POOL,
        doc: Any = None,
        keyboard: bool = True,
        index: int = 0,
        n_parts: int = 1,
        on_change: Any = None,
        on_state: Any = None,
        on_answer: Any = None,
    ) -> None:
        self.part = part
        self.keyboard = keyboard  # one sim per page answers Space, S and R
        self.pool = pool
        self.doc = doc
        self.index, self.n_parts = index, n_parts
        self.on_change = on_change
        self.on_state = on_state  # told when the run starts or stops training
        self.on_answer = on_answer  # told (prediction, answer, right?) when one is graded
        settings = address.scoped(settings or {}, index)
        values, self.notices = sim_settings(part.sim.param, settings)
        speed, notice = speed_setting(settings.get("speed"), part.speed)
        self.notices += [notice] if notice else []
        step, notice = address.step_setting(settings.get("step"))
        self.notices += [notice] if notice else []
        self.locked = address.names(settings.get("lock"), index)
        self.hidden = address.names(settings.get("hide"), index)
        self.runner = Runner(part.sim(**values), steps_per_frame=speed)
        self.inbox = FrameInbox(self._schedule_flush)
        self._loss_backlog: list[tuple[np.ndarray, np.ndarray]] = []  # flushed, not yet drawn
        self._note = ""
        self._applying = False  # widgets being set from the sim, not by the student
        self._pending: tuple[PredictionCard, float] | None = None  # locked in, not yet graded
        self._opening = 0  # the step the address opens the run at, until it gets there
        self.clock = FrameClock(self.inbox.ack)
        self._born, self._seen_browser = time.monotonic(), False

        self.loss_source = ColumnDataSource({"step": [], "loss": []}, name=self._name("loss"))
        self.figures = [*part.plots(), self._loss_figure()]
        curves = [self.loss_source, *(s for s in part.sources.values() if "step" in s.data)]
        self.pins = Pins(self.figures, curves, prefix=f"{index}-")
        self._build_widgets()
        self.cards = {
            p.name: PredictionCard(
                p, part.sim.metrics[p.metric], partial(self.predict, p), where=part.title
            )
            for p in part.sim.predictions
        }
        for p in part.sim.predictions:
            fixed = self._fixed_against(p)
            if fixed:
                self.cards[p.name].unavailable(
                    f"This link fixes {', '.join(fixed)}, and this prediction's run sets "
                    f"{'it' if len(fixed) == 1 else 'them'} otherwise: its answer is checked "
                    "on that run only, so it cannot be graded on this page."
                )
        self.runner.on_frame = self._on_frame
        self.runner.on_wait = self._on_wait
        self._on_frame(self.runner.frame)  # type: ignore[arg-type]
        self.flush()
        pool.add(self.runner, connected=self._connected)
        if step:
            self._opening = step
            self.runner.train_to(step, rush=True)
            self._note = (
                f"Opening at step {step:,}: training there from step 0 with these settings."
            )
            self._refresh_controls()
            self._render_text(self.runner.frame)  # type: ignore[arg-type]
            self.pool.wake()

    @property
    def drawn_frame_id(self) -> int:
        return self.inbox.drawn_id

    def _name(self, name: str) -> str:
        """A Bokeh model name unique on the page (the first sim keeps the plain name)."""
        return name if self.index == 0 else f"{name}-{self.index + 1}"

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
        self.pin_button = pn.widgets.Button(
            label="Pin",
            width=60,
            description="Keep this run's curves as a grey ghost (two at most)",
        )
        self.clear_button = pn.widgets.Button(
            label="Clear pins", width=90, description="Remove the pinned ghosts", disabled=True
        )
        self.pin_button.on_click(lambda _: self.pin())
        self.clear_button.on_click(lambda _: self.clear_pins())
        self.pins_text = LiveHTML(sizing_mode="stretch_width", css_classes=["pins"])
        self.download = pn.widgets.FileDownload(
            callback=self._script,
            filename=export.filename(type(self.runner.sim)),
            label="Download script",
            color="default",
            width=150,
            description="A Python file that trains this sim with these settings and prints "
            "these readouts",
        )
        self.copy_link = copy_link_button(width=95)
        self._apply_lock_and_hide()

    def notify(self, notices: list[str]) -> None:
        """Put notices about the page's address (names nothing on it knows) first."""
        self.notices[:0] = notices
        if notices and self.runner.frame is not None:
            self._render_text(self.runner.frame)

    def _apply_lock_and_hide(self) -> None:
        widgets = {**self.param_widgets, "speed": self.speed}
        for name in self.locked & set(widgets):
            widgets[name].disabled = True
        for name in self.hidden & set(widgets):
            widgets[name].visible = False
        locked = [widgets[n].name or n for n in widgets if n in self.locked - self.hidden]
        if locked:
            self.notices.append(f"Fixed by this link: {', '.join(locked)}.")

    def panel(self) -> pn.viewable.Viewable:
        """The sim section of a chapter page: plots first, controls beside them, in the same
        order on every page: buttons, speed, the key controls, "More settings", readouts,
        then pin, download and link."""
        buttons = pn.Row(self.train_button, self.step_button, self.reset_button)
        key = self.part.key_controls()
        rows = {n: self._control(n, w) for n, w in self.param_widgets.items()}
        more = [rows[n] for n in self.param_widgets if n not in key]
        controls = pn.Column(
            buttons,
            self._control(
                "speed",
                self.speed,
                "How many optimiser steps run between two frames of "
                "the animation. Higher is faster; 1 shows every step.",
            ),
            *[rows[n] for n in key],
            *(
                [pn.Card(*more, title="More settings", collapsed=True, width=320, margin=(5, 5))]
                if more
                else []
            ),
            self.readouts,
            pn.Row(self.pin_button, self.clear_button, self.copy_link),
            self.download,
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
            self.pins_text,
            sizing_mode="stretch_width",
        )
        return pn.Row(plots, controls, sizing_mode="stretch_width", css_classes=["sim"])

    def _control(self, name: str, widget: pn.widgets.Widget, doc: str | None = None) -> Any:
        row = self._with_tooltip(widget, self.runner.sim.param[name].doc if doc is None else doc)
        if name in self.hidden:
            row.visible = False
        return row

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
        self._address()
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
        self._address()

    def reset(self) -> None:
        self._note, self._opening = "", 0
        self._cancel("You reset the run before the decision point")
        self.runner.reset()
        self._refresh_controls()
        self._address()

    def _on_key(self, action: str) -> None:
        {"space": self.toggle, "step": self.step, "reset": self.reset}[action]()

    def _on_speed(self, event: param.parameterized.Event) -> None:
        self.runner.steps_per_frame = int(event.new)
        self._address()

    def _on_setting(self, name: str, value: Any) -> None:
        if self._applying:
            return
        self._cancel("You changed a setting before the decision point")
        if self.runner.update(**{name: value}):
            p = self.runner.sim.param[name]
            self._note = f"{p.label} changes the data or the model, so the run restarted at step 0."
        elif not self.runner.running:
            self.runner.publish()  # paused: redraw at once, so the change shows (e.g. a floor line)
        self._refresh_controls()
        self._address()
        if self.pins.pins:
            self._show_pins()  # what differs from the pinned runs changed
        if self.runner.frame is not None:
            self._render_text(self.runner.frame)

    # -- presets, predictions, pins, the script, the address --------------------------------

    def setup(self, settings: Mapping[str, Any], note: str) -> None:
        """Every param back to its default, then ``settings`` (a locked control keeps its
        value), then back to step 0, paused: a preset's or a prediction's run."""
        self._cancel("A new setup replaced the run")
        sim = self.runner.sim
        wanted = {**sim.defaults(), **settings}
        kept = self._kept_by_link(wanted)
        for name in kept:
            wanted[name] = getattr(sim, name)
        if self.runner.running:
            self.runner.toggle()
        self.runner.setup(**wanted)
        self._applying = True
        try:
            for name, widget in self.param_widgets.items():
                if widget.value != getattr(sim, name):
                    widget.value = getattr(sim, name)
        finally:
            self._applying = False
        labels = [sim.param[n].label for n in kept]
        self._note = note + (f" (kept as the link fixes them: {', '.join(labels)})" if kept else "")
        if self.pins.pins:
            self._show_pins()
        self._refresh_controls()
        self._address()
        if self.runner.frame is not None:
            self._render_text(self.runner.frame)

    def preset(self, name: str) -> None:
        """Set up the experiment of a "What to try" item."""
        chosen = next(p for p in self.part.sim.presets if p.name == name)
        self.setup(chosen.settings, "Set up for this experiment: press Train.")

    def predict(self, prediction: Prediction, guess: float) -> None:
        """Hold the answer, set the run up and train it to the decision point."""
        card = self.cards[prediction.name]
        if card.blocked:  # its buttons are disabled; a stray click changes nothing
            return
        self.setup({**prediction.settings, "seed": prediction.seeds[0]}, "")
        self._note = f"Predicting: training to step {prediction.steps:,}, then the sim grades it."
        self._pending = (card, guess)
        card.locked(guess)
        self.runner.train_to(prediction.steps)
        self._refresh_controls()
        self.pool.wake()

    def _kept_by_link(self, wanted: Mapping[str, Any]) -> list[str]:
        """The params this page's link fixes at a value other than ``wanted`` gives them."""
        sim = self.runner.sim
        return sorted(n for n in self.locked if n in wanted and wanted[n] != getattr(sim, n))

    def _fixed_against(self, prediction: Prediction) -> list[str]:
        """The controls (labels) the link fixes otherwise than the prediction's run, as
        ``predict`` sets it up, needs."""
        sim = self.runner.sim
        wanted = {**sim.defaults(), **prediction.settings, "seed": prediction.seeds[0]}
        return [sim.param[n].label or n for n in self._kept_by_link(wanted)]

    def _cancel(self, why: str) -> None:
        if self._pending is None:
            return
        card, _ = self._pending
        self._pending = None
        card.cancelled(f"{why}, so this run cannot grade your answer: lock it in again.")

    def _grade(self, frame: Frame) -> None:
        """At the decision point: the measured value against the held answer."""
        card, guess = self._pending  # type: ignore[misc]
        prediction = card.prediction
        if frame.problem:
            self._cancel("The run stopped before the decision point")
            return
        if frame.step < prediction.steps or self.runner.running or not frame.fresh:
            return
        self._pending = None
        measured = frame.measured.get(prediction.metric, math.nan)
        self._note = card.graded(guess, measured)
        if self.on_answer is not None:
            self.on_answer(prediction, card.said(guess), prediction.grade(guess, measured)[0])

    def pin(self) -> None:
        sim = self.runner.sim
        if self.pins.pin(sim.steps, sim.settings()) is None:
            self._note = "Two runs are pinned: clear them to pin another."
        self._show_pins()

    def clear_pins(self) -> None:
        self.pins.clear()
        self._show_pins()

    def _show_pins(self) -> None:
        sim = self.runner.sim
        labels = {n: sim.param[n].label for n in self.part.controls}
        text = self.pins.describe(sim.settings(), labels)
        self.pins_text.text = f'<div class="pins">Pinned: {html.escape(text)}</div>' if text else ""
        self.pin_button.disabled = self.pins.full
        self.clear_button.disabled = not self.pins.pins
        if self.runner.frame is not None:
            self._render_text(self.runner.frame)

    def _script(self) -> io.StringIO:
        """The "Download script" file: this sim, these settings, these readouts."""
        sim = self.runner.sim
        scenario_steps = [s.steps for s in sim.scenarios]
        steps = sim.steps or (scenario_steps[0] if scenario_steps else 500)
        text = export.script(
            type(sim), sim.settings(), self.part.readouts, steps, max(1, steps // 10)
        )
        return io.StringIO(text)

    def address_pairs(self) -> list[tuple[str, Any]]:
        """This sim's part of the page's address: every control, the speed, and the step
        when paused past 0."""
        sim = self.runner.sim
        pairs = [(n, getattr(sim, n)) for n in self.part.controls]
        pairs.append(("speed", self.runner.steps_per_frame))
        if not self.runner.running and sim.steps > 0 and self.runner.problem is None:
            pairs.append(("step", sim.steps))
        return [(address.key(n, self.index, self.n_parts), v) for n, v in pairs]

    def _address(self) -> None:
        if self.on_change is not None:
            self.on_change()

    @property
    def training(self) -> bool:
        """Training now: running, and not waiting in line for a slot."""
        return self.runner.running and not self.runner.waiting

    def _refresh_controls(self) -> None:
        label = "Pause" if self.runner.running else "Train"
        if self.train_button.label != label:  # param.update costs the server even when equal
            self.train_button.param.update(
                label=label, color="warning" if label == "Pause" else "primary"
            )
        if self.on_state is not None:
            self.on_state()

    def _connected(self) -> bool:
        """Whether the page is still open: a session whose browser has connected and then
        gone is closed; one whose browser has not connected yet (a page opening at a step on a
        busy server) is given ``CONNECT_GRACE`` seconds to do so."""
        if self.doc is None or self.doc.session_context is None:
            return True
        session = getattr(self.doc.session_context, "_session", None)
        if session is None:  # the page is still being built: its browser cannot have come yet
            return True
        if session.connection_count > 0:
            self._seen_browser = True
            return True
        return not self._seen_browser and time.monotonic() - self._born < CONNECT_GRACE

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

    def _on_wait(self) -> None:
        """Trainer's thread: the run's place in the line for a training slot changed."""
        if self.doc is not None:
            self.doc.add_next_tick_callback(self._show_wait)

    def _show_wait(self) -> None:
        if self.runner.frame is not None:
            self._render_text(self.runner.frame)
        self._refresh_controls()

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
            if self._pending is not None:
                self._grade(frame)
            if self._opening and frame.step >= self._opening and not self.runner.running:
                self._note = (
                    f"Opened at step {self._opening:,}: trained from step 0 with these settings."
                )
                self._opening = 0
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
        runner = self.runner
        state, text = render.status(frame, runner.running, runner.waiting, runner.busy)
        status = render.status_html(state, text, [*self.notices, self._note])
        if self.status.text != status:
            self.status.text = status
