"""How every output names the decisive interval (pure): ``99.964% CI 1.02-1.10``; a range is never called a CI."""

from __future__ import annotations

import math
from typing import Any, Sequence


def describe_interval(ci: Sequence[Any] | None, level: float | None, kind: str | None = None, metric: str | None = None) -> str:
    """How every output names the decisive interval: ``99.964% CI 1.02-1.10``; a range is never called a CI.

    ``kind="range"``: the blocks' range (an overwhelming decision); no level: an interval of unknown kind.
    ``metric``: the time it is an interval of, named when it is not wall time (``..., cpu time``).
    """
    if not ci or ci[0] is None or ci[1] is None or any(isinstance(v, float) and math.isnan(v) for v in ci):
        return "no interval yet"
    lo, hi = _num(ci[0]), _num(ci[1])
    on = f", {metric} time" if metric and metric != "wall" else ""
    if kind == "range":
        return f"every block {lo}-{hi}, overwhelming{on}"
    return (f"{format_level(level)} CI {lo}-{hi}" if level else f"interval {lo}-{hi}") + on


def _num(value: float) -> str:
    return f"{value:.3f}" if 0.001 <= abs(value) < 1000 or value == 0 else f"{value:.3g}"


def format_level(level: float) -> str:
    """``0.95 -> '95%'``, ``0.99964 -> '99.964%'``: two significant digits of what is left to 100%, never rounded up."""
    pct = level * 100
    if abs(pct - round(pct)) < 1e-9:
        return f"{round(pct)}%"
    digits = min(6, max(1, math.ceil(-math.log10(100 - pct) - 1e-9) + 1))
    text = f"{math.floor(pct * 10 ** digits + 1e-9) / 10 ** digits:.{digits}f}"
    return text.rstrip("0").rstrip(".") + "%"
