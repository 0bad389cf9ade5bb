"""Rate-limit tables and window timing for the rate-limit tests."""

from __future__ import annotations

import time


def limits(**tiers):
    table = {"anonymous": {"requests": 3, "window_seconds": 3600}, "free": {"requests": 5, "window_seconds": 3600}}
    table.update({tier: {"requests": n, "window_seconds": w} for tier, (n, w) in tiers.items()})
    return table


def wait_for_fresh_window(window: int, needed: float) -> None:
    """Sleep past a window boundary when fewer than `needed` seconds of the window are left."""
    left = window - time.time() % window
    if left < needed:
        time.sleep(left + 0.05)
