"""`python -m bench [NAME ...]`: run every `bench/bench_*.py` (or those named) and print one table.

Each module exposes `run() -> list[dict]` with keys name, value, baseline, ratio, target,
passed, unit. Exit status 1 when a result misses its target.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    names = sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)]) if m.name.startswith("bench_"))
    if argv:
        names = [n for n in names if n in argv or n.removeprefix("bench_") in argv]
    results = []
    for name in names:
        print(f"running {name} ...", flush=True)
        results.extend(importlib.import_module(f"bench.{name}").run())
    header = ("benchmark", "value", "baseline", "ratio", "target", "ok")
    rows = [(r["name"], f"{r['value']:,.1f} {r['unit']}", f"{r['baseline']:,.1f} {r['unit']}", f"{r['ratio']:.2f}x",
             f">= {r['target']}x", "yes" if r["passed"] else "NO") for r in results]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)))
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
