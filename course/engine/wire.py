"""A frame's document update leaves the server in one socket write, not one per message part.

Panel sends a held document update (``pn.io.hold``, as every frame is drawn) through
``panel.io.document.dispatch_tornado``, which writes each part of the Bokeh message (header,
metadata, content, and a header and a payload per binary buffer) as its own websocket message:
a collapse frame is about eleven writes, each a system call and an asyncio task, and with 30
students training, socket writes took an eighth of the server's time (docs/benchmarks.md). Here
the same websocket messages, byte for byte, are framed (RFC 6455, section 5.2: a server does not
mask) and handed to the connection's stream at once. A connection that compresses or masks its
messages, which the course's server never asks for, keeps Panel's own path.
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Callable, Sequence
from typing import Any

from tornado.iostream import StreamClosedError
from tornado.websocket import WebSocketClosedError

log = logging.getLogger(__name__)

FIN = 0x80
TEXT, BINARY = 0x1, 0x2


def frame(payload: bytes, binary: bool) -> bytes:
    """One unmasked, final websocket frame around ``payload`` (RFC 6455, 5.2)."""
    head = FIN | (BINARY if binary else TEXT)
    size = len(payload)
    if size < 126:
        return struct.pack("!BB", head, size) + payload
    if size <= 0xFFFF:
        return struct.pack("!BBH", head, 126, size) + payload
    return struct.pack("!BBQ", head, 127, size) + payload


def message_parts(msg: Any) -> list[tuple[bytes, bool]]:
    """The websocket messages of one Bokeh protocol message, in Bokeh's order."""
    parts = [(msg.header_json, False), (msg.metadata_json, False), (msg.content_json, False)]
    for buffer in msg._buffers:
        parts += [(json.dumps(buffer.ref), False), (buffer.to_bytes(), True)]
    return [(p.encode("utf-8") if isinstance(p, str) else bytes(p), b) for p, b in parts]


def batched(original: Callable[..., Sequence[Any]]) -> Callable[..., Sequence[Any]]:
    """``dispatch_tornado`` that writes a message in one go; ``original`` for the rest."""

    def dispatch(conn: Any, events: list[Any] | None = None, msg: Any = None) -> Sequence[Any]:
        ws = getattr(conn._socket, "ws_connection", None)
        if not ws or ws.is_closing() or getattr(ws, "_compressor", None) or ws.mask_outgoing:
            return original(conn, events=events, msg=msg)
        if msg is None:
            if not events:
                return []
            msg = conn.protocol.create("PATCH-DOC", events)
        parts = message_parts(msg)
        data = b"".join(frame(payload, binary) for payload, binary in parts)
        try:
            written = ws.stream.write(data)
        except StreamClosedError:
            log.warning("Failed sending message as connection was closed")
            return []
        ws._message_bytes_out += sum(len(p) for p, _ in parts)  # tornado's own counters
        ws._wire_bytes_out += len(data)
        return [_sent(written)]

    dispatch.__wrapped__ = original  # type: ignore[attr-defined]
    return dispatch


async def _sent(future: Any) -> None:
    """Await a write as Panel awaits its own: a closed connection is a WebSocketClosedError."""
    try:
        await future
    except StreamClosedError as error:
        raise WebSocketClosedError() from error


def install() -> None:
    """Send every held document update of this process in one write (idempotent)."""
    import panel.io.document as document

    if not hasattr(document.dispatch_tornado, "__wrapped__"):
        document.dispatch_tornado = batched(document.dispatch_tornado)
