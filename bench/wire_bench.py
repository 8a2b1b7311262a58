"""What one frame costs to put on the wire: Panel's write per message part against one write.

A collapse page's frame (the two clouds of points and the status readouts, as the page sends
them) is encoded as a Bokeh PATCH-DOC message and written to a real socket through a tornado
websocket connection, by Panel's ``dispatch_tornado`` and by ``course.engine.wire``, in turns
in one process (so a busy machine slows both alike). It prints the socket writes per frame and
the microseconds per frame of each, and the ratio.

    python bench/wire_bench.py [--frames 2000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Div
from bokeh.protocol import Protocol
from tornado.iostream import IOStream
from tornado.websocket import WebSocketProtocol13, _WebSocketParams

from course.engine import wire


class Counting(socket.socket):
    """A socket that counts the system calls tornado makes to send on it."""

    sends = 0

    def send(self, data, *args):  # type: ignore[override]
        Counting.sends += 1
        return super().send(data, *args)


def page_document(points: int = 256) -> tuple[Document, ColumnDataSource, Div]:
    rng = np.random.default_rng(0)
    source = ColumnDataSource({k: rng.normal(size=points) for k in ("x1", "y1", "x2", "y2")})
    status = Div(text="Training, step 0")
    doc = Document()
    doc.add_root(source)
    doc.add_root(status)
    return doc, source, status


async def run(frames: int, rounds: int) -> dict[str, float]:
    import panel.io.document as panel_document

    original = getattr(panel_document.dispatch_tornado, "__wrapped__", None)
    original = original or panel_document.dispatch_tornado
    ours = wire.batched(original)
    listener = socket.create_server(("127.0.0.1", 0))  # TCP on loopback, as a student's page
    left = socket.create_connection(listener.getsockname())
    right, _ = listener.accept()
    listener.close()
    right.setblocking(False)
    left.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as tornado sets it
    sender = Counting(fileno=left.detach())
    sender.setblocking(False)
    ws = WebSocketProtocol13(SimpleNamespace(), mask_outgoing=False, params=_WebSocketParams())
    ws.stream = IOStream(sender)
    conn = SimpleNamespace(_socket=SimpleNamespace(ws_connection=ws), protocol=Protocol())
    doc, source, status = page_document()
    rng = np.random.default_rng(1)

    def events() -> list:
        captured: list = []
        doc.callbacks.on_change(captured.append)
        source.data = {k: rng.normal(size=len(v)) for k, v in source.data.items()}
        status.text = f"Training, step {rng.integers(10_000)}"
        doc.callbacks._change_callbacks.clear()
        return captured

    batch = [events() for _ in range(50)]
    results: dict[str, list[float]] = {"panel": [], "one write": []}
    writes: dict[str, float] = {}
    for _ in range(rounds):
        for name, dispatch in (("panel", original), ("one write", ours)):
            Counting.sends = 0
            start = time.perf_counter()
            for i in range(frames):
                for future in dispatch(conn, events=batch[i % len(batch)]):
                    await future
                while True:  # the browser's side reads everything
                    try:
                        right.recv(1 << 20)
                    except BlockingIOError:
                        break
            results[name].append((time.perf_counter() - start) / frames * 1e6)
            writes[name] = Counting.sends / frames
    report = {f"{name}: writes/frame": writes[name] for name in results}
    report |= {f"{name}: us/frame": statistics.median(times) for name, times in results.items()}
    report["one write / panel (time)"] = report["one write: us/frame"] / report["panel: us/frame"]
    return report


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    for key, value in asyncio.run(run(args.frames, args.rounds)).items():
        print(f"{key:28s} {value:10.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
