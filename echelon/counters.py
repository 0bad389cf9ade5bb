"""Window counters in the shared cache (rate limits, login and callback failure limits).

Fixed windows: a counter key is created with `cache.add` and bumped with `cache.incr`, both
atomic in Redis and in the local-memory cache, so a limit holds across processes. On Redis the
two are one script in one round trip (`_count_in_redis`): Django's `incr` alone is two
(EXISTS, then INCRBY), and every rate-limited request counts once.

Shared cache down (Redis stopped or unreachable): callers keep answering. Counting moves to a
process-local cache, a warning is logged, and the shared cache is tried again after
`SHARED_CACHE_RETRY_SECONDS` (so an outage costs one failed attempt per process per interval,
not one per request). While it is down, limits hold per process only and counts restart from
zero when it comes back (a window may let up to its limit through once more per process).
"""

from __future__ import annotations

import logging
from functools import lru_cache

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache

from echelon.outage import RetryAfter, one_line

logger = logging.getLogger(__name__)

KEY_SLACK_SECONDS = 60  # a window's counter outlives the window, so it never expires mid-window
SHARED_CACHE_RETRY_SECONDS = 5.0

_local_cache = LocMemCache("echelon-ratelimit-fallback", {"MAX_ENTRIES": 100_000})
_shared_retry = RetryAfter(SHARED_CACHE_RETRY_SECONDS)


def _count(store, key: str, timeout: int) -> int:
    if isinstance(store, RedisCache):
        return _count_in_redis(store, key, timeout)
    try:
        return store.incr(key)
    except ValueError:  # first request of the window
        if store.add(key, 1, timeout):
            return 1
        return store.incr(key)


# INCR, and the window's expiry on the key it created: one atomic command (scripts run whole).
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _count_in_redis(store: RedisCache, key: str, timeout: int) -> int:
    """`add` then `incr` in one round trip: a script, sent by its SHA once Redis knows it. The
    key is created with its expiry (never an INCR that leaves a key without one). Django's
    Redis cache keeps integers unpickled, so `store.get(key)` reads the same count."""
    return _count_script(store._cache)(keys=[store.make_and_validate_key(key)], args=[timeout])


@lru_cache(maxsize=64)  # one per cache backend instance (Django makes one per thread)
def _count_script(backend_client):
    """The count script on a redis-py client of the backend's pool, made once: Django's
    `get_client` builds a new `redis.Redis` per call, and its set-up (a table of ~170 response
    callbacks) cost more Python time than the count's round trip (bench/bench_serving.py)."""
    return backend_client.get_client(write=True).register_script(_COUNT_SCRIPT)


def _with_store(operation):
    """`operation(store)` on the shared cache, or on the process-local one while the shared
    cache is failing (see the module docstring)."""
    if _shared_retry.due():
        try:
            return operation(caches[DEFAULT_CACHE_ALIAS])  # the backend itself, not the proxy `cache`
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
