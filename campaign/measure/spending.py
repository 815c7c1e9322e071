"""Spend blocks where they decide (pure): more time for a promising candidate, less for a hopeless A/A.

Two rules on top of the look schedule, neither of which touches the
false-verdict guarantee (verdicts are still taken only at planned looks, at
the spent level):

- **Extension.** When the budget runs out and the primary comparison is
  undecided but *promising* - its estimate is beyond the minimum effect on the
  faster side, and the blocks a decision would need at the measured noise fit
  in the extension - the benchmark goes on, up to ``extend_s`` more seconds,
  instead of handing LOG an ``inconclusive`` that reverts a real win.
- **Futility.** When even a lenient interval (``FUTILITY_LEVEL``, 90%) of the
  primary comparison lies inside the equivalence margin - the candidate is,
  with that confidence, neither faster nor slower by the minimum effect, so
  more blocks could only turn ``inconclusive`` into ``same``, and both revert -
  and the blocks that ``same`` would need at the decisive level do not fit in
  the time left, the benchmark stops at this look and says what it would
  take, instead of running its whole budget to the same end. A small real
  effect is not cut short: its lenient interval reaches beyond the margin.
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


def futile(speedup: float, lenient_ci: tuple[float, float] | None, blocks_needed: int | None, blocks: int,
           per_block_s: float, left_s: float, min_effect: float) -> str | None:
    """The reason to stop now, when ``same`` cannot be reached in the time left (None: keep measuring)."""
    if not (speedup > 0 and math.isfinite(speedup)) or not lenient_ci:
        return None
    lo, hi = lenient_ci
    if not (math.isfinite(lo) and math.isfinite(hi)) or lo < 1 / (1 + min_effect) or hi > 1 + min_effect:
        return None
    more = remaining_blocks(blocks_needed, blocks)
    if more is None:
        return ("futile: the estimate sits at the edge of the equivalence margin; no number of blocks at this "
                "noise would decide it")
    need_s = more * per_block_s
    if need_s <= left_s:
        return None
    return (f"futile: within +-{min_effect:.0%} ({FUTILITY_LEVEL:.0%} CI {lo:.3f}-{hi:.3f}), but `same` would need "
            f"~{more} more blocks (~{need_s:.0f} s) at this noise, "
            f"{left_s:.0f} s are left; a budget_s of {math.ceil(need_s + (1 + blocks) * per_block_s)} would do")
