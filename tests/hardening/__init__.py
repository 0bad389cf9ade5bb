"""Hardening: bad input (fuzzers), faults, concurrency and load (issue 8)."""
