"""The result builder: what a finished schedule of workload runs says, one ``BenchResult`` per comparison.

The scheduler (``campaign.measure.scheduler``) decides when to stop; this
module turns what it measured into what a reader is shown: the verdict after
the instruction-count policy and the other metric's veto, the per-variant
summaries and phases, the cost of a block, what an undecided result would
need, and the claim's integrity guards (``campaign.measure.integrity``).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from statistics import median
from typing import Any

from campaign.measure import integrity, stats
from campaign.measure import load as machine_load
from campaign.measure import metric as metrics
from campaign.measure.executor import ESTIMATORS
from campaign.measure.scheduler import RELEASED, Scheduler
from campaign.measure.workload import WorkloadRun

_fastest = ESTIMATORS["min"]


@dataclass
class BenchResult:
    verdict: str
    speedup: float
    ci: tuple[float, float]
    phases: dict[str, float | None]
    candidate: dict
    reference: dict
    metric: str
    blocks: int
    samples: dict
    noise_floor: float
    min_effect: float
    environment: dict
    instructions: dict | None
    wall: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    repeat: int = 1
    elapsed_s: float = 0.0
    ci_level: float | None = None  # the level of ``ci``, the interval that decided (None: not a CI)
    ci_kind: str = "ci"  # "range": the blocks' range decided (overwhelming rule)
    load: list[dict] = field(default_factory=list)  # per block: load, cpus, steal, busy
    blocks_needed: int | None = None  # undecided: blocks a decision would need at this noise
    seconds_needed: float | None = None
    block_cost: dict = field(default_factory=dict)
    stop_reason: str = ""
    metric_choice: dict = field(default_factory=dict)  # campaign.measure.metric: what decided, why, on what evidence
    other_metric: dict | None = None  # the metric that did not decide: its speedup, interval and verdict
    integrity: dict = field(default_factory=dict)  # campaign.measure.integrity.check: the claim's guards

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ci"] = list(self.ci)
        return data

    def summary(self) -> str:
        return (f"{self.verdict}: {self.speedup:.3f}x "
                f"({stats.describe_interval(self.ci, self.ci_level, self.ci_kind, self.metric)}, {self.blocks} blocks)")


def _med(values: list[Any]) -> Any:
    values = [v for v in values if v is not None]
    return median(values) if values else None


def _summary_of(runs: list[WorkloadRun], block_times: list[float], block_phases: list[dict],
                block_wall: list[float] | None = None) -> dict:
    names = list(block_phases[0]) if block_phases else []
    return {
        "warm_s": _med([r.time_s for r in runs]),
        "warm_min_s": _med([_fastest(r) for r in runs]),
        "block_s": stats.geometric_mean(block_times) if block_times else None,  # the time the speedup is a ratio of
        "block_wall_s": stats.geometric_mean(block_wall) if block_wall else None,  # wall time, whichever decided
        "first_call_s": _med([r.first_call_s for r in runs]),
        "compile_s": _med([r.compile_s for r in runs]),
        "phases": {k: stats.geometric_mean([b[k] for b in block_phases if b.get(k)]) or None for k in names},
        "runs": len(runs),
        "max_rss_kb": _med([r.max_rss_kb for r in runs]),  # peak RSS, median over processes (campaign.measure.memory)
    }


def _phase_speedups(ref_blocks: list[dict], cand_blocks: list[dict]) -> dict[str, float | None]:
    """Per phase: ratio of the geometric means over blocks, so that the ratio column matches the time columns."""
    names = [k for k in (ref_blocks[0] if ref_blocks else {}) if all(k in b for b in ref_blocks + cand_blocks)]
    out: dict[str, float | None] = {}
    for name in names:
        ref = stats.geometric_mean([b[name] for b in ref_blocks])
        cand = stats.geometric_mean([b[name] for b in cand_blocks])
        out[name] = ref / cand if ref > 0 and cand > 0 and math.isfinite(ref / cand) else None
    return out


def _geo_phases(runs: list[WorkloadRun]) -> dict[str, float]:
    names = set(runs[0].phases)
    for r in runs[1:]:
        names &= set(r.phases)
    return {k: stats.geometric_mean([r.phases[k] for r in runs]) if all(r.phases[k] > 0 for r in runs) else 0.0
            for k in sorted(names)}


def _apply_instructions(decision: stats.Decision, instr: dict | None) -> tuple[str, str, str | None]:
    """(verdict, metric, note) after the instruction-count policy."""
    if not instr or instr.get("ratio") is None:
        return decision.verdict, "wall", None
    ratio = instr["ratio"]
    m = decision.min_effect
    direction = "faster" if ratio >= 1 + m else "slower" if ratio <= 1 / (1 + m) else "same"
    if decision.verdict == "inconclusive" and direction in ("faster", "slower"):
        agrees = (decision.speedup > 1) if direction == "faster" else (decision.speedup < 1)
        if agrees:
            return direction, "instructions", (
                f"wall time was inconclusive; instructions {ratio:.3f}x agree in direction with the wall-time "
                f"estimate {decision.speedup:.3f}x, so the instruction count decides"
            )
        return "inconclusive", "wall", f"instructions {ratio:.3f}x disagree with the wall-time estimate {decision.speedup:.3f}x"
    if decision.verdict in ("faster", "slower") and direction not in (decision.verdict, "same"):
        return decision.verdict, "wall", f"note: instructions ({ratio:.3f}x) point the other way than wall time"
    if decision.verdict in ("same", "inconclusive") and direction in ("faster", "slower"):
        return decision.verdict, "wall", (f"instructions {ratio:.3f}x say {direction}, but wall time does not "
                                          f"({stats.describe_interval(decision.ci, decision.confidence)})")
    return decision.verdict, "wall", None


@dataclass
class Context:
    """What every comparison's result shares: the schedule, the calibration and the run's surroundings."""

    sched: Scheduler
    calib: dict[str, WorkloadRun]
    repeat: int
    estimator: str
    environment: dict
    elapsed_s: float
    instructions: dict[str, dict] | None  # per unit, where counted
    jit: bool

    def raw(self, unit: str) -> list[WorkloadRun]:
        return [t.raw for t in self.sched.record.runs[unit]]

    def block_phases(self, unit: str) -> list[dict]:
        return [_geo_phases([a.raw, b.raw]) for a, b in self.sched.record.blocks[unit]]

    def cost(self) -> dict:
        rec = self.sched.record
        per_block = rec.per_block_s
        work = [sum(sum(t.raw.warm_s) if t.raw.warm_s else t.raw.time_s for u in rec.units for t in rec.blocks[u][i])
                for i in range(len(rec.durations))]
        cost: dict[str, Any] = {"block_s": per_block, "measured_s": median(work) if work else 0.0,
                "calibration_s": sum(c.wall_s for c in self.calib.values()), "runs_per_block": 2 * len(rec.units)}
        cost["overhead_share"] = (1 - cost["measured_s"] / per_block) if per_block else None
        return cost


def build_results(ctx: Context) -> dict[str, BenchResult]:
    """One ``BenchResult`` per comparison of the schedule (the final look already taken)."""
    sched = ctx.sched
    chosen = sched.chosen.metric
    other_name = "wall" if chosen == "cpu" else "cpu" if sched.record.cpu_ok else None
    others = {name: sched.decide(name, True, other_name) for name in sched.comparisons
              if not sched.same_unit(name)} if other_name else {}
    cost, busy_line = ctx.cost(), machine_load.busy_note(sched.record.load)
    results = {}
    for name in sched.comparisons:
        results[name] = _one_result(ctx, name, others.get(name), other_name, cost, busy_line)
    return results


def _instructions(ctx: Context, ref_unit: str, cand_unit: str) -> dict | None:
    if ctx.instructions is None:
        return None
    ri, ci_ = ctx.instructions[ref_unit], ctx.instructions[cand_unit]
    ratio = ri["per_run"] / ci_["per_run"] if ci_["per_run"] else None
    return {"reference": ri, "candidate": ci_, "ratio": ratio}


def _other_metric(chosen: str, d: stats.Decision, o: stats.Decision | None, other_name: str | None,
                  verdict: str, notes: list[str]) -> tuple[str, dict | None]:
    """The other metric's numbers, and the verdict withheld where it contradicts the deciding one."""
    if o is None:
        return verdict, None
    other = {"metric": other_name, "verdict": o.verdict, "speedup": o.speedup, "ci": list(o.ci),
             "ci_level": o.confidence}
    clash = metrics.contradiction(chosen, d.speedup, d.ci, o.verdict, o.ci)
    if clash and verdict in ("faster", "slower"):
        notes.append(f"verdict withheld: {clash}")
        return "inconclusive", other
    return verdict, other


def _undecided(d: stats.Decision, blocks: int, per_block: float, notes: list[str]) -> int | None:
    """How many more blocks an inconclusive result would need (and the note that says so)."""
    if d.verdict != "inconclusive":
        return None
    if d.blocks_needed is None:
        notes.append(f"undecided: the estimate sits at the minimum effect ({d.min_effect:.1%}); no number of "
                     f"blocks at this noise would decide it")
        return None
    more = max(0, d.blocks_needed - blocks)
    notes.append(f"undecided: ~{more} more blocks (~{more * per_block:.0f} s) would decide at this noise "
                 f"(block ratios vary by {d.block_sd:.1%})")
    return more


def _hold_note(held: dict | None) -> str | None:
    """What the clock guard's hold added (``clock_hold``), for the notes."""
    if not held:
        return None
    until = "the guard could tell or the claim was gone" if held["until"] == RELEASED else held["until"]
    return (f"held for the clock guard: {held['blocks_added']} more blocks after {held['after_blocks']}, where "
            f"{held['why']}; until {until}")


def _one_result(ctx: Context, name: str, o: stats.Decision | None, other_name: str | None, cost: dict,
                busy_line: str | None) -> BenchResult:
    sched = ctx.sched
    ref_unit, cand_unit = sched.comparisons[name]
    chosen = sched.chosen.metric
    series, d = sched.record.series, sched.decisions[name]
    instr = _instructions(ctx, ref_unit, cand_unit)
    verdict, used, note = _apply_instructions(d, instr)
    used = chosen if used == "wall" else used
    notes = [f"stopped: {sched.stop_reason}", f"decided on {chosen} time: {sched.chosen.reason}"] + list(d.notes)
    verdict, other = _other_metric(chosen, d, o, other_name, verdict, notes)
    more = _undecided(d, sched.blocks, sched.record.per_block_s, notes)
    notes += [line for line in (busy_line, note, _hold_note(sched.hold_record)) if line]
    ratios = sched.ratios_for(name)
    ref_phases, cand_phases = ctx.block_phases(ref_unit), ctx.block_phases(cand_unit)
    result = BenchResult(
        verdict=verdict, speedup=d.speedup, ci=(d.ci[0], d.ci[1]),
        phases=_phase_speedups(ref_phases, cand_phases),
        candidate=_summary_of(ctx.raw(cand_unit), series[chosen][cand_unit], cand_phases, series["wall"][cand_unit]),
        reference=_summary_of(ctx.raw(ref_unit), series[chosen][ref_unit], ref_phases, series["wall"][ref_unit]),
        metric=used, blocks=sched.blocks,
        samples={"a": [t.wall for t in sched.record.runs[ref_unit]], "b": [t.wall for t in sched.record.runs[cand_unit]],
                 "estimator": ctx.estimator, "block_a": series[chosen][ref_unit], "block_b": series[chosen][cand_unit],
                 "ratios": ratios, "ratio_range": [min(ratios), max(ratios)] if ratios else None,
                 # the A/A pairs: `campaign try --more` pools with them
                 "pairs_a": sched.record.pairs[chosen][ref_unit], "pairs_b": sched.record.pairs[chosen][cand_unit]},
        noise_floor=stats.noise_floor(sched.pairs_for(name)), min_effect=d.min_effect, environment=ctx.environment,
        instructions=instr, wall={**d.to_dict(), "pair_spread": stats.pair_spread(sched.pairs_for(name))},
        notes=notes, repeat=ctx.repeat, elapsed_s=ctx.elapsed_s, ci_level=d.confidence,
        ci_kind="range" if d.overwhelming else "ci", load=sched.record.load, blocks_needed=more,
        seconds_needed=None if more is None else more * sched.record.per_block_s, block_cost=cost,
        stop_reason=sched.stop_reason, metric_choice=sched.chosen.to_dict(), other_metric=other,
        integrity={} if ref_unit == cand_unit else integrity.check(
            d.speedup, verdict, ctx.calib[cand_unit], ctx.raw(ref_unit), ctx.raw(cand_unit), ctx.jit,
            ctx.calib[ref_unit], sched.hold_record),
    )
    cand_first, ref_first = result.candidate["first_call_s"], result.reference["first_call_s"]
    if cand_first and ref_first:
        result.candidate["first_call_speedup"] = ref_first / cand_first
    return result
