"""Living with a shared service that is down (PostgreSQL, Redis as cache or bus).

`RetryAfter` leaves a failed service alone for a while, so an outage costs one failed attempt
per interval and process, not one per request or write. `one_line` describes the failure for a
log line: a traceback per request through an outage would drown everything else.
"""

from __future__ import annotations

import time


def one_line(exc: BaseException) -> str:
    """`Type: first line of the message`."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}"


class RetryAfter:
    """Whether to try a service again: not for `seconds` after it failed."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._until = 0.0

    def due(self) -> bool:
        return time.monotonic() >= self._until

    def failed(self) -> None:
        self._until = time.monotonic() + self.seconds
