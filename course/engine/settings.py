"""Settings from the address: ``?chapter=collapse&variance_floor=true&seed=3&speed=20``.

Plain parsing, no UI: every value is checked against its param (type, bounds, choices), and a
bad one is clamped or ignored with a notice the page shows, never an exception.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import param

SPEEDS = (1, 2, 5, 10, 20, 50, 100, 200, 500)  # the speed slider's stops: steps per frame
PAGE_SETTINGS = ("chapter", "speed", "theme", "step", "lock", "hide")  # read by the page


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


def sim_settings(
    params: param.parameterized.Parameters, settings: Mapping[str, str]
) -> tuple[dict[str, Any], list[str]]:
    """The values among ``settings`` that belong to a sim's ``params``, checked, with a notice
    for each one that had to be clamped or ignored. Names the sim does not know are skipped
    (another part of the page may know them; see ``unknown_settings``)."""
    values, notices = {}, []
    for name, raw in settings.items():
        if name in PAGE_SETTINGS or name == "name" or name not in params:
            continue
        value, notice = clamp_setting(params[name], raw)
        if notice:
            notices.append(notice)
        if value is not None:
            values[name] = value
    return values, notices


def speed_setting(raw: str | None, default: int) -> tuple[int, str | None]:
    """The offered speed nearest to ``raw`` (steps per frame), with a notice if it moved."""
    if raw is None:
        return default, None
    try:
        wanted = int(raw)
    except ValueError:
        return default, f"ignored speed={raw!r}: not a whole number"
    nearest = min(SPEEDS, key=lambda s: abs(s - wanted))
    if nearest != wanted:
        return nearest, f"speed={raw} is not offered; using {nearest}"
    return nearest, None


def unknown_settings(settings: Iterable[str], known: Iterable[str]) -> list[str]:
    """A notice for every setting in the address that nothing on the page knows."""
    known = set(known) | set(PAGE_SETTINGS)
    return [f"ignored unknown setting {name!r}" for name in settings if name not in known]
