"""`python -m bench [NAME ...]`: run the benchmark modules (all, or those whose name contains
one of NAME) against the bench database and print one table of ratios."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time


def discover(filters: list[str]) -> list[str]:
    import bench

    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    return [n for n in names if not filters or any(f in n for f in filters)]


def _figure(value, form: str) -> str:
    return "-" if value is None else form.format(value)  # rows without a baseline or ratio


def format_table(results: list[dict]) -> str:
    header = ("benchmark", "value", "baseline", "ratio", "target", "unit", "ok")
    rows = [header] + [
        (
            r["name"], f"{r['value']:.4g}", _figure(r["baseline"], "{:.4g}"), _figure(r["ratio"], "{:.2f}x"),
            str(r["target"]),
            r["unit"], "PASS" if r["passed"] else "FAIL",
        )
        for r in results
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    from bench.database import use_bench_database

    use_bench_database()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "echelon.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    results: list[dict] = []
    for name in discover(argv):
        started = time.perf_counter()
        print(f"running {name} ...", flush=True)
        module = importlib.import_module(f"bench.{name}")
        results.extend(module.run())
        print(f"  {name} took {time.perf_counter() - started:.1f} s", flush=True)
    if not results:
        print("no benchmark matched", argv, file=sys.stderr)
        return 2
    print()
    print(format_table(results))
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
