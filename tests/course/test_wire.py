"""A frame's message in one socket write: the same bytes tornado would have written part by part."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import panel.io.document as panel_document
import pytest
from bokeh.document import Document
from bokeh.models import ColumnDataSource, Div
from bokeh.protocol import Protocol
from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError, WebSocketProtocol13, _WebSocketParams

from course.engine import wire


def run(coroutine):
    """Run ``coroutine`` on an event loop of its own, in a thread: Playwright's browser tests
    keep a loop running in the test thread, where ``asyncio.run`` is refused."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class Stream:
    """Records what a websocket connection writes; can be made to fail as a closed one."""

    def __init__(self, fails: bool = False) -> None:
        self.writes: list[bytes] = []
        self.fails = fails

    def closed(self) -> bool:
        return False

    def write(self, data: bytes) -> asyncio.Future:
        if self.fails:  # the peer went away since the connection last looked
            raise StreamClosedError()
        self.writes.append(bytes(data))
        future = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future


def connection(stream: Stream, **overrides) -> SimpleNamespace:
    ws = WebSocketProtocol13(SimpleNamespace(), mask_outgoing=False, params=_WebSocketParams())
    ws.stream = stream
    for name, value in overrides.items():
        setattr(ws, name, value)
    return SimpleNamespace(_socket=SimpleNamespace(ws_connection=ws), protocol=Protocol())


def frame_events(points: int) -> list:
    """The events of one frame: a column of points (a binary buffer) and a status text."""
    source = ColumnDataSource({"x": np.zeros(points), "y": np.zeros(points)})
    status = Div(text="ready")
    doc = Document()
    doc.add_root(source)
    doc.add_root(status)
    events: list = []
    doc.on_change(events.append)
    source.data = {"x": np.arange(points, dtype=float), "y": np.linspace(0, 1, points)}
    status.text = "Training, step 12"
    return events


@pytest.mark.parametrize("points", [3, 40, 20_000])  # payload lengths < 126, 16-bit, 64-bit
def test_one_write_holds_exactly_the_frames_tornado_writes_part_by_part(points):
    msg = Protocol().create("PATCH-DOC", frame_events(points))

    async def both() -> tuple[list[bytes], list[bytes]]:
        theirs, ours = Stream(), Stream()
        ws = connection(theirs)._socket.ws_connection
        for payload, binary in wire.message_parts(msg):
            await ws.write_message(payload, binary=binary)
        conn = connection(ours)
        original = lambda conn, events=None, msg=None: pytest.fail("fallback")  # noqa: E731
        for future in wire.batched(original)(conn, msg=msg):
            await future
        return theirs.writes, ours.writes

    theirs, ours = run(both())
    # header, metadata and content, then a header and a payload per binary buffer
    assert len(msg.buffers) == 2 and len(theirs) == 3 + 2 * len(msg.buffers)
    assert ours == [b"".join(theirs)]


def test_a_compressing_or_masking_connection_keeps_panels_own_path():
    calls = []
    dispatch = wire.batched(lambda conn, events=None, msg=None: calls.append(conn) or ["sent"])
    for overrides in ({"_compressor": object()}, {"mask_outgoing": True}):
        conn = connection(Stream(), **overrides)
        assert dispatch(conn, events=["an event"]) == ["sent"]
    assert len(calls) == 2


def test_nothing_to_send_and_a_closed_connection_write_nothing():
    dispatch = wire.batched(lambda conn, events=None, msg=None: pytest.fail("fallback"))
    assert dispatch(connection(Stream()), events=[]) == []
    gone = connection(Stream(fails=True))
    assert dispatch(gone, msg=Protocol().create("PATCH-DOC", frame_events(3))) == []


def test_a_write_that_fails_later_is_reported_as_panel_expects():
    async def failing() -> None:
        future = asyncio.get_running_loop().create_future()
        future.set_exception(StreamClosedError())
        await wire._sent(future)

    with pytest.raises(WebSocketClosedError):
        run(failing())


def test_the_engine_installs_it_once():
    import course.engine.view  # noqa: F401  (installs it)

    installed = panel_document.dispatch_tornado
    assert hasattr(installed, "__wrapped__")
    wire.install()
    assert panel_document.dispatch_tornado is installed
