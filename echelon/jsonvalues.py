"""JSON values that PostgreSQL can store.

PostgreSQL refuses the NUL character in jsonb (`\\u0000`) and in text, deeply nested values
exhaust the recursion of the JSON encoders, and a number beyond float range (`1e999` parses as
Infinity) is written as `Infinity`, which jsonb refuses: each reached the database and failed
there with a 500 (found by the fuzzers in tests/hardening). Writers check with `unstorable_path`.
"""

from __future__ import annotations

import math
import re

MAX_DEPTH = 100


def unstorable_path(value, path: str = "", depth: int = 0) -> str | None:
    """The path (`a.b[2]`) of the first part PostgreSQL cannot store, or None when all is fine."""
    if depth > MAX_DEPTH:
        return path or "(value)"
    if isinstance(value, str):
        return (path or "(value)") if "\x00" in value else None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path or "(value)")
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in str(key):
                return f"{path}.{key!r}" if path else repr(key)
            found = unstorable_path(item, f"{path}.{key}" if path else str(key), depth + 1)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unstorable_path(item, f"{path}[{index}]", depth + 1)
            if found:
                return found
    return None


def unstorable_message(path: str) -> str:
    return (f"{path} contains a NUL character, a number out of range (Infinity or NaN) "
            f"or is nested deeper than {MAX_DEPTH} levels")


def top_field(path: str) -> str:
    """The top-level key of a path from `unstorable_path` (`output` of `output.items[3]`)."""
    return re.split(r"[.\[]", path, maxsplit=1)[0]
