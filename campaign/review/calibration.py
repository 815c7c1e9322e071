"""Prediction calibration: can this agent's predictions be believed?

Pure functions over journal events (plain dicts). Per iteration, the
predicted speedup (THINK) against the measured one (BENCHMARK ``speedup``,
vs the last kept state: the same thing the prediction was about). For the
campaign, the median of measured/predicted (1.0 = unbiased, < 1 = the agent
over-promises) and the share of predictions within a factor of 1.25 of the
measurement (the single number that says how far to trust the next one).
"""

from __future__ import annotations

import math
from statistics import median
from typing import Any

from campaign.review.record_events import Event, data_of, first_of, iteration_events, iterations, last_of

WITHIN_FACTOR = 1.25


def pairs(events: list[Event]) -> list[dict[str, Any]]:
    """Per iteration with both numbers: predicted, measured, ratio = measured / predicted."""
    out = []
    for n in iterations(events):
        own = iteration_events(events, n)
        predicted = data_of(first_of(own, "think")).get("predicted_speedup")
        measured = data_of(last_of(own, "benchmark")).get("speedup")
        if not (_positive(predicted) and _positive(measured)):
            continue
        ratio = measured / predicted
        out.append(
            {
                "iteration": n,
                "predicted": float(predicted),
                "measured": float(measured),
                "ratio": ratio,
                "within": within(ratio),
            }
        )
    return out


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


def _positive(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0 and math.isfinite(value)
