"""Benchmarks: `make bench` (= `python -m bench`) runs every `bench/bench_*.py` module.

Each module exposes `run() -> list[dict]` with keys name, value, baseline, ratio, target,
passed, unit; figures are ratios against a baseline measured in the same run. Benchmarks run
against a dedicated database, `echelon_bench`, on the same PostgreSQL server as DATABASE_URL
(created and migrated on first use; data sets are built once and reused).
"""
