"""What every lesson-figure test shares: the lesson's text, as one line, and the checks.

A lesson quotes a figure in a sentence; its test names that sentence (``quoted``) and the
computation behind the figure: a closed form, or the sim trained on each seed the claim covers
(``rounds_to`` for a figure the text prints to some decimals, ``spans`` for a range it gives
as the seeds' ends, ``within`` for a range rounded outward because the figure drifts between
machines). A figure that drifts from its measurement, or a sentence edited without its test,
fails.
"""

from __future__ import annotations

from collections.abc import Iterable

import pytest

from course.chapters import chapters


def lesson(slug: str) -> str:
    """Every section of a chapter's text, whitespace collapsed (quotes may wrap lines)."""
    (chapter,) = [c for c in chapters() if c.slug == slug]
    text = chapter.text()
    parts = [text.summary, text.lesson, text.try_these, text.deeper, text.key_idea]
    return " ".join("\n".join([*parts, *text.parts.values()]).split())


def quoted(text: str, quote: str) -> None:
    assert quote in text, f"the lesson no longer says {quote!r}"


def rounds_to(values: Iterable[float], figure: float, decimals: int) -> None:
    """Every value, printed to ``decimals`` places, reads ``figure``."""
    values = list(values)
    assert all(round(v, decimals) == pytest.approx(figure) for v in values), (figure, values)


def spans(values: Iterable[float], low: float, high: float, decimals: int) -> None:
    """Printed to ``decimals`` places, the values run from exactly ``low`` to ``high``: a range
    the text quotes ("2.02 to 2.17") is the range the seeds give."""
    printed = [round(v, decimals) for v in values]
    assert min(printed) == pytest.approx(low) and max(printed) == pytest.approx(high), printed


def within(values: Iterable[float], low: float, high: float) -> None:
    """Every value lies in [low, high]: for a figure that drifts between machines, quoted as an
    outward-rounded range ("between 0.04 and 0.25") rather than as the seeds' exact ends."""
    values = list(values)
    assert all(low <= v <= high for v in values), (low, high, values)


def percent(values: Iterable[float]) -> list[float]:
    return [100 * v for v in values]
