"""Predict, then run: one question of a sim's ``predictions``, answered before the run and graded
by the sim at the decision point.

The card only holds the student's answer and shows the grade; the ``SimView`` it belongs to sets
the run up, trains it to the prediction's step and hands the measured value back.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import panel as pn

from course.engine.components import LiveHTML
from course.theme import prediction_style
from sims.base import Metric, Prediction


class PredictionCard:
    """The question, the answer widget, "Lock in and run", and the verdict."""

    def __init__(
        self,
        prediction: Prediction,
        metric: Metric,
        on_lock: Callable[[float], None],
        where: str = "",
    ) -> None:
        self.prediction, self.metric, self.where = prediction, metric, where
        tip = (
            f"Lock this answer in: the sim sets the run up and trains to step {prediction.steps:,}"
        )
        if prediction.choices:
            # One button per answer, none chosen beforehand: a preselected answer is a hint.
            self.buttons = [
                pn.widgets.Button(label=c.label, description=tip, sizing_mode="stretch_width")
                for c in prediction.choices
            ]
            for i, button in enumerate(self.buttons):
                button.on_click(lambda _, i=i: on_lock(float(i)))
            self.answer: pn.widgets.Widget | None = None
        else:
            low, high, step = prediction.number  # type: ignore[misc]
            self.answer = pn.widgets.FloatSlider(
                name=f"Your guess: {metric.label}",
                start=low,
                end=high,
                step=step,
                value=round((low + high) / 2 / step) * step,
                width=320,
            )
            lock = pn.widgets.Button(label="Lock in and run", color="primary", description=tip)
            lock.on_click(lambda _: on_lock(float(self.answer.value)))  # type: ignore[union-attr]
            self.buttons = [lock]
        self.result = LiveHTML(sizing_mode="stretch_width", css_classes=["prediction-result"])
        self.blocked = False  # the page's link fixes a control this prediction's run changes

    def said(self, guess: float) -> str:
        if self.prediction.choices:
            return self.prediction.choices[int(guess)].label
        return self.metric.format(guess)

    def panel(self) -> pn.viewable.Viewable:
        question = html.escape(self.prediction.question)
        where = f" <i>({html.escape(self.where)})</i>" if self.where else ""
        answer = [self.answer] if self.answer is not None else []
        return pn.Column(
            pn.pane.HTML(f"<b>Predict{where}:</b> {question}", sizing_mode="stretch_width"),
            *answer,
            pn.Column(*self.buttons, max_width=520, sizing_mode="stretch_width"),
            self.result,
            sizing_mode="stretch_width",
            css_classes=["prediction"],
            name=self.prediction.name,
        )

    # -- what the view tells the card ----------------------------------------------------------

    def locked(self, guess: float) -> None:
        for i, button in enumerate(self.buttons):
            button.disabled = True
            chosen = not self.prediction.choices or i == int(guess)
            button.color = "primary" if chosen else "default"
        if self.answer is not None:
            self.answer.disabled = True
        self._show(
            "waiting",
            f"Locked in: “{self.said(guess)}”. Training to step {self.prediction.steps:,}; "
            "watch the plots above.",
        )

    def graded(self, guess: float, measured: float) -> str:
        """Show the verdict; returns it as one line for the sim's status line."""
        right, happened = self.prediction.grade(guess, measured)
        value = (
            f"{self.metric.format(measured)}{' ' + self.metric.unit if self.metric.unit else ''}"
        )
        if self.prediction.choices:
            what = f"{self.metric.label} = {value}: “{happened}”"
        else:
            what = f"{self.metric.label} = {value} (right within ±{self.prediction.tolerance:g})"
        verdict = "Right" if right else "Not this time"
        self._show(
            "right" if right else "wrong",
            f"<b>{verdict}.</b> You said “{html.escape(self.said(guess))}”; at step "
            f"{self.prediction.steps:,} the sim measured {html.escape(what)}. "
            f"{html.escape(self.prediction.why)}",
            escape=False,
        )
        self._reopen()
        return f"Prediction: {verdict.lower()} (you said {self.said(guess)}; measured {value})"

    def unavailable(self, why: str) -> None:
        """This page cannot run the prediction as declared: say why, and take no answer."""
        self.blocked = True
        for button in self.buttons:
            button.disabled = True
        if self.answer is not None:
            self.answer.disabled = True
        self._show("unavailable", why)

    def cancelled(self, why: str) -> None:
        self._show("cancelled", why)
        self._reopen()

    def _reopen(self) -> None:
        if self.blocked:
            return
        for button in self.buttons:
            button.disabled = False
        if self.answer is not None:
            self.answer.disabled = False

    def _show(self, state: str, text: str, escape: bool = True) -> None:
        body = html.escape(text) if escape else text
        self.result.text = (
            f'<div data-prediction="{state}" style="{prediction_style(state)}">{body}</div>'
        )
