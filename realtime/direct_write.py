"""Fan-out frames written straight onto daphne's TCP socket (ASGI `send` stays the fallback).

Why: under daphne an ASGI `websocket.send` goes through autobahn's `sendMessage` (framing per
socket, debug-log arguments formatted eagerly) into Twisted's `transport.write`, which only
buffers: it registers the socket with epoll, writes on a later loop pass, then unregisters.
That measured ~60-100 µs per socket, 8x the bare-`websockets` floor at 1,000 sockets
(docs/realtime.md). asyncio's transports instead write at once when nothing is buffered.

So a frame (a change, a broadcast, a presence diff) is framed once (autobahn's own
`PreparedMessage`: the server frame bytes, unmasked) and shared by every socket that gets it; each socket then gets one
`send()` through Twisted's `writeSomeData` when its transport holds no buffered bytes. Anything
not written at once (a full socket buffer) goes to `transport.write`, which keeps the order.

The fast path is only taken for what it was checked against: daphne's WebSocketProtocol in
the OPEN state over a plain Twisted TCP transport, without permessage-deflate. Otherwise (TLS,
compression, another server such as uvicorn, Channels' test communicator, a closing socket)
`writer_for` returns None / the writer returns False, and the caller uses the ASGI `send`.

It stays because the production topology measured it necessary (docs/realtime.md: ASGI sends
made daphne's 1,000-socket fan-out 8-26x the floor). Since it relies on daphne's, Twisted's and
autobahn's internals, a daphne process refuses to start on versions it was not verified on
(`check_versions`, called by echelon/asgi.py): pin the verified ones, verify the new ones with
`make bench` and add them to VERIFIED, or set `REALTIME_DIRECT_WRITE=0` (ASGI sends only).
"""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)
_announced = False

# (distribution name → versions this module was measured and tested with)
VERIFIED = {"daphne": {"4.2.3"}, "Twisted": {"26.10.0"}, "autobahn": {"26.10.2", "26.11.1"}}  # 26.11.1: only handshake header parsing changed (diffed)


def enabled() -> bool:
    from django.conf import settings

    return getattr(settings, "REALTIME_DIRECT_WRITE", True)


def check_versions() -> None:
    """Raise ImproperlyConfigured naming every installed version not in VERIFIED."""
    from importlib.metadata import PackageNotFoundError, version

    from django.core.exceptions import ImproperlyConfigured

    unverified = []
    for name, versions in VERIFIED.items():
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed not in versions:
            unverified.append(f"{name} {installed} (verified: {', '.join(sorted(versions))})")
    if unverified:
        raise ImproperlyConfigured(
            "realtime direct write: refusing to start on unverified versions: " + "; ".join(unverified)
            + ". Install the verified versions (requirements.txt), or set REALTIME_DIRECT_WRITE=0 to use "
            "ASGI sends (slower fan-out), or verify these with `make bench` and add them to "
            "realtime/direct_write.py VERIFIED.")


class OutgoingFrame:
    """One frame shared by many sockets: a text (`str`) or a binary (`bytes`, vsn 2.0.0
    broadcasts) message, and its wire bytes framed once."""

    __slots__ = ("message", "_wire")

    def __init__(self, message: str | bytes) -> None:
        self.message = message
        self._wire: bytes | None = None

    @property
    def text(self) -> str | None:
        return self.message if isinstance(self.message, str) else None

    def asgi(self) -> dict:
        """The ASGI `websocket.send` of this frame (the fallback when it is not written directly)."""
        if isinstance(self.message, str):
            return {"type": "websocket.send", "text": self.message}
        return {"type": "websocket.send", "bytes": self.message}

    @property
    def wire(self) -> bytes:
        if self._wire is None:
            from autobahn.websocket.protocol import PreparedMessage

            binary = isinstance(self.message, bytes)
            payload = self.message if binary else self.message.encode()
            # server frames are not masked; doNotCompress: only used without permessage-deflate
            self._wire = PreparedMessage(payload, binary, False, True).payloadHybi
        return self._wire


def _daphne_protocol(send):
    """daphne's WebSocketProtocol behind an ASGI `send`, or None.

    daphne hands each application `functools.partial(server.handle_reply, protocol)`.
    """
    # Looked up, not imported: importing daphne.server installs Twisted's reactor, and a
    # process that has not imported it is not serving through daphne anyway.
    server_module, ws_module = sys.modules.get("daphne.server"), sys.modules.get("daphne.ws_protocol")
    tcp_module = sys.modules.get("twisted.internet.tcp")
    if server_module is None or ws_module is None or tcp_module is None:
        return None
    if not isinstance(send, functools.partial) or len(send.args) != 1:
        return None
    if not isinstance(getattr(send.func, "__self__", None), server_module.Server):
        return None
    protocol = send.args[0]
    if not isinstance(protocol, ws_module.WebSocketProtocol):
        return None
    transport = getattr(protocol, "transport", None)
    if not isinstance(transport, tcp_module.Connection):  # TLS wraps the TCP transport: not handled here
        return None
    if not all(hasattr(transport, name) for name in ("dataBuffer", "_tempDataBuffer", "writeSomeData")):
        return None  # a Twisted whose buffering differs from the one this was written against
    return protocol


def writer_for(send) -> Callable[[OutgoingFrame], bool] | None:
    """A function writing a frame directly to the socket behind `send` (True when it did),
    or None when `send` is not daphne's websocket send."""
    global _announced
    if not enabled():
        return None
    protocol = _daphne_protocol(send)
    if protocol is None:
        return None
    if not _announced:  # once per process: says which path the fan-out takes
        _announced = True
        log.info("realtime: fan-out frames are written directly to daphne's TCP sockets")
    open_state = protocol.STATE_OPEN

    def write(frame: OutgoingFrame) -> bool:
        if protocol.state != open_state or getattr(protocol, "_perMessageCompress", None) is not None:
            return False
        if protocol.send_queue:  # autobahn's own paced writes (unused by daphne): stay behind them
            return False
        transport = protocol.transport
        if not transport.connected or transport.disconnecting:
            return False
        data = frame.wire
        if transport.dataBuffer or transport._tempDataBuffer:
            transport.write(data)  # bytes already queued: append behind them
            return True
        sent = transport.writeSomeData(data)
        if not isinstance(sent, int):  # connection lost: Twisted finds out on its next write pass
            sent = 0
        if sent < len(data):
            transport.write(data[sent:])
        return True

    return write


def buffered_for(send) -> Callable[[], int] | None:
    """A function telling how many bytes daphne holds for the socket behind `send` and has not
    written yet (Twisted's buffer: what a client that stopped reading makes grow), or None when
    `send` is not daphne's websocket send."""
    protocol = _daphne_protocol(send)
    if protocol is None:
        return None

    def buffered() -> int:
        transport = protocol.transport
        if transport is None:
            return 0
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen

    return buffered
