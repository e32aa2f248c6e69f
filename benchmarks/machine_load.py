"""How busy the machine is with other work while a benchmark runs (Linux /proc/stat), shared by the
benchmarks that report it."""

from __future__ import annotations

import os
import resource


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) clock ticks of all CPUs so far, from /proc/stat (Linux; (0, 0) elsewhere)."""
    try:
        with open("/proc/stat") as file:
            fields = [int(v) for v in file.readline().split()[1:9]]
    except (OSError, ValueError):
        return 0, 0
    return sum(fields) - fields[3] - fields[4], sum(fields)  # minus idle and iowait


def others_share(start: tuple[int, int], own_cpu_seconds: float) -> str:
    """How busy the machine was with other processes since `start`, as a sentence."""
    busy, total = cpu_ticks()
    if total <= start[1]:
        return "other processes' CPU use: unknown (no /proc/stat)"
    tick = os.sysconf("SC_CLK_TCK")
    cores = os.cpu_count() or 1
    others = max(busy - start[0] - own_cpu_seconds * tick, 0) / (total - start[1])
    return (f"while measuring, other processes kept {100 * others:.0f}% of the {cores} cores busy "
            f"(/proc/stat minus this benchmark's own CPU time)")


def own_cpu_seconds() -> float:
    """CPU seconds of this process and its waited-for children."""
    me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
