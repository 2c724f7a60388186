"""Small statistics and system helpers shared by the benchmarks (no I/O but /proc reads)."""

from __future__ import annotations

import math
import os
import resource
import statistics
from collections.abc import Sequence

__all__ = ["median", "percentile", "rss_bytes", "thread_count", "weighted_percentile"]

_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def median(values: Sequence[float]) -> float:
    """The median (``nan`` for no values)."""
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct``-th percentile by linear interpolation (``nan`` for no values)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * pct / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def weighted_percentile(values: Sequence[float], weights: Sequence[float], pct: float) -> float:
    """The smallest value at or below which ``pct`` percent of the total weight lies."""
    if not values:
        return math.nan
    pairs = sorted(zip(values, weights, strict=True))
    total = sum(w for _, w in pairs)
    seen = 0.0
    for value, weight in pairs:
        seen += weight
        if seen >= total * pct / 100:
            return value
    return pairs[-1][0]


def rss_bytes() -> int:
    """This process's resident set size now (peak so far where /proc is missing)."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def thread_count() -> int:
    """OS threads of this process (Python's count where /proc is missing)."""
    try:
        with open("/proc/self/status", "rb") as f:
            for line in f:
                if line.startswith(b"Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import threading

    return threading.active_count()
