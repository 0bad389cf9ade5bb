"""Real parallel transactions for the concurrency tests: threads, each with its own connection."""

from __future__ import annotations

import threading

from django.db import connection


def run_in_threads(count: int, work) -> list[BaseException]:
    """Run `work(i)` in `count` threads released together; return the exceptions raised."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def target(i):
        try:
            connection.ensure_connection()  # connect before the barrier, so the work itself overlaps
            barrier.wait(timeout=60)
            work(i)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker thread hung"
    return errors
