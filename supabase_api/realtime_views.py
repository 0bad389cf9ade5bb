"""`POST /realtime/v1/api/broadcast` (`{messages: [{topic, event, payload, private}]}`, what
realtime-js' `send()` falls back to) and `POST /realtime/v1/api/broadcast/<topic>/events/<event>`
(`httpSend`: the body is the payload, JSON or `application/octet-stream`; `?private=true`).

A signed-in user's token (`Authorization: Bearer`, with the anon key as `apikey`); each message
is authorized as a socket's push is (`realtime.services.send_refusal`: signed in, and for
private topics the topic policy's `can_send`). One refused message refuses the request (403,
nothing sent); otherwise every message is sent and the answer is 202 with an empty body. A
body over REALTIME_MAX_FRAME_BYTES (a socket's frame limit) is 413.
"""

from __future__ import annotations

import orjson
from django.http import HttpResponse

from realtime import bus
from realtime.consumer import max_frame_bytes
from realtime.services import broadcast_message, send_refusal
from supabase_api.keys import SupabaseKeyAuthentication
from supabase_api.views import SupabaseView

MAX_MESSAGES = 100  # per request (Supabase's own API has no published cap; this keeps a request bounded)


def _error(status: int, message: str) -> HttpResponse:
    return HttpResponse(orjson.dumps({"error": message, "message": message}), status=status,
                        content_type="application/json")


def _messages(body: bytes) -> list[dict] | str:
    """The messages of a `{messages: [...]}` body, or why it is refused."""
    try:
        data = orjson.loads(body or b"{}")
    except orjson.JSONDecodeError:
        return "the body must be JSON: {messages: [{topic, event, payload, private}]}"
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list) or not messages:
        return "messages must be a non-empty list of {topic, event, payload, private}"
    if len(messages) > MAX_MESSAGES:
        return f"at most {MAX_MESSAGES} messages per request"
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            return f"messages[{index}] must be an object"
        if not isinstance(message.get("topic"), str) or not message["topic"]:
            return f"messages[{index}].topic must be a non-empty string"
        if not isinstance(message.get("event"), str) or not message["event"]:
            return f"messages[{index}].event must be a non-empty string"
        if not isinstance(message.get("private", False), bool):
            return f"messages[{index}].private must be true or false"
    return messages


class BroadcastView(SupabaseView):
    authentication_classes = [SupabaseKeyAuthentication]

    def post(self, request, topic: str | None = None, event: str | None = None):
        if not request.user.is_authenticated:
            return _error(401, "Unauthorized: broadcast needs a signed-in user's access token")
        if len(request.body) > max_frame_bytes():  # what a socket may push at once, too
            return _error(413, f"the body is over {max_frame_bytes()} bytes (REALTIME_MAX_FRAME_BYTES)")
        if topic is None:
            messages = _messages(request.body)
            if isinstance(messages, str):
                return _error(400, messages)
            outgoing = [dict(name=m["topic"], event=m["event"], payload=m.get("payload"),
                             private=m.get("private", False)) for m in messages]
        else:
            private = request.GET.get("private") == "true"
            if (request.content_type or "") == "application/octet-stream":
                outgoing = [dict(name=topic, event=event, binary=request.body, private=private)]
            else:
                try:
                    payload = orjson.loads(request.body or b"{}")
                except orjson.JSONDecodeError:
                    return _error(400, "the body must be JSON (or application/octet-stream)")
                outgoing = [dict(name=topic, event=event, payload=payload, private=private)]
        for message in outgoing:
            refusal = send_refusal(request.user, message["name"], message["private"])
            if refusal:
                return _error(403, refusal)
        for message in outgoing:
            bus.publish(broadcast_message(**message))
        return HttpResponse(status=202)
