"""BENCHMARK: interleaved fresh-process measurements of several variants.

The method (one page; the statistics are in ``campaign.measure.stats``):

1. **Calibrate once.** Every distinct variant directory runs once (discarded:
   it warms the file cache and tells us how long a run takes). The warm
   ``repeat`` count is chosen so that a process measures at least
   ``TARGET_PROCESS_S`` of warm work on the fastest variant, capped so that the
   slowest variant's process stays under ``MAX_PROCESS_S``; all variants share
   it.
2. **Blocks.** Each block runs every variant twice in a mirrored random
   order (``p + reversed(p)``; ABBA or BAAB for two variants), each run a fresh
   process. Mirroring cancels linear drift within the block and gives an A/A
   pair per variant (the noise floor). A variant's time in a block is the
   geometric mean of its two runs. A run's time is, by default, its
   *fastest* warm repeat (``estimator="min"``): on a CPU-bound workload other
   processes only ever add time (preemption, cache pollution), so on a shared
   machine the minimum is the least contaminated estimate of the code's own
   cost - measured here at load 5 on 2 cores, the median of 7 repeats of a
   3 ms run swung between 11 and 23 ms while the minimum stayed at 3.1-3.2
   ms. ``estimator="median"`` uses the median repeat instead. The first, cold
   call (imports, JIT) is reported apart.
3. **Decide after every block** (``stats.decide``): stop early on a verdict
   at the stricter interim level, on an overwhelming result, or when the
   primary comparison is clearly slower; otherwise continue up to
   ``max_blocks`` or the time budget, then decide at 95%. ``inconclusive`` is
   an honest answer.
4. **Instructions (optional).** ``instructions=True`` runs each variant under
   callgrind and reports the instruction ratio. Policy: wall time decides;
   when wall time is inconclusive and the instruction ratio is beyond the
   minimum effect in the same direction as the wall-time estimate, the
   instructions decide (``metric = "instructions"``). Both are always reported.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median
from typing import Callable

from campaign.measure import stats
from campaign.measure.workload import WorkloadRun, run_workload

TARGET_PROCESS_S = 0.1
MAX_PROCESS_S = 2.0
MAX_REPEAT = 50


@dataclass
class BenchResult:
    verdict: str
    speedup: float
    ci: tuple[float, float]
    phases: dict[str, float]
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

    def to_dict(self) -> dict:
        data = asdict(self)
        data["ci"] = list(self.ci)
        return data

    def summary(self) -> str:
        lo, hi = self.ci
        return f"{self.verdict}: {self.speedup:.3f}x (95% CI {lo:.3f}-{hi:.3f}, {self.blocks} blocks, {self.metric})"


def calibrate_repeat(times_s: list[float], target_s: float = TARGET_PROCESS_S, max_process_s: float = MAX_PROCESS_S, cap: int = MAX_REPEAT) -> int:
    """Warm repeats per process: >= ``target_s`` of work on the fastest variant, the slowest under ``max_process_s``."""
    positive = [t for t in times_s if t > 0]
    if not positive:
        return 1
    fastest, slowest = min(positive), max(positive)
    want = math.ceil(target_s / fastest)
    allowed = math.floor(max_process_s / slowest)
    return max(1, min(want, allowed, cap))


def block_order(names: list[str], rng: random.Random) -> list[str]:
    """A mirrored random order: ``p + reversed(p)`` (ABBA / BAAB for two variants)."""
    p = list(names)
    rng.shuffle(p)
    return p + p[::-1]


def _fastest(run: WorkloadRun) -> float:
    return min(run.warm_s) if run.warm_s else run.time_s


ESTIMATORS: dict[str, Callable[[WorkloadRun], float]] = {"min": _fastest, "median": lambda r: r.time_s}


def _summary_of(runs: list[WorkloadRun]) -> dict:
    def med(values):
        values = [v for v in values if v is not None]
        return median(values) if values else None

    return {
        "warm_s": med([r.time_s for r in runs]),
        "warm_min_s": med([_fastest(r) for r in runs]),
        "first_call_s": med([r.first_call_s for r in runs]),
        "compile_s": med([r.compile_s for r in runs]),
        "phases": {k: med([r.phases.get(k) for r in runs]) for k in (runs[-1].phases if runs else {})},
        "runs": len(runs),
    }


def _phase_speedups(ref_blocks: list[dict], cand_blocks: list[dict]) -> dict[str, float]:
    names = [k for k in (ref_blocks[0] if ref_blocks else {}) if all(k in b for b in ref_blocks + cand_blocks)]
    out = {}
    for name in names:
        ratios = [r[name] / c[name] for r, c in zip(ref_blocks, cand_blocks) if c[name] > 0 and r[name] > 0]
        out[name] = median(ratios) if ratios else None
    return out


def _geo_phases(runs: list[WorkloadRun]) -> dict[str, float]:
    names = set(runs[0].phases)
    for r in runs[1:]:
        names &= set(r.phases)
    return {k: stats.geometric_mean([r.phases[k] for r in runs]) if all(r.phases[k] > 0 for r in runs) else 0.0 for k in sorted(names)}


def _apply_instructions(decision: stats.Decision, instr: dict | None) -> tuple[str, str, str | None]:
    """(verdict, metric, note) after the instruction-count policy."""
    if not instr or instr.get("ratio") is None:
        return decision.verdict, "wall", None
    ratio = instr["ratio"]
    m = stats.MIN_EFFECT_FLOOR
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
    return decision.verdict, "wall", None


def benchmark(
    target,
    case: str,
    variants: dict[str, Path],
    candidate: str,
    *,
    knobs=None,
    max_blocks: int = 30,
    min_blocks: int = 3,
    budget_s: float = 120,
    instructions: bool = False,
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
    primary: str | None = None,
    timeout_s: float | None = None,
    process_s: float = TARGET_PROCESS_S,
    estimator: str = "min",
) -> dict[str, BenchResult]:
    """Measure all ``variants`` interleaved; one ``BenchResult`` per reference (reference vs ``candidate``).

    ``speedup > 1`` means the candidate is faster. Variants whose directories
    are the same are measured once. ``primary`` (default ``"last"`` when
    present, else the first reference) is the comparison whose clear
    slowdown stops the benchmark early.
    """
    from campaign.measure.environment import collect_environment

    if candidate not in variants:
        raise ValueError(f"candidate {candidate!r} is not among the variants {sorted(variants)}")
    references = [name for name in variants if name != candidate]
    if not references:
        raise ValueError("benchmark needs at least one reference variant beside the candidate")
    primary = primary or ("last" if "last" in references else references[0])
    say = progress or (lambda line: None)
    rng = random.Random(seed)
    max_blocks = max(max_blocks, min_blocks)
    t_start = time.perf_counter()
    env_before = collect_environment()

    # distinct directories -> one measured "unit" each
    unit_of: dict[str, str] = {}
    dirs: dict[str, Path] = {}
    for name, path in variants.items():
        key = str(Path(path).resolve())
        unit_of[name] = key
        dirs[key] = Path(path)
    units = list(dirs)

    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(ESTIMATORS)}")
    stat = ESTIMATORS[estimator]

    def run(unit: str, repeat: int) -> WorkloadRun:
        return run_workload(target, case, dirs[unit], repeat=repeat, knobs=knobs, timeout_s=timeout_s)

    # 1. calibration (discarded)
    calib = {u: run(u, 1) for u in units}
    repeat = calibrate_repeat([stat(c) for c in calib.values()], target_s=process_s)
    say(f"calibrated: repeat={repeat} warm runs per process ("
        + ", ".join(f"{n} {stat(calib[unit_of[n]]) * 1e3:.1f} ms" for n in variants) + ")")

    # 2. blocks
    runs: dict[str, list[WorkloadRun]] = {u: [] for u in units}
    block_time: dict[str, list[float]] = {u: [] for u in units}
    block_phases: dict[str, list[dict]] = {u: [] for u in units}
    pairs: dict[str, list[tuple[float, float]]] = {u: [] for u in units}
    decisions: dict[str, stats.Decision] = {}
    block_durations: list[float] = []

    def noise_for(ref: str) -> float:
        pooled = pairs[unit_of[ref]] + (pairs[unit_of[candidate]] if unit_of[candidate] != unit_of[ref] else [])
        return stats.noise_floor(pooled)

    def spread_for(ref: str) -> float:
        pooled = pairs[unit_of[ref]] + (pairs[unit_of[candidate]] if unit_of[candidate] != unit_of[ref] else [])
        return stats.pair_spread(pooled)

    def ratios_for(ref: str) -> list[float]:
        return stats.paired_ratios(block_time[unit_of[ref]], block_time[unit_of[candidate]])

    blocks = 0
    stop_reason = "max_blocks"
    while blocks < max_blocks:
        elapsed = time.perf_counter() - t_start
        if blocks >= min_blocks and block_durations and elapsed + median(block_durations) > budget_s:
            stop_reason = "budget"
            break
        b0 = time.perf_counter()
        this: dict[str, list[WorkloadRun]] = {u: [] for u in units}
        for unit in block_order(units, rng):
            r = run(unit, repeat)
            this[unit].append(r)
            runs[unit].append(r)
        for unit in units:
            a, b = this[unit]
            pairs[unit].append((stat(a), stat(b)))
            block_time[unit].append(stats.geometric_mean([stat(a), stat(b)]))
            block_phases[unit].append(_geo_phases([a, b]))
        blocks += 1
        block_durations.append(time.perf_counter() - b0)

        decisions = {
            ref: stats.decide(ratios_for(ref), noise_for(ref), final=False, min_blocks=min_blocks, seed=seed,
                         spread=spread_for(ref))
            for ref in references
        }
        say(f"block {blocks}/{max_blocks} ({time.perf_counter() - t_start:.1f} s): "
            + "; ".join(
                f"vs {ref} {d.speedup:.3f}x [{d.ci[0]:.3f}, {d.ci[1]:.3f}] {d.verdict}"
                for ref, d in decisions.items()
            ))
        if blocks >= min_blocks:
            if all(d.verdict != "inconclusive" for d in decisions.values()):
                stop_reason = "decided"
                break
            if decisions[primary].verdict == "slower":
                stop_reason = "candidate clearly slower"
                break

    if stop_reason != "decided":
        final = {}
        for ref in references:
            early = decisions.get(ref)
            if early is not None and early.verdict != "inconclusive" and stop_reason == "candidate clearly slower":
                final[ref] = early
            else:
                final[ref] = stats.decide(ratios_for(ref), noise_for(ref), final=True, min_blocks=min_blocks, seed=seed,
                                          spread=spread_for(ref))
        decisions = final

    # 3. instructions (optional, deterministic)
    instr_by_unit: dict[str, dict] = {}
    if instructions:
        from campaign.measure.callgrind import instructions_per_run

        for unit in units:
            say(f"callgrind: counting instructions in {dirs[unit]} (slow)")
            instr_by_unit[unit] = instructions_per_run(target, case, dirs[unit], knobs=knobs, timeout_s=timeout_s)

    env = collect_environment()
    env["load_avg_before"] = env_before.get("load_avg")
    elapsed_total = time.perf_counter() - t_start
    cand_unit = unit_of[candidate]
    results = {}
    for ref in references:
        ref_unit = unit_of[ref]
        d = decisions[ref]
        instr = None
        if instructions:
            ri, ci_ = instr_by_unit[ref_unit], instr_by_unit[cand_unit]
            ratio = ri["per_run"] / ci_["per_run"] if ci_["per_run"] else None
            instr = {"reference": ri, "candidate": ci_, "ratio": ratio}
        verdict, metric, note = _apply_instructions(d, instr)
        notes = [f"stopped: {stop_reason}"]
        if d.overwhelming:
            notes.append("decided on an overwhelming change (every block beyond the overwhelming factor)")
        if not d.ci_exact:
            notes.append("too few blocks for a distribution-free 95% interval; the CI shown is the range of the blocks")
        if note:
            notes.append(note)
        if ref_unit == cand_unit:
            notes.append("reference and candidate are the same directory: measured once")
        cand_summary, ref_summary = _summary_of(runs[cand_unit]), _summary_of(runs[ref_unit])
        if cand_summary["first_call_s"] and ref_summary["first_call_s"]:
            cand_summary["first_call_speedup"] = ref_summary["first_call_s"] / cand_summary["first_call_s"]
        results[ref] = BenchResult(
            verdict=verdict,
            speedup=d.speedup,
            ci=tuple(d.ci),
            phases=_phase_speedups(block_phases[ref_unit], block_phases[cand_unit]),
            candidate=cand_summary,
            reference=ref_summary,
            metric=metric,
            blocks=blocks,
            samples={
                "a": [stat(r) for r in runs[ref_unit]],
                "b": [stat(r) for r in runs[cand_unit]],
                "estimator": estimator,
                "block_a": block_time[ref_unit],
                "block_b": block_time[cand_unit],
                "ratios": ratios_for(ref),
            },
            noise_floor=noise_for(ref),
            min_effect=d.min_effect,
            environment=env,
            instructions=instr,
            wall={**d.to_dict(), "pair_spread": spread_for(ref)},
            notes=notes,
            repeat=repeat,
            elapsed_s=elapsed_total,
        )
    return results
