"""Latency percentiles from sorted samples (time.perf_counter seconds in, milliseconds out)."""

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Latency:
    count: int
    p50_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    max_ms: float | None


def summarise(seconds: Sequence[float]) -> Latency:
    if not seconds:
        return Latency(0, None, None, None, None)
    ordered = sorted(seconds)
    if len(ordered) == 1:
        only = ordered[0] * 1000
        return Latency(1, only, only, only, only)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return Latency(
        len(ordered), cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000, ordered[-1] * 1000
    )


def percentile(values: Sequence[float], p: int) -> float | None:
    """The p-th percentile (1..99) of raw values, in their own unit."""
    if not values:
        return None
    if len(values) == 1:
        return float(values[0])
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[p - 1]
