"""How many of the machine's cores were busy while a load ran (Linux, from /proc/stat).

`CoresBusy` reads the kernel's CPU time counters of all cores before and after a block: the
share of their ticks that were neither idle nor I/O wait, times the number of cores. It counts
every process on the machine (server, PostgreSQL, proxy, load generator, anything else), which
is what shows whether a serving mode can use the cores at all: a figure near the core count
means the machine, not the server, is the limit.
"""

from __future__ import annotations

IDLE, IOWAIT = 3, 4  # fields of a "cpu" line after its name: user nice system idle iowait irq softirq steal


def cpu_times(stat: str) -> tuple[int, int, int]:
    """(busy ticks, all ticks, cores) since boot, from the text of /proc/stat."""
    lines = stat.splitlines()
    fields = [int(value) for value in lines[0].split()[1:9]]
    cores = sum(1 for line in lines[1:] if line.startswith("cpu"))
    return sum(fields) - fields[IDLE] - fields[IOWAIT], sum(fields), cores


class CoresBusy:
    """`with CoresBusy() as busy: ...`, then `busy.cores`: the cores busy on average in the block."""

    cores = float("nan")

    def __enter__(self) -> CoresBusy:
        self._before = _read()
        return self

    def __exit__(self, *exc) -> None:
        self.cores = cores_busy(self._before, _read())


def _read() -> str:
    with open("/proc/stat") as stat:
        return stat.read()


def cores_busy(before: str, after: str) -> float:
    """The cores busy on average between two readings of /proc/stat (NaN: no tick passed)."""
    busy_before, all_before, _ = cpu_times(before)
    busy, total, cores = cpu_times(after)
    if total <= all_before:
        return float("nan")
    return (busy - busy_before) / (total - all_before) * cores
