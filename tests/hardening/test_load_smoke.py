"""A short run of the mixed load (`bench/load.py`): 12 s, 50 sockets, lower rates.

The 10-minute run with 500 sockets is the documented command (`make load`, docs/benchmarks.md); this smoke run keeps the script working and checks the same invariants on a
loaded CI machine: no request error, no lost, unauthorized or duplicate push, every socket
still open, a clean server stop. Memory growth is only judged on runs of 120 s or more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.servers import PROJECT_ROOT


def test_short_mixed_load_has_no_errors_and_loses_no_push():
    result = subprocess.run(
        [sys.executable, "-m", "bench.load", "--seconds", "12", "--sockets", "50", "--read-rate", "10",
         "--write-rate", "5", "--callback-rate", "2", "--metric-rate", "0.5"],
        cwd=PROJECT_ROOT, env=dict(os.environ), capture_output=True, text=True, timeout=240,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith("LOAD-RESULT ")]
    assert lines, f"no result (exit {result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    report = json.loads(lines[-1][len("LOAD-RESULT "):])
    assert all(report["checks"].values()), result.stdout[-3000:]
    assert result.returncode == 0, result.stdout[-3000:]
    assert report["writes"] >= 30 and report["pushes"]["expected"] >= 30, report
    for kind in ("read", "write", "metrics", "callback"):
        assert report["kinds"][kind]["ok"] > 0 and report["kinds"][kind]["errors"] == 0, report["kinds"][kind]
