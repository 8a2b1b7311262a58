"""The page's three small browser components, each replacing only its own element.

A Bokeh ``Div`` would do for text, but Bokeh answers any change to a layout model by laying out
the whole page again, plots included; these components never trigger a layout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import param
from panel.custom import JSComponent


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

    def __init__(self, on_key: Callable[[str], None], **params: Any) -> None:
        super().__init__(**params)
        self._on_key = on_key

    def _handle_msg(self, msg: Any) -> None:
        self._on_key(str(msg))


class LiveHTML(JSComponent):
    """HTML that changes several times a second (the status line, the readouts)."""

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

    def __init__(self, on_ack: Callable[[int], None], **params: Any) -> None:
        super().__init__(**params)
        self._on_ack = on_ack

    def _handle_msg(self, msg: Any) -> None:
        self._on_ack(int(msg))
