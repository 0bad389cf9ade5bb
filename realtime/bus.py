"""The bus between writers and server processes.

With `REDIS_URL`: one Redis pub/sub channel; writers PUBLISH each change once, and every server
process holds ONE subscription (see dispatcher). Without it: an in-process bus that hands the
change to the dispatchers of this process' event loops.

Redis down: the write still commits and the change still reaches the sockets of the process
that wrote it (single-process delivery): a failed PUBLISH, or a local dispatcher that is not
subscribed at the moment (its subscription is reconnecting), gets the message in memory.
Sockets on other processes miss the changes of the outage (clients re-fetch them with the REST
`updated_after` / `created_after` filters). After a failure Redis is left alone for
`REDIS_RETRY_SECONDS`, so an outage costs one failed attempt per interval, not one per write.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from echelon.outage import RetryAfter, one_line

_clients: dict[str, object] = {}
_lock = threading.Lock()
_local_dispatchers: set = set()
log = logging.getLogger(__name__)

REDIS_RETRY_SECONDS = 2.0
_redis_retry = RetryAfter(REDIS_RETRY_SECONDS)


def channel_name() -> str:
    return getattr(settings, "REALTIME_REDIS_CHANNEL", "echelon:realtime")


def redis_url() -> str:
    return getattr(settings, "REDIS_URL", "") or ""


def _redis(url: str):
    client = _clients.get(url)
    if client is None:
        import redis

        with _lock:
            # a Redis that hangs must not hang the writer (publish runs after commit, in the request)
            client = _clients.setdefault(url, redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1))
    return client


def publish(message: bytes) -> None:
    """Send one serialized change to every server process (sync; called after commit)."""
    url = redis_url()
    published = False
    if url and _redis_retry.due():
        try:
            _redis(url).publish(channel_name(), message)
            published = True
        except Exception as exc:  # noqa: BLE001 - redis.ConnectionError, timeouts, OSError
            _redis_retry.failed()
            log.warning("realtime: Redis unavailable (%s); changes reach this process' sockets only",
                        one_line(exc))
    for dispatcher in list(_local_dispatchers):
        if not (published and dispatcher.subscribed):
            dispatcher.deliver_threadsafe(message)


_publisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="realtime-publish")


async def publish_async(message: bytes) -> None:
    """`publish` from an event loop (a socket's broadcast): on one thread, so a process' messages
    keep their order and a slow Redis never blocks the loop."""
    await asyncio.get_running_loop().run_in_executor(_publisher, publish, message)


async def published() -> None:
    """Until every `publish_async` called so far has published (tests: then read what arrived)."""
    await asyncio.get_running_loop().run_in_executor(_publisher, lambda: None)


def attach_local(dispatcher) -> None:
    _local_dispatchers.add(dispatcher)


def detach_local(dispatcher) -> None:
    _local_dispatchers.discard(dispatcher)
