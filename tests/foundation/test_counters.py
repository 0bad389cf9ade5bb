"""Window counters on Redis (echelon/counters.py): one command per count, created with the
window's expiry, atomic across threads, and readable as Django's cache reads them; a Redis that
forgot the script (restarted, SCRIPT FLUSH) is sent it again."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.core.cache import cache

from echelon.counters import count_request


@pytest.fixture
def redis_cache(redis_server_url, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": redis_server_url}}
    return cache


def redis_client(store):
    return store._cache.get_client(write=True)


def test_a_new_counter_starts_at_one_with_its_window_expiry(redis_cache):
    key = f"test-counter:{uuid.uuid4()}"
    assert [count_request(key, 120) for _ in range(3)] == [1, 2, 3]
    ttl = redis_client(redis_cache).ttl(redis_cache.make_and_validate_key(key))
    assert 0 < ttl <= 120
    assert redis_cache.get(key) == 3  # Django's cache reads the same integer


def test_an_expired_counter_starts_again_from_one(redis_cache):
    key = f"test-counter:{uuid.uuid4()}"
    count_request(key, 120)
    count_request(key, 120)
    redis_client(redis_cache).delete(redis_cache.make_and_validate_key(key))  # what expiry does
    assert count_request(key, 120) == 1


def test_counts_from_many_threads_add_up(redis_cache):
    key = f"test-counter:{uuid.uuid4()}"
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(lambda _: count_request(key, 120), range(200)))
    assert sorted(counts) == list(range(1, 201))


def test_one_command_per_count(redis_cache):
    """Django's `incr` asks EXISTS first (a second round trip); a count is one script call."""
    key = f"test-counter:{uuid.uuid4()}"
    client = redis_client(redis_cache)
    count_request(key, 120)  # the connection is made and the script loaded

    def calls() -> dict[str, int]:
        return {name: stats["calls"] for name, stats in client.info("commandstats").items()}

    before = calls()
    count_request(key, 120)
    after = calls()
    moved = {name.removeprefix("cmdstat_"): after[name] - before.get(name, 0)
             for name in after if after[name] != before.get(name, 0)}
    moved.pop("info", None)  # the INFO that read `before`
    assert moved == {"evalsha": 1, "incr": 1}  # INCR inside the script; EXPIRE only for a new key


def test_a_redis_that_forgot_the_script_is_sent_it_again(redis_cache):
    key = f"test-counter:{uuid.uuid4()}"
    assert count_request(key, 120) == 1
    redis_client(redis_cache).script_flush()
    assert count_request(key, 120) == 2
