"""Fractions (WER, PER) shown as percentage points with their 95% intervals: one format for
BENCH.md's sections (nas.bench.compare, nas.bench.answer, nas.bench.latency_searches)."""
from __future__ import annotations

import math
from typing import Optional


def pts(x: Optional[float], signed: bool = False) -> str:
    """100 x to two decimals ("+0.42" when `signed`, for differences); "-" for a missing value."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{100 * x:+.2f}" if signed else f"{100 * x:.2f}"


def with_interval(x: Optional[float], low: float, high: float, signed: bool = False) -> str:
    """pts(x) and its interval "[low, high]"; no interval where it is undefined (nan)."""
    ci = "" if math.isnan(low) else f" [{pts(low, signed)}, {pts(high, signed)}]"
    return pts(x, signed) + ci
