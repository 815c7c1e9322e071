"""Prediction calibration: can this agent's predictions be believed?

Pure functions over journal events (plain dicts, their data read typed). Per iteration, the
predicted speedup (THINK) against the measured one (BENCHMARK ``speedup``,
vs the last kept state: the same thing the prediction was about). For the
campaign, the median of measured/predicted (1.0 = unbiased, < 1 = the agent
over-promises) and the share of predictions within a factor of 1.25 of the
measurement (the single number that says how far to trust the next one).
"""

from __future__ import annotations

import math
from statistics import median
from typing import Any, TypeGuard

from campaign.loop.record import Benchmark, Think
from campaign.review.record_events import Event, first_of, iteration_events, iterations, last_of, typed

WITHIN_FACTOR = 1.25


def pairs(events: list[Event]) -> list[dict[str, Any]]:
    """Per iteration with both numbers: predicted, measured, ratio = measured / predicted."""
    out = []
    for n in iterations(events):
        own = iteration_events(events, n)
        predicted = typed(first_of(own, "think"), Think).predicted_speedup
        measured = typed(last_of(own, "benchmark"), Benchmark).speedup
        if _positive(predicted) and _positive(measured):
            out.append(_point(n, predicted, measured))
    return out


def _point(n: int, predicted: float, measured: float) -> dict[str, Any]:
    ratio = measured / predicted
    return {"iteration": n, "predicted": float(predicted), "measured": float(measured), "ratio": ratio,
            "within": within(ratio)}


def within(ratio: float, factor: float = WITHIN_FACTOR) -> bool:
    return 1 / factor <= ratio <= factor


def summarize(points: list[dict[str, Any]], factor: float = WITHIN_FACTOR) -> dict[str, Any]:
    """Median ratio, share within ``factor``, and the typical miss (geometric mean of |log ratio|)."""
    if not points:
        return {"n": 0, "median_ratio": None, "share_within": None, "factor": factor, "typical_miss": None}
    ratios = [p["ratio"] for p in points]
    miss = math.exp(sum(abs(math.log(r)) for r in ratios) / len(ratios))
    return {
        "n": len(ratios),
        "median_ratio": median(ratios),
        "share_within": sum(within(r, factor) for r in ratios) / len(ratios),
        "factor": factor,
        "typical_miss": miss,
    }


def calibration(events: list[Event]) -> dict[str, Any]:
    points = pairs(events)
    return {"points": points, **summarize(points)}


def _positive(value: Any) -> TypeGuard[float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and math.isfinite(value)
