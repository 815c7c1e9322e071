"""When a benchmark may decide, and at what level: alpha spent over planned looks (pure).

``faster`` and ``slower`` spend ``alpha`` evenly (the union bound); ``same``,
which only ever reverts, spends ``alpha_same`` through a boundary computed
for the looks' correlation. Why a schedule, and why the union bound, is told in ``campaign.measure.stats``
and docs/measurement.md; this module only holds the numbers, so that the
scheduler, the result builder and the statistics read one definition.
"""

from __future__ import annotations

import math
from functools import lru_cache

ALPHA = 0.01  # P(identical code is called faster or slower) over a whole benchmark
ALPHA_SAME = 0.05  # P(a real difference of min_effect is called same) over a whole benchmark
MIN_BLOCKS = 3
MAX_BLOCKS = 200  # a cap for cheap blocks; the time budget and the noise cap stop most benchmarks first
EARLY_LOOKS = 6  # one look after each of the first blocks: big effects decide there
LOOK_GROWTH = 1.2  # later looks: each about 20% more blocks than the previous one


@lru_cache(maxsize=256)
def look_schedule(max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS) -> tuple[int, ...]:
    """The blocks after which a benchmark looks: ``EARLY_LOOKS`` consecutive ones, then ~20% apart, ``max_blocks`` last."""
    first = max(min_blocks, 1)
    top = max(max_blocks, first)
    points = list(range(first, min(first + EARLY_LOOKS, top + 1)))
    while points[-1] < top:
        points.append(min(top, max(points[-1] + 1, math.ceil(points[-1] * LOOK_GROWTH))))
    return tuple(points)


def looks(max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS) -> int:
    """How many looks alpha is spent over: the scheduled ones plus one final look wherever the benchmark stops."""
    return len(look_schedule(max_blocks, min_blocks)) + 1


def is_look(blocks: int, max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS) -> bool:
    """Whether the benchmark may decide after ``blocks`` blocks (outside the final look)."""
    return blocks in look_schedule(max_blocks, min_blocks)


def look_level(alpha: float = ALPHA, max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS) -> float:
    """The two-sided level of every look: ``1 - alpha / looks`` (alpha spent evenly, union bound)."""
    return 1 - alpha / looks(max_blocks, min_blocks)


def same_level(alpha_same: float = ALPHA_SAME, max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS,
               blocks: int | None = None) -> float:
    """The two-sided level of the interval that may say ``same`` after ``blocks`` blocks (None: a scheduled look).

    ``same`` is two one-sided tests (not faster by the margin, not slower by
    it); a change of exactly the margin is called ``same`` when its one-sided
    test rejects at any look. The final look, off the schedule wherever the
    benchmark stopped, keeps a union-bound share: ``alpha_same / looks`` per
    side. The scheduled looks share the rest through one constant boundary
    (``same_boundary``): their tests are strongly correlated (each look holds
    every block of the one before), so the union bound would overpay - at the
    default schedule 2.87 standard errors where 2.54 hold the same rate, about
    a fifth fewer blocks to show identical code the same.
    """
    share = alpha_same / looks(max_blocks, min_blocks)
    if blocks is not None and not is_look(blocks, max_blocks, min_blocks):
        return 1 - 2 * share
    c = same_boundary(alpha_same - share, max_blocks, min_blocks)
    return 1 - 2 * _normal_tail(c)


def _normal_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


@lru_cache(maxsize=64)
def same_boundary(alpha: float, max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS) -> float:
    """The z that one one-sided test crosses at any scheduled look with probability ``alpha``, one for every look.

    Exact for normal block ratios with known spread (the t quantile at the
    same one-sided probability stands in for it at each look's degrees of
    freedom, as group-sequential designs do): the crossing probability is
    computed by recursive numerical integration over the looks (Armitage,
    McPherson and Rowe 1969; Jennison and Turnbull 2000, ch. 19), and the
    boundary is rounded up to a thousandth, so the rate is never exceeded by
    the grid's error.
    """
    from scipy.optimize import brentq  # here, not at import: the CLI's start-up does not pay for SciPy

    ns = look_schedule(max_blocks, min_blocks)
    c = brentq(lambda z: crossing_probability(z, ns) - alpha, 0.0, 10.0, xtol=1e-6)
    return math.ceil(c * 1000) / 1000


def crossing_probability(c: float, blocks: tuple[int, ...], points: int = 200, floor: float = -7.0) -> float:
    """P(the standardized mean of independent normal blocks exceeds ``c`` at some look after ``blocks[k]`` blocks).

    Between looks the statistic moves as ``Z' = r Z + sqrt(1 - r^2) X`` with
    ``r = sqrt(n/n')``; the density of the paths not yet across is carried on
    a grid from ``floor`` to ``c`` (trapezoid rule).
    """
    import numpy as np
    from scipy.special import ndtr

    z = np.linspace(floor, c, points)
    weights = np.full(points, (c - floor) / (points - 1))
    weights[[0, -1]] /= 2
    density = np.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    total = float(ndtr(-c))
    for before, after in zip(blocks, blocks[1:]):
        r = math.sqrt(before / after)
        s = math.sqrt(1 - r * r)
        mass = density * weights
        total += float(mass @ ndtr(-(c - r * z) / s))
        step = (z[:, None] - r * z[None, :]) / s
        density = (np.exp(-step * step / 2) / (s * math.sqrt(2 * math.pi))) @ mass
    return total
