"""Broadcast on realtime channels, and who may use a topic (issue 15).

One message format on the bus for every sender (a socket's push, `POST /realtime/v1/api/broadcast`,
the server's `broadcast` service): `{"broadcast": {topic, private, event, payload | binary, id,
origin}}`, fanned out by each process' dispatcher to its sockets joined to that topic with the
same privacy (a public `agent:1` and a private `agent:1` are two channels, as in Supabase).

Who may: public channels, any signed-in user; private ones (`config.private: true`), the topic
policy (`echelon.policy.TopicPolicy`, declared next to the row policies).
"""

from __future__ import annotations

import base64
import uuid

import orjson
from django.db import transaction

from echelon.policy import is_signed_in, topic_policy_for
from realtime import bus

TOPIC_PREFIX = "realtime:"


def unauthorized(name: str, action: str = "read from") -> str:
    """Supabase's reason for a channel the user may not use (`action`: read from / write to)."""
    return f"Unauthorized: You do not have permissions to {action} this Channel topic: {name}"


def _topic_rights(user, name: str) -> tuple[bool, bool]:
    found = topic_policy_for(name)
    if found is None or not is_signed_in(user):
        return False, False
    policy, ident = found
    if not policy.can_join(user, ident):
        return False, False
    return True, policy.can_send(user, ident)


def authorize_topic(user_id: str | None, name: str) -> tuple[bool, bool]:
    """(may join, may send) on the private topic `name` (without `realtime:`) for the user
    `user_id`, as its topic policy says (sync: queries)."""
    from accounts.models import User

    if user_id is None:
        return False, False
    return _topic_rights(User.objects.filter(pk=user_id).first(), name)


def send_refusal(user, name: str, private: bool) -> str | None:
    """Why `user` may not broadcast on `name` (None: it may): signed in; private, the topic policy."""
    if not is_signed_in(user):
        return unauthorized(name, "write to")
    if private and not _topic_rights(user, name)[1]:
        return unauthorized(name, "write to")
    return None


def broadcast_message(*, name: str, event: str, payload=None, binary: bytes | None = None, private: bool,
                      origin: str | None = None) -> bytes:
    """The bus message of one broadcast on the channel `name` (without `realtime:`)."""
    body = {"topic": TOPIC_PREFIX + name, "private": private, "event": event, "id": str(uuid.uuid4()),
            "origin": origin}
    if binary is not None:
        body["binary"] = base64.b64encode(binary).decode()
    else:
        body["payload"] = payload if payload is not None else {}
    return orjson.dumps({"broadcast": body})


def broadcast(*, topic: str, event: str, payload, private: bool = True) -> None:
    """Broadcast `payload` as `event` on the channel `topic` (e.g. `agent:<id>`) once the current
    transaction commits (never after a rollback; at once outside a transaction)."""
    message = broadcast_message(name=topic, event=event, payload=payload, private=private)
    transaction.on_commit(lambda: bus.publish(message))
