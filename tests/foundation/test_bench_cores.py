"""bench.cores: the busy cores the serving benchmark reports, from /proc/stat's counters."""

from __future__ import annotations

import math

from bench.cores import CoresBusy, cores_busy

# user nice system idle iowait irq softirq steal guest guest_nice, then one line per core
BEFORE = "cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 50 0 25 400 25 0 0 0 0 0\ncpu1 50 0 25 400 25 0 0 0 0 0\nintr 1\n"
# 200 ticks passed (100 per core): 60 user, 20 system, 100 idle, 20 iowait
AFTER = "cpu  160 0 70 900 70 0 0 0 0 0\ncpu0 80 0 35 450 35 0 0 0 0 0\ncpu1 80 0 35 450 35 0 0 0 0 0\nintr 2\n"


def test_busy_is_what_was_neither_idle_nor_waiting_times_the_cores():
    assert cores_busy(BEFORE, AFTER) == 80 / 200 * 2


def test_no_tick_between_the_readings_is_not_a_figure():
    assert math.isnan(cores_busy(BEFORE, BEFORE))


def test_a_real_reading_is_between_none_and_every_core():
    with CoresBusy() as busy:
        sum(range(2_000_000))
    with open("/proc/stat") as stat:
        cores = sum(1 for line in stat if line.startswith("cpu") and line[3] != " ")
    assert 0 <= busy.cores <= cores  # over ~30 ms the machine's ticks always move on
