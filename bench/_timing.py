"""Timing shared by the benchmark scripts (run as ``python bench/<name>.py``, so this file is importable)."""
from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def median_time(fn: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Median wall time of ``repeats`` calls of ``fn`` (seconds), and what the last call returned."""
    times, out = [], None
    for _ in range(max(1, repeats)):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out  # type: ignore[return-value]
