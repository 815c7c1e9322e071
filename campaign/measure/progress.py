"""What a watcher is told after each block of a schedule (``campaign.measure.scheduler``): one progress line.

``block 4/11 (3.2 s, at most ~6 s more): vs last 1.213x (99.958% CI 1.10x-1.33x) faster``: the blocks
against the horizon the stopping rules foresee (the noise cap, ``max_blocks``, the budget; a hold's cap
while a hold keeps the loop going), the estimate with its interval, and the verdict only at a planned
look. Moved out of ``scheduler.py`` to keep it under 400 lines.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from campaign.measure import stats

if TYPE_CHECKING:
    from campaign.measure.scheduler import Scheduler


def progress_line(sched: Scheduler) -> str:
    """The line after the block just measured."""
    p, n, per_block = sched.plan, sched.blocks, sched.record.per_block_s
    elapsed = sched.clock() - sched.started
    left = p.budget_s - elapsed
    fits = p.max_blocks if not math.isfinite(left) or per_block <= 0 else n + max(0, int(left // per_block))
    horizon = max(n, min(sched.cap(), p.max_blocks, fits) if not sched.holding
                  else min((sched.hold_from or 0) + p.hold_blocks, fits))
    eta = (horizon - n) * per_block
    lb = sched.record.load[-1] if sched.record.load else {}
    cpu_word = " cpu" if sched.chosen.metric == "cpu" else ""
    busy = f"; machine busy: load {lb['load']:.1f} on {lb['cpus']} cores" if lb.get("busy") else ""
    return (f"block {n}/{horizon} ({elapsed:.1f} s" + (f", at most ~{eta:.0f} s more" if eta >= 1 else "")
            + "): " + "; ".join(f"vs {name} {d.speedup:.3f}x{cpu_word} ({interval_text(sched, d)}) "
                                f"{verdict_text(sched, d)}".rstrip() for name, d in sched.decisions.items()) + busy)


def interval_text(sched: Scheduler, d: stats.Decision) -> str:
    if d.blocks < sched.plan.min_blocks:
        return f"first look after {sched.plan.min_blocks} blocks"
    return stats.describe_interval(d.ci, d.confidence, "range" if d.overwhelming else "ci")


def verdict_text(sched: Scheduler, d: stats.Decision) -> str:
    schedule, n = sched.plan.schedule, sched.blocks
    if n < schedule[0]:
        return ""  # the interval text already says when the first look comes
    if n in schedule or d.verdict != "inconclusive":
        return d.verdict
    if sched.holding:  # held (past max_blocks, perhaps): the final look comes where it stops
        return "held: the final look where it stops"
    later = [k for k in schedule if k > n]
    return f"next look after block {later[0]}" if later else "the final look where it stops"
