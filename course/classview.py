"""The instructor's view of a class, ``/course?view=class``: per chapter, how many sessions are
open, training and waiting for a training slot, and how the class answered each prediction.
It reads the store every process of the server writes (``course.classroom``) and refreshes
every two seconds."""

from __future__ import annotations

import html
from typing import Any

import panel as pn

from course.chapters import chapters
from course.classroom import ChapterCount, classroom
from course.engine.pool import POOL
from course.theme import STYLESHEETS

REFRESH_MS = 2000
TABLE_STYLE = (
    "border-collapse:collapse;min-width:32em;font-variant-numeric:tabular-nums;"
    "text-align:right;line-height:1.8"
)


def predictions(chapter: Any) -> list[Any]:
    return [p for part in chapter.part_classes() for p in part.sim.predictions]


def answers_html(prediction: Any, given: dict[str, tuple[int, int]]) -> str:
    """One prediction: its question, then each answer with how many gave it; the right one
    is marked (for a number, the answers within the tolerance count as right)."""
    if prediction.choices:
        labels = [c.label for c in prediction.choices]
        right = labels[int(prediction.answer)]
        labels += [a for a in given if a not in labels]
    else:
        right, labels = None, sorted(given, key=lambda a: float(a.replace(",", "") or 0))
    items = []
    for label in labels:
        n, n_right = given.get(label, (0, 0))
        mark = " ✓" if label == right or (right is None and n_right) else ""
        items.append(f"<li>{html.escape(label)}{mark}: <b>{n}</b></li>")
    total = sum(n for n, _ in given.values())
    correct = sum(r for _, r in given.values())
    return (
        f'<div class="class-prediction" data-prediction="{html.escape(prediction.name)}">'
        f"<p>{html.escape(prediction.question)} "
        f"<i>({total} answered, {correct} right)</i></p><ul>{''.join(items)}</ul></div>"
    )


def summary_html(counts: dict[str, ChapterCount]) -> str:
    rows, details = [], []
    for i, chapter in enumerate(chapters(), 1):
        count = counts.get(chapter.slug, ChapterCount())
        title = html.escape(chapter.text().title)
        rows.append(
            f'<tr data-chapter="{chapter.slug}"><td>{i}. {title}</td>'
            f'<td data-key="open">{count.open}</td><td data-key="training">{count.training}</td>'
            f'<td data-key="waiting">{count.waiting}</td></tr>'
        )
        answered = [
            answers_html(p, count.answers[p.name])
            for p in predictions(chapter)
            if count.answers.get(p.name)
        ]
        if answered:
            details.append(f"<h3>{i}. {title}</h3>{''.join(answered)}")
    total = [sum(getattr(c, k) for c in counts.values()) for k in ("open", "training", "waiting")]
    limit = (
        f"Each server process trains at most {POOL.limit} runs at once; past that a student who "
        "presses Train waits in line, and the run starts by itself when a place frees."
        if POOL.limit
        else "This server sets no limit on runs training at once."
    )
    sessions = "1 session" if total[0] == 1 else f"{total[0]} sessions"
    return (
        f'<p class="class-total" data-open="{total[0]}" data-training="{total[1]}">'
        f"<b>{sessions}</b> open, <b>{total[1]}</b> training, <b>{total[2]}</b> waiting "
        f"for a place. {limit}</p>"
        f'<table class="class-table" style="{TABLE_STYLE}"><thead><tr>'
        '<th style="text-align:left">Chapter</th><th>open</th><th>training</th>'
        f"<th>waiting</th></tr></thead><tbody>{''.join(rows)}</tbody></table>"
        + ("<h2>How the class answered</h2>" + "".join(details) if details else "")
    )


def class_page() -> Any:
    """The page's content; it follows the store while the page is open."""
    md = {"sizing_mode": "stretch_width", "stylesheets": STYLESHEETS}
    intro = pn.pane.HTML(
        '<h1 class="course-title">Your class</h1><p>Who is where, live, across every process '
        "of this server: the sessions open on each chapter, how many are training, and how the "
        "class answered the predictions. Counts only: no names, no addresses.</p>",
        **md,
    )
    body = pn.pane.HTML(summary_html(classroom().summary()), **md)

    def refresh() -> None:
        text = summary_html(classroom().summary())
        if body.object != text:
            body.object = text

    if pn.state.curdoc is not None and pn.state.curdoc.session_context is not None:
        pn.state.add_periodic_callback(refresh, period=REFRESH_MS)
    return pn.Column(intro, body, sizing_mode="stretch_width")
