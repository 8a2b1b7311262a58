"""The status line and the readouts of a sim, as HTML: plain functions of a frame.

They carry inline styles (Panel renders each component in its own shadow root, so the page's
stylesheet does not reach them), and ``data-state`` / ``data-key`` attributes that tests read.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping

from course.engine.runner import Frame
from course.theme import (
    NOTICE_STYLE,
    READOUT_LABEL_STYLE,
    READOUT_TABLE_STYLE,
    READOUT_VALUE_STYLE,
    status_style,
)
from sims.base import Metric

STATES = ("ready", "training", "waiting", "paused", "diverged", "collapsed")
STEP = Metric("step", fmt="{:,}", doc="optimiser steps since the last reset")  # every sim has it


def status(frame: Frame, running: bool, waiting: int = 0, busy: int = 0) -> tuple[str, str]:
    """The state of the run (one of ``STATES``) and the status line's text; ``waiting`` is the
    run's place in the line for a training slot, ``busy`` how many runs train meanwhile."""
    if frame.problem:
        return "diverged", frame.problem
    if running and waiting:
        return "waiting", busy_text(waiting, busy)
    if running:
        state, text = "training", "Training"  # the step readout counts; this line stays put
    elif frame.step == 0:
        state, text = "ready", "Ready · press Train (or Space)"
    else:
        state, text = "paused", f"Paused at step {frame.step:,}"
    if frame.verdict is not None and frame.step > 0:  # at step 0 it judges the initial weights
        if frame.verdict.state == "collapsed":
            state = "collapsed"
        text += f" · {frame.verdict.text}"
    return state, text


def busy_text(place: int, busy: int) -> str:
    """What a student in line for a training slot reads."""
    who = "1 student is" if busy == 1 else f"{busy:,} students are"
    where = "you are next in line" if place == 1 else f"you are number {place:,} in line"
    return (
        f"The class server is busy: {who} training; {where}. Your run starts by itself as soon "
        "as a place frees up (Pause leaves the line)."
    )


def status_html(state: str, text: str, notices: Iterable[str] = ()) -> str:
    """The status line, then one line per notice (bad settings, a restart)."""
    extra = "".join(
        f'<div class="notice" style="{NOTICE_STYLE}">{html.escape(n)}</div>' for n in notices if n
    )
    return (
        f'<div class="status" data-state="{state}" style="{status_style(state)}">'
        f"{html.escape(text)}</div>{extra}"
    )


def readouts_html(frame: Frame, metrics: Mapping[str, Metric], keys: Iterable[str]) -> str:
    """A table: the step, then each key's metric label, measured value and unit."""

    def row(key: str, metric: Metric, value: float | None) -> str:
        return (
            f'<tr title="{html.escape(metric.doc)}"><th style="{READOUT_LABEL_STYLE}">'
            f'{html.escape(metric.label)}</th><td class="value" data-key="{key}" '
            f'style="{READOUT_VALUE_STYLE}">{html.escape(metric.format(value))}</td>'
            f"<td>{html.escape(metric.unit)}</td></tr>"
        )

    rows = [row("step", STEP, frame.step)]
    rows += [row(key, metrics[key], frame.measured.get(key)) for key in keys]
    return f'<table class="readouts" style="{READOUT_TABLE_STYLE}">{"".join(rows)}</table>'
