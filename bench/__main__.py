"""`python -m bench [substring ...]`: run bench/bench_*.py modules and print one table.

Each module exposes `run() -> list[dict]` with keys name, value, baseline, ratio, target,
passed, unit. Baselines are measured in the same run; the exit status is 1 when a target
is missed.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    return "" if value is None else str(value)


def main(argv: list[str]) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echelon.settings")
    import django

    django.setup()
    package = os.path.dirname(__file__)
    names = sorted(m.name for m in pkgutil.iter_modules([package]) if m.name.startswith("bench_"))
    names = [n for n in names if not argv or any(a in n for a in argv)]
    rows: list[dict] = []
    for name in names:
        print(f"running {name} ...", file=sys.stderr, flush=True)
        rows.extend(importlib.import_module(f"bench.{name}").run())
    headers = ["name", "value", "unit", "baseline", "ratio", "target", "passed"]
    table = [[_fmt(row.get(h)) if h != "passed" else ("yes" if row.get("passed") else "NO") for h in headers]
             for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in table)) if table else len(h) for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    return 0 if all(row.get("passed") for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
