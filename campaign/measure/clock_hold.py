"""BENCHMARK's hold: a ``faster`` claim the clock guard cannot back yet is measured further before it is taken.

The clock guard (``integrity.clock_guard``) decides once, after the benchmark
stops, on however many processes were measured. A benchmark that decides at
its first look (3 blocks, 7 processes per variant) gives the guard its
widest allowance, and lies got through it under load: at load 12.7 the
allowance was 9.8 ms against a 14.1 ms repeat, and work deferred to a thread
(a 2.25x claim) was kept. So where the candidate is about to be called
faster (the final look's verdict, were the benchmark to stop now) and the
guard's evidence straddles its refusal line (``integrity.clock_undecided``;
the line is ``integrity.refusal_line``, 1.5x the reported repeat plus the
harness's allowance ``HARNESS_S``, the one the guard refuses at, so the two
cannot disagree),
the scheduler measures more blocks instead of stopping (``Scheduler(hold=...)``):
until the guard can tell, ``HOLD_BLOCKS`` more blocks or the time budget with
its extension (``extend_s``), whichever comes first. The blocks it adds run at
repeat counts far apart (``executor.hold_cycle``: ``R`` and ``3R``), which
narrows the guard's slope many times faster than the regular cycle's ``R +- R/4``; past ``max_blocks`` if
need be, which bounds the search for a verdict, not the evidence a verdict
reached needs (the zoo's benchmarks stop at 4 blocks). Then the guard's check
runs as before, on every block; the blocks added are in its journal entry
(``blocks_added``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from campaign.measure import integrity
from campaign.measure.workload import WorkloadRun

if TYPE_CHECKING:
    from campaign.measure.scheduler import Scheduler

# at most this many blocks past the rule that would stop, each at counts far apart (``executor.hold_cycle``).
# In the simulation of tests/test_clock_grey_zone.py (R = 3, 7 ms of spread per process, 40 seeds) a 3x lie
# decided at 3 blocks is kept 0 times (4 with regular blocks added, none of them caught), after 3.2 blocks on
# average; an honest 2x win is kept every time after 4.2. The first hold, 12 regular blocks, took the demo from
# 311 s to 652 s (load 1-2).
HOLD_BLOCKS = 6


def clock_hold(calib: Mapping[str, WorkloadRun]) -> Callable[[Scheduler], str | None]:
    """The scheduler's ``hold`` for BENCHMARK: why the primary comparison's clock guard cannot tell yet (None: it can).

    ``calib``: each unit's one-repeat calibration run, the guard's first point.
    """

    def hold(sched: Scheduler) -> str | None:
        ref_unit, cand_unit = sched.comparisons[sched.primary]
        if ref_unit == cand_unit or sched.decide(sched.primary, True).verdict != "faster":
            return None  # no claim for the guard to back
        runs = sched.record.runs
        entry = integrity.clock_guard(calib[cand_unit], [t.raw for t in runs[cand_unit]], calib[ref_unit],
                                      [t.raw for t in runs[ref_unit]])
        if not entry.get("undecided"):
            return None
        line = integrity.refusal_line(entry["reported_per_repeat_s"])
        return (f"the clock guard cannot tell yet ({entry['measured_per_repeat_s'] * 1e3:.2f} ms measured per "
                f"repeat against its refusal line at {line * 1e3:.2f} ms, noise {entry['noise_s'] * 1e3:.2f} ms)")

    return hold
