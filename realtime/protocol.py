"""Phoenix channel frames as Supabase Realtime speaks them: encode/decode for vsn 1.0.0 and 2.0.0.

vsn 2.0.0 frames are JSON arrays `[join_ref, ref, topic, event, payload]`; vsn 1.0.0 frames are
objects `{"topic", "event", "payload", "ref"}` (the server leaves out `join_ref`, the client
accepts that). Since supabase-js 2.91 a client's broadcast travels in a binary frame (kind 3,
`decode_binary`); the server answers broadcasts to 2.0.0 clients in binary frames too (kind 4,
`encode_broadcast_binary`), everything else in text frames.

A frame whose topic can be read but whose shape is wrong raises a ProtocolError carrying that
topic and refs: the consumer answers an error reply on that channel and the socket goes on. Only
a frame without a readable topic (not JSON, not an array/object, an unknown binary kind) closes.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import orjson

VSN_1 = "1.0.0"
VSN_2 = "2.0.0"
SUPPORTED_VSN = (VSN_1, VSN_2)
DEFAULT_VSN = VSN_1


# Close codes for bad client frames. Application codes (4000-4999) mirroring RFC 6455's 1003,
# 1007 and 1009: daphne (autobahn) refuses to send any code but 1000 and 3000-4999, so 1007
# became an exception in the application and a 1011 "internal error" close with a traceback
# in the log (found by tests/hardening/test_websocket_fuzz.py against a live daphne).
CLOSE_UNREADABLE_FRAME = 4007
CLOSE_FRAME_TOO_BIG = 4009
# Not (or no longer) authorized: the upgrade refused (before accept, daphne answers HTTP 403),
# or the socket's user was deactivated or deleted (after accept: the close frame's code).
CLOSE_UNAUTHORIZED = 4001
# A client that stopped reading: more than REALTIME_MAX_SEND_BUFFER_BYTES wait for it (mirrors
# RFC 6455's 1008 policy violation; the frame may never reach a client that does not read).
CLOSE_TOO_SLOW = 4008


class ProtocolError(ValueError):
    """A frame the server cannot read (not JSON, wrong shape, wrong types). `topic` (and the
    refs) when they could be read: the error is then that channel's, not the socket's."""

    def __init__(self, message: str, topic: str | None = None, join_ref=None, ref=None) -> None:
        super().__init__(message)
        self.topic = topic
        self.join_ref = join_ref if isinstance(join_ref, str) else None
        self.ref = ref if isinstance(ref, str) else None


@dataclass(frozen=True)
class Frame:
    join_ref: str | None
    ref: str | None
    topic: str
    event: str
    payload: dict
    binary: bytes | None = None  # a binary broadcast's raw payload (kind 3, binary encoding)


def _ref(value, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise ProtocolError(f"{name} must be a string or null")


def decode(text: str | bytes, vsn: str) -> Frame:
    """Parse one client frame; raise ProtocolError naming what is wrong."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProtocolError(f"frame is not JSON: {exc}") from None
    if vsn == VSN_2:
        if not isinstance(data, list) or len(data) != 5:
            raise ProtocolError("vsn 2.0.0 frame must be an array [join_ref, ref, topic, event, payload]")
        join_ref, ref, topic, event, payload = data
    else:
        if not isinstance(data, dict):
            raise ProtocolError("vsn 1.0.0 frame must be an object with topic, event, payload, ref")
        join_ref, ref = data.get("join_ref"), data.get("ref")
        topic, event, payload = data.get("topic"), data.get("event"), data.get("payload", {})
    if not isinstance(topic, str) or not topic:
        raise ProtocolError("topic must be a non-empty string")
    refs = {"topic": topic, "join_ref": join_ref, "ref": ref}
    if not isinstance(event, str) or not event:
        raise ProtocolError("event must be a non-empty string", **refs)
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ProtocolError("payload must be an object", **refs)
    try:
        return Frame(_ref(join_ref, "join_ref"), _ref(ref, "ref"), topic, event, payload)
    except ProtocolError as exc:
        raise ProtocolError(str(exc), **refs) from None


# Binary frames (vsn 2.0.0, realtime-js lib/serializer.ts): byte 0 the kind, then 1-byte lengths.
KIND_PUSH = 3  # client → server: join_ref, ref, topic, event, metadata lengths, encoding, ..., payload
KIND_BROADCAST = 4  # server → client: topic, event, metadata lengths, encoding, ..., payload
ENCODING_BINARY = 0
ENCODING_JSON = 1
BROADCAST = "broadcast"


def decode_binary(data: bytes) -> Frame:
    """A client's binary broadcast push (kind 3) as a `broadcast` Frame whose payload is what a
    text push carries: `{type: "broadcast", event, payload}` (+ `meta`); raw binary payloads in
    `Frame.binary`."""
    if len(data) < 7 or data[0] != KIND_PUSH:
        raise ProtocolError(f"binary frame of unknown kind {data[0] if data else None}: only kind 3 (broadcast) is read")
    sizes = data[1:6]
    encoding = data[6]
    fields, offset = [], 7
    for size in sizes:
        fields.append(data[offset:offset + size])
        offset += size
    if offset > len(data):
        raise ProtocolError("binary frame shorter than its header says")
    try:
        join_ref, ref, topic, event, meta = (value.decode() for value in fields)
    except UnicodeDecodeError:
        raise ProtocolError("binary frame header is not UTF-8") from None
    if not topic:
        raise ProtocolError("topic must be a non-empty string")
    refs = {"topic": topic, "join_ref": join_ref or None, "ref": ref or None}
    if not event:
        raise ProtocolError("broadcast event must be a non-empty string", **refs)
    body = data[offset:]
    message = {"type": BROADCAST, "event": event}
    binary = None
    if encoding == ENCODING_JSON:
        try:
            message["payload"] = orjson.loads(body) if body else {}
        except orjson.JSONDecodeError:
            raise ProtocolError("broadcast payload is not JSON", **refs) from None
    elif encoding == ENCODING_BINARY:
        binary = bytes(body)
    else:
        raise ProtocolError(f"unknown payload encoding {encoding}", **refs)
    if meta:
        try:
            message["meta"] = orjson.loads(meta)
        except orjson.JSONDecodeError:
            raise ProtocolError("broadcast metadata is not JSON", **refs) from None
    return Frame(join_ref or None, ref or None, topic, BROADCAST, message, binary)


def encode_broadcast_binary(topic: str, event: str, payload: bytes, encoding: int, meta: bytes = b"") -> bytes | None:
    """A server broadcast frame (kind 4); None when a field is over the format's 255 bytes (the
    caller sends a JSON frame instead)."""
    topic_bytes, event_bytes = topic.encode(), event.encode()
    if max(len(topic_bytes), len(event_bytes), len(meta)) > 255:
        return None
    return (bytes((KIND_BROADCAST, len(topic_bytes), len(event_bytes), len(meta), encoding))
            + topic_bytes + event_bytes + meta + payload)


def encode(vsn: str, join_ref, ref, topic: str, event: str, payload: dict) -> str:
    """One server frame as text."""
    if vsn == VSN_2:
        return orjson.dumps([join_ref, ref, topic, event, payload]).decode()
    return orjson.dumps({"topic": topic, "event": event, "payload": payload, "ref": ref}).decode()


def encode_change(vsn: str, topic_json: bytes, ids: list[int], data_json: bytes) -> str:
    """A `postgres_changes` frame around a change serialized once (`data_json`).

    Only `ids` and the topic differ between sockets, so the frame is assembled from bytes
    instead of re-encoding the record for every subscriber.
    """
    ids_json = b",".join(str(i).encode() for i in ids)
    if vsn == VSN_2:
        raw = b'[null,null,' + topic_json + b',"postgres_changes",{"ids":[' + ids_json + b'],"data":' + data_json + b"}]"
    else:
        raw = (b'{"topic":' + topic_json + b',"event":"postgres_changes","payload":{"ids":[' + ids_json
               + b'],"data":' + data_json + b'},"ref":null}')
    return raw.decode()


def reply(vsn: str, frame: Frame, status: str, response: dict) -> str:
    return encode(vsn, frame.join_ref, frame.ref, frame.topic, "phx_reply", {"status": status, "response": response})


def encode_broadcast(vsn: str, message: dict) -> str | bytes:
    """A broadcast (the bus' `broadcast` body) as a client of `vsn` reads it: vsn 2.0.0, a binary
    kind-4 frame (what Supabase's server sends); vsn 1.0.0, a JSON `broadcast` message, with a
    binary payload as a base64 string (JSON has no bytes)."""
    meta = {"id": message["id"]}
    if vsn == VSN_2:
        if "binary" in message:
            body, encoding = base64.b64decode(message["binary"]), ENCODING_BINARY
        else:
            body, encoding = orjson.dumps(message["payload"]), ENCODING_JSON
        frame = encode_broadcast_binary(message["topic"], message["event"], body, encoding, orjson.dumps(meta))
        if frame is not None:
            return frame
    payload = message["payload"] if "payload" in message else message["binary"]
    return encode(vsn, None, None, message["topic"], BROADCAST,
                  {"type": BROADCAST, "event": message["event"], "payload": payload, "meta": meta})
