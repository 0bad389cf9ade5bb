"""Benchmarks run by `make bench` (`python -m bench`), reported as ratios to a baseline of the same run."""
