"""A server clock the test moves: libfaketime preloaded into a daphne process.

Token expiry is made by the clock, never by waiting for a token to run out: the server is
started with `ServerClock.env()` and `advance(seconds)` moves its wall clock (what `time.time()`
and `datetime.now()` answer there, so simplejwt's expiry check and the socket's expiry timer)
forward at once. The monotonic clock is left alone (asyncio timers and timeouts are unchanged).
libfaketime reads the offset file at every clock read (FAKETIME_NO_CACHE), so the change is
seen by the server's next read, with no delay to wait on.

libfaketime is the Debian package `libfaketime`; `make test` installs it when missing.
"""

from __future__ import annotations

import glob
from pathlib import Path

import pytest

LIBRARY_PATTERN = "/usr/lib/*/faketime/libfaketimeMT.so.1"  # the thread-safe variant (daphne has threads)


def library() -> str:
    found = sorted(glob.glob(LIBRARY_PATTERN))
    if not found:
        pytest.fail("libfaketime is missing (Debian package libfaketime): run `make test`, which installs it")
    return found[0]


class ServerClock:
    def __init__(self, directory: Path):
        self.file = directory / "faketime-offset"
        self.offset = 0
        self.file.write_text("+0\n")

    def env(self) -> dict:
        return {
            "LD_PRELOAD": library(),
            "FAKETIME_TIMESTAMP_FILE": str(self.file),
            "FAKETIME_NO_CACHE": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
            "NO_FAKE_STAT": "1",  # file times stay real (Python's bytecode cache compares them)
        }

    def advance(self, seconds: int) -> None:
        self.offset += int(seconds)
        self.file.write_text(f"{self.offset:+d}\n")
