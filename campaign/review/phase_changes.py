"""Per attempt, each phase's time before and after, so a per-phase ratio is never shown bare.

A BENCHMARK records per-phase ratios (the last kept tree's time over the
candidate's, geometric means over blocks) beside both trees' per-phase
seconds. A ratio alone misleads: the shipped record's kept iteration 3 says
"select 0.02x", which is select going from 0.03 ms to 1.54 ms, a real
slowdown of a phase that was almost nothing, now a fifth of a run that got
7.9x faster in total. This view pairs every ratio with its absolute times
and the phase's share of all phases' time after the change. Pure.
"""

from __future__ import annotations

from typing import Any

from campaign.loop.record import Benchmark, Timings, load_event

EXPLANATION = (
    "Per phase: its time in the last kept tree → in this change, measured in the same interleaved benchmark "
    "(geometric means over blocks), and the ratio before ÷ after. Above 1 the phase got faster; below 1 it got "
    "slower (0.02x: about 50 times slower). A phase that was tiny can show a large ratio either way while moving "
    "the total little: its share of all phases after the change says how much it weighs now."
)


def _seconds(timings: Timings) -> dict[str, float]:
    """One side's per-phase seconds, the numbers among them (as recorded)."""
    phases = timings.phases or {}
    return {k: float(v) for k, v in phases.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def phase_changes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per benchmarked attempt: its phases with before/after seconds, ratio, share after, slower."""
    benches: dict[int, Benchmark] = {}
    kept: set[int] = set()
    for e in events:
        n = e.get("iteration")
        if e.get("type") == "benchmark" and n is not None:
            benches[n] = load_event(e).data
        elif e.get("type") == "commit" and n is not None:
            kept.add(n)
    out = []
    for n, bench in sorted(benches.items()):
        before, after = _seconds(bench.reference), _seconds(bench.candidate)
        total_after = sum(after.values())
        rows = []
        for name in sorted(set(before) & set(after), key=lambda k: -before[k]):
            b, a = before[name], after[name]
            ratio = b / a if a > 0 and b > 0 else None
            rows.append({"phase": name, "before_s": b, "after_s": a, "ratio": ratio,
                         "share_after": a / total_after if total_after > 0 else None,
                         "slower": ratio is not None and ratio < 1})
        if rows:
            out.append({"iteration": n, "kept": n in kept, "case": bench.case, "phases": rows})
    return out
