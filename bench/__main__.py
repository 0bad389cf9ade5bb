"""`python -m bench [NAME ...]`: run the benchmark modules (all, or those whose name contains
one of NAME) against the bench database and print one table of ratios."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import time
import traceback


def discover(filters: list[str]) -> list[str]:
    import bench

    names = sorted(m.name for m in pkgutil.iter_modules(bench.__path__) if m.name.startswith("bench_"))
    return [n for n in names if not filters or any(f in n for f in filters)]


def _number(value) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "-"
    return f"{value:.4g}" if isinstance(value, (int, float)) else str(value)


def format_table(results: list[dict]) -> str:
    """One table for every module: figure, same-run baseline, ratio, target, pass/fail."""
    header = ("benchmark", "value", "baseline", "ratio", "target", "unit", "ok")
    rows = [header] + [
        (
            r["name"], _number(r["value"]), _number(r.get("baseline")),
            "-" if r.get("ratio") is None or r["ratio"] != r["ratio"] else f"{r['ratio']:.2f}x",
            str(r["target"]), r["unit"], "PASS" if r["passed"] else "FAIL",
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
        try:
            module = importlib.import_module(f"bench.{name}")
            results.extend(module.run())
        except Exception as exc:  # one broken module must not hide the others' figures
            traceback.print_exc()
            results.append({"name": f"{name}: did not run ({type(exc).__name__}: {exc})"[:160], "value": float("nan"),
                            "baseline": float("nan"), "ratio": float("nan"), "target": "-", "passed": False,
                            "unit": "-"})
        print(f"  {name} took {time.perf_counter() - started:.1f} s", flush=True)
    if not results:
        print("no benchmark matched", argv, file=sys.stderr)
        return 2
    print()
    print(format_table(results))
    return 0 if all(r["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
