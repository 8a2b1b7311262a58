"""Markdown with typeset maths: ``$...$`` inline and ``$$...$$`` display.

The maths is cut out before the Markdown is parsed (so ``_`` and ``*`` inside formulas stay
maths) and handed to the typesetter Panel bundles, as ``\\(...\\)`` and ``\\[...\\]``.
"""

from __future__ import annotations

import html
from functools import partial
from typing import Any

import panel as pn
from mdit_py_plugins.dollarmath import dollarmath_plugin


def _render_math(content: str, options: dict[str, Any]) -> str:
    body = html.escape(content.strip(), quote=False)
    return f"\\[{body}\\]" if options.get("display_mode") else f"\\({body}\\)"


MATH = partial(dollarmath_plugin, renderer=_render_math, double_inline=True)


def markdown(text: str, **kwargs: Any) -> pn.pane.Markdown:
    kwargs.setdefault("sizing_mode", "stretch_width")
    return pn.pane.Markdown(text, plugins=[MATH], disable_anchors=True, **kwargs)
