"""When a benchmark may decide, and at what level: alpha spent evenly over planned looks (pure).

Why a schedule, and why the union bound, is told in ``campaign.measure.stats``
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


def same_level(alpha_same: float = ALPHA_SAME, max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS) -> float:
    """The two-sided level of the interval that may say ``same`` at a look: ``1 - 2 alpha_same / looks``.

    ``same`` is two one-sided tests (not faster by the margin, not slower by it),
    each at ``alpha_same / looks``, which is the two-sided interval at this level.
    """
    return 1 - 2 * alpha_same / looks(max_blocks, min_blocks)
