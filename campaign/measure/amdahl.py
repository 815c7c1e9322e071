"""Amdahl's law (pure): what speeding up one phase can do for the whole run."""

from __future__ import annotations

import math


def amdahl_speedup(share: float, phase_speedup: float) -> float:
    """Whole-run speedup when a phase holding ``share`` of the time gets ``phase_speedup`` faster."""
    if phase_speedup <= 0:
        raise ValueError("phase_speedup must be > 0")
    if math.isinf(phase_speedup):
        return math.inf if share >= 1 else 1 / (1 - share)
    return 1 / ((1 - share) + share / phase_speedup)


def amdahl_bound(share: float, factor: float = math.inf) -> float:
    """The best whole-run speedup from speeding up a phase with ``share`` by ``factor`` (default: infinitely)."""
    share = min(max(share, 0.0), 1.0)
    return amdahl_speedup(share, factor)
