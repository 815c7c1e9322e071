"""Spend blocks where they decide (pure): more time for a promising candidate, less for a hopeless A/A.

Two rules on top of the look schedule, neither of which touches the
false-verdict guarantee (verdicts are still taken only at planned looks, at
the spent level):

- **Extension.** When the budget runs out and the primary comparison is
  undecided but *promising* - its estimate is beyond the minimum effect on the
  faster side, and the blocks a decision would need at the measured noise fit
  in the extension - the benchmark goes on, up to ``extend_s`` more seconds,
  instead of handing LOG an ``inconclusive`` that reverts a real win.
- **Futility.** When the primary comparison's estimate lies inside the
  equivalence margin (more blocks could at best turn ``inconclusive`` into
  ``same``, and both revert) and, even if the two were exactly as fast,
  ``same`` would need more blocks at the measured noise than fit in the time
  left - read at the level of a last look where the budget ends
  (``looks.SameBoundaries.last_look_at``), the lowest ``same`` could ask -
  the benchmark stops at this look and says what it would take, instead of
  running its whole budget to the same end. Assuming equality, not the
  estimate, keeps an early, noisy estimate near the margin from stopping an
  A/A that would have got there. A real effect is not cut short: the
  benchmark goes on while the far end of a lenient interval
  (``FUTILITY_LEVEL``, 90%) - the largest effect the blocks still allow -
  would be decided faster or slower in the time left, its extension
  included.
"""

from __future__ import annotations

import math

FUTILITY_LEVEL = 0.90


def remaining_blocks(needed: int | None, blocks: int) -> int | None:
    return None if needed is None else max(0, needed - blocks)


def promising(speedup: float, blocks_needed: int | None, blocks: int, per_block_s: float, extend_left_s: float,
              min_effect: float) -> bool:
    """Undecided, estimated faster beyond the minimum effect, and decidable within the extension."""
    if not (speedup > 0 and math.isfinite(speedup)) or math.log(speedup) <= math.log1p(min_effect):
        return False
    more = remaining_blocks(blocks_needed, blocks)
    return more is not None and more * per_block_s <= extend_left_s


def futile(speedup: float, blocks_if_equal: int | None, blocks_if_largest: int | None, blocks: int,
           per_block_s: float, left_s: float, extend_left_s: float, min_effect: float) -> str | None:
    """The reason to stop now, when ``same`` cannot be reached in the time left (None: keep measuring).

    ``blocks_if_equal``: the blocks ``same`` would need at this noise if the true ratio were 1 (None: none
    would do); ``blocks_if_largest``: the blocks that would decide the largest effect a lenient interval
    allows (None: it lies within the margin, or none would), checked against ``extend_left_s``, the time left
    with the extension a promising candidate gets.
    """
    if not (speedup > 0 and math.isfinite(speedup)) or abs(math.log(speedup)) >= math.log1p(min_effect):
        return None
    largest = remaining_blocks(blocks_if_largest, blocks)
    if largest is not None and largest * per_block_s <= extend_left_s:
        return None
    more = remaining_blocks(blocks_if_equal, blocks)
    if more is None:
        return "futile: at this noise no number of blocks would show even equally fast code the same"
    need_s = more * per_block_s
    if need_s <= left_s:
        return None
    return (f"futile: {speedup:.3f}x is within +-{min_effect:.0%}, but even if the two were equally fast, `same` "
            f"would need ~{more} more blocks (~{need_s:.0f} s) at this noise, {left_s:.0f} s are left; a budget_s "
            f"of {math.ceil(need_s + (1 + blocks) * per_block_s)} would do")
