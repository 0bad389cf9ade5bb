"""The bus between writers and server processes.

With `REDIS_URL`: one Redis pub/sub channel; writers PUBLISH each change once, and every server
process holds ONE subscription (see dispatcher). Without it: an in-process bus that hands the
change to the dispatchers of this process' event loops.
"""

from __future__ import annotations

import threading

from django.conf import settings

_clients: dict[str, object] = {}
_lock = threading.Lock()
_local_dispatchers: set = set()


def channel_name() -> str:
    return getattr(settings, "REALTIME_REDIS_CHANNEL", "echelon:realtime")


def redis_url() -> str:
    return getattr(settings, "REDIS_URL", "") or ""


def _redis(url: str):
    client = _clients.get(url)
    if client is None:
        import redis

        with _lock:
            client = _clients.setdefault(url, redis.Redis.from_url(url))
    return client


def publish(message: bytes) -> None:
    """Send one serialized change to every server process (sync; called after commit)."""
    url = redis_url()
    if url:
        _redis(url).publish(channel_name(), message)
        return
    for dispatcher in list(_local_dispatchers):
        dispatcher.deliver_threadsafe(message)


def attach_local(dispatcher) -> None:
    _local_dispatchers.add(dispatcher)


def detach_local(dispatcher) -> None:
    _local_dispatchers.discard(dispatcher)
