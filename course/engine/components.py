"""The page's small browser components: keyboard shortcuts, live text and the frame clock.

A Bokeh ``Div`` would do for text, but Bokeh answers any change to a layout model by laying out
the whole page again, plots included; these components never trigger a layout.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn
import param
from bokeh.models import ColumnDataSource, CustomJS
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


ECHO_GAP_MS = 50  # the browser echoes at most one frame number per this many milliseconds

# Every message from the browser costs the server as much again (Bokeh applies it and answers
# it), so the echo is throttled: the first frame after a quiet spell is echoed at once, later
# ones together, with the newest number, when the gap has passed.
ECHO = f"""
const applied = cb_obj.tags[0];
echo._newest = applied;
if (echo._timer) return;
const send = () => {{
  echo._timer = null;
  echo._sent = performance.now();
  echo.tags = [echo._newest];
}};
const wait = (echo._sent ?? -Infinity) + {ECHO_GAP_MS} - performance.now();
if (wait <= 0) send(); else echo._timer = setTimeout(send, wait);
"""


class FrameClock:
    """Flow control between server and browser: the server numbers every frame it sends, and
    the browser echoes the newest number it has applied (at most every ``ECHO_GAP_MS``).

    Two bare Bokeh models carry the numbers (on a figure's ``tags``, so they belong to the
    document): the echo is a plain property change that Bokeh hands straight to a Python
    callback. A Panel component's message would do the same through Panel's event machinery,
    which costs the server about twice as much per frame (measured, docs/benchmarks.md)."""

    def __init__(self, on_ack: Callable[[int], None]) -> None:
        self._on_ack = on_ack
        self.clock = ColumnDataSource(data={}, tags=[0])
        self.echo = ColumnDataSource(data={}, tags=[0])
        self.clock.js_on_change("tags", CustomJS(args={"echo": self.echo}, code=ECHO))
        self.echo.on_change("tags", self._echoed)

    def attach(self, fig: Any) -> None:
        """Put the two models in ``fig``'s document."""
        fig.tags = [*fig.tags, self.clock, self.echo]

    @property
    def frame(self) -> int:
        return int(self.clock.tags[0])

    @frame.setter
    def frame(self, number: int) -> None:
        self.clock.tags = [number]

    def _echoed(self, _attr: str, _old: Any, new: Any) -> None:
        try:
            applied = int(new[0])
        except (TypeError, ValueError, IndexError):
            return  # not a frame number: nothing to acknowledge
        self._on_ack(applied)


COPY_LINK = """
const url = window.location.href;
const done = () => {
  button.label = "Link copied";
  setTimeout(() => { button.label = "Copy link"; }, 1500);
};
if (navigator.clipboard && window.isSecureContext) {
  navigator.clipboard.writeText(url).then(done, () => window.prompt("Copy this link:", url));
} else {
  window.prompt("Copy this link:", url);  // a plain-http class server: the browser will not copy
}
"""


def copy_link_button(**params: Any) -> Any:
    """A button that copies the page's address (which the page keeps up to date); where the
    browser refuses to (a class server over plain http), it shows the address to copy."""
    button = pn.widgets.Button(
        label="Copy link",
        description="Copy this page's address: it reopens these settings (and, paused, this step)",
        **params,
    )
    button.js_on_click(args={"button": button}, code=COPY_LINK)
    return button
