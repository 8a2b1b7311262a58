"""The page's address, both ways: which settings of a query belong to which part of a chapter,
and the query that reopens a page as it stands.

A chapter with one sim uses the params' own names (``?chapter=collapse&floor=0.5``). A chapter
with several numbers them from 1: ``2.lr=0.1`` is the learning rate of its second sim, and a
bare ``lr`` applies to every sim that has one (an address written by hand). ``lock`` and
``hide`` take comma-separated control names in the same form; ``step`` opens a sim already
trained to that step, paused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

MAX_STEP = 10_000  # an address may open a sim at most this many steps in
SCOPED = re.compile(r"^(\d+)\.(\w+)$")


def key(name: str, index: int, n_parts: int) -> str:
    """The address key of control ``name`` of part ``index`` (from 0) of ``n_parts``."""
    return name if n_parts == 1 else f"{index + 1}.{name}"


def scoped(settings: Mapping[str, str], index: int) -> dict[str, str]:
    """The settings for part ``index``: bare names, overridden by ``<index + 1>.name``."""
    bare = {k: v for k, v in settings.items() if not SCOPED.match(k)}
    mine = {}
    for k, v in settings.items():
        match = SCOPED.match(k)
        if match and int(match.group(1)) == index + 1:
            mine[match.group(2)] = v
    return {**bare, **mine}


def names(raw: str | None, index: int) -> set[str]:
    """The control names of a ``lock`` or ``hide`` list that concern part ``index``."""
    found = set()
    for item in (raw or "").split(","):
        item = item.strip()
        match = SCOPED.match(item)
        if match:
            if int(match.group(1)) == index + 1:
                found.add(match.group(2))
        elif item:
            found.add(item)
    return found


def unknown_names(raw: str | None, known: Sequence[set[str]], what: str) -> list[str]:
    """A notice for every name of a ``lock``/``hide`` list that is no control of its part."""
    notices = []
    for item in (raw or "").split(","):
        item = item.strip()
        if not item:
            continue
        match = SCOPED.match(item)
        if match:
            index, name = int(match.group(1)) - 1, match.group(2)
            ok = 0 <= index < len(known) and name in known[index]
        else:
            ok = any(item in controls for controls in known)
        if not ok:
            notices.append(f"ignored {what} of {item!r}: no such control on this page")
    return notices


def step_setting(raw: str | None) -> tuple[int, str | None]:
    """The step an address opens a sim at (0: none), with a notice if it had to change."""
    if raw is None or raw == "":
        return 0, None
    try:
        step = int(raw)
    except ValueError:
        return 0, f"ignored step={raw!r}: not a whole number"
    if step < 0:
        return 0, f"ignored step={raw}: steps count from 0"
    if step > MAX_STEP:
        return MAX_STEP, f"step={raw} is more than {MAX_STEP:,} steps; opening at {MAX_STEP:,}"
    return step, None


def value(v: Any) -> str:
    """A param value as the address writes it (and ``settings.clamp_setting`` reads it)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    return repr(v) if isinstance(v, float) else str(v)  # repr: the float comes back exactly


def query(pairs: Iterable[tuple[str, Any]]) -> str:
    """``?k=v&...`` in the given order, commas left readable."""
    return "?" + urlencode([(k, value(v)) for k, v in pairs], safe=",")
