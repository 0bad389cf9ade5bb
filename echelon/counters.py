"""Window counters in the shared cache (rate limits, login and callback failure limits).

Fixed windows: a counter key is created with `cache.add` and bumped with `cache.incr`, both
atomic in Redis and in the local-memory cache, so a limit holds across processes.

Shared cache down (Redis stopped or unreachable): callers keep answering. Counting moves to a
process-local cache, a warning is logged, and the shared cache is tried again after
`SHARED_CACHE_RETRY_SECONDS` (so an outage costs one failed attempt per process per interval,
not one per request). While it is down, limits hold per process only and counts restart from
zero when it comes back (a window may let up to its limit through once more per process).
"""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache

from echelon.outage import RetryAfter, one_line

logger = logging.getLogger(__name__)

KEY_SLACK_SECONDS = 60  # a window's counter outlives the window, so it never expires mid-window
SHARED_CACHE_RETRY_SECONDS = 5.0

_local_cache = LocMemCache("echelon-ratelimit-fallback", {"MAX_ENTRIES": 100_000})
_shared_retry = RetryAfter(SHARED_CACHE_RETRY_SECONDS)


def _count(store, key: str, timeout: int) -> int:
    try:
        return store.incr(key)
    except ValueError:  # first request of the window
        if store.add(key, 1, timeout):
            return 1
        return store.incr(key)


def _with_store(operation):
    """`operation(store)` on the shared cache, or on the process-local one while the shared
    cache is failing (see the module docstring)."""
    if _shared_retry.due():
        try:
            return operation(cache)
        except ValueError:
            raise
        except Exception as exc:  # noqa: BLE001 - any cache failure (redis.ConnectionError, timeouts, OSError)
            _shared_retry.failed()
            logger.warning("rate limits: shared cache unavailable (%s); counting per process, retrying "
                           "in %.0f s", one_line(exc), SHARED_CACHE_RETRY_SECONDS)
    return operation(_local_cache)


def count_request(key: str, timeout: int) -> int:
    """Atomically add one to the counter `key` and return the new count."""
    return _with_store(lambda store: _count(store, key, timeout))


def add_once(key: str, timeout: int) -> bool:
    """True for the first caller of `key` in its lifetime (an atomic `add`)."""
    return _with_store(lambda store: store.add(key, 1, timeout))
