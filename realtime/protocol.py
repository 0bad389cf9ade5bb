"""Phoenix channel frames as Supabase Realtime speaks them: encode/decode for vsn 1.0.0 and 2.0.0.

vsn 2.0.0 frames are JSON arrays `[join_ref, ref, topic, event, payload]`; vsn 1.0.0 frames are
objects `{"topic", "event", "payload", "ref"}` (the server leaves out `join_ref`, the client
accepts that). Only text frames are ever sent.
"""

from __future__ import annotations

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
CLOSE_BINARY_FRAME = 4003
CLOSE_UNREADABLE_FRAME = 4007
CLOSE_FRAME_TOO_BIG = 4009
# Not (or no longer) authorized: the upgrade refused (before accept, daphne answers HTTP 403),
# or the socket's user was deactivated or deleted (after accept: the close frame's code).
CLOSE_UNAUTHORIZED = 4001


class ProtocolError(ValueError):
    """A frame the server cannot read (not JSON, wrong shape, wrong types)."""


@dataclass(frozen=True)
class Frame:
    join_ref: str | None
    ref: str | None
    topic: str
    event: str
    payload: dict


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
    if not isinstance(event, str) or not event:
        raise ProtocolError("event must be a non-empty string")
    if payload is None:
        payload = {}
    if not isinstance(payload, dict):
        raise ProtocolError("payload must be an object")
    return Frame(_ref(join_ref, "join_ref"), _ref(ref, "ref"), topic, event, payload)


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
