"""BENCHMARK: interleaved fresh-process measurements of several variants.

The method (one page; the statistics are in ``campaign.measure.stats``):

1. **One measurement per distinct tree.** Variants are grouped by content
   (``keys``: e.g. the git tree of a commit; else the directory): two roles
   that point at the same code - "last kept" and "baseline" before the first
   kept change - are measured once and share the result.
2. **Calibrate once.** Every distinct variant runs once (discarded: it warms
   the file cache and tells us how long a run takes). The warm ``repeat``
   count is chosen so that a process measures at least ``process_s`` of warm
   work on the fastest variant, capped so that the slowest variant's process
   stays under ``MAX_PROCESS_S``; all variants share it.
3. **Blocks.** Each block runs every variant twice in a mirrored random
   order (``p + reversed(p)``; ABBA or BAAB), each run a fresh process.
   Mirroring cancels linear drift within the block and gives an A/A pair per
   variant. A variant's time in a block is the geometric mean of its two
   runs; a run's time is its *fastest* warm repeat (``estimator="min"``): on
   a CPU-bound workload other processes only ever add time, so on a shared
   machine the minimum is the least contaminated estimate.
   ``estimator="median"`` uses the median repeat. The load average and CPU
   steal are recorded with every block.
4. **Decide at the planned looks** (``stats.look_schedule``; ``stats.decide``:
   a t interval on the block log ratios, alpha spent over the looks, one of
   them kept for the final look wherever the benchmark stops). Stop when every
   comparison is decided, when the primary one is ``slower``, when the
   blocks that would resolve ``min_effect`` at the measured noise are done,
   at ``max_blocks``, or when the next block would overrun ``budget_s``.
   An undecided result says how many more blocks (and seconds) a decision
   would need at this noise.
5. **Instructions (optional).** ``instructions=True`` runs each variant under
   callgrind and reports the instruction ratio. Policy: wall time decides;
   when wall time is inconclusive and the instruction ratio is beyond the
   minimum effect in the same direction as the wall-time estimate, the
   instructions decide (``metric = "instructions"``). Both are reported.
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import median
from typing import Callable

from campaign.measure import integrity
from campaign.measure import load as machine_load
from campaign.measure import stats
from campaign.measure.workload import WorkloadRun, run_workload

TARGET_PROCESS_S = 0.03  # more repeats do not calm process-to-process noise (scripts/process_noise.py): more processes do
MAX_PROCESS_S = 2.0
MAX_REPEAT = 50
MIN_REPEAT = 3  # the fastest of three warm repeats, whenever the slowest process stays under MAX_PROCESS_S


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


def calibrate_repeat(times_s: list[float], target_s: float = TARGET_PROCESS_S, max_process_s: float = MAX_PROCESS_S, cap: int = MAX_REPEAT) -> int:
    """Warm repeats per process: >= ``target_s`` of work on the fastest variant and at least ``MIN_REPEAT``,
    the slowest process under ``max_process_s``.

    Why at least three: a run's time is its fastest repeat, and with one
    repeat a single preemption is the measurement (a 325 ms stage measured
    once per process at load 5.6 gave block ratios from 1.26x to 2.24x).
    """
    positive = [t for t in times_s if t > 0]
    if not positive:
        return 1
    fastest, slowest = min(positive), max(positive)
    want = max(math.ceil(target_s / fastest), MIN_REPEAT)
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
CPU_ESTIMATORS: dict[str, Callable[[WorkloadRun], float]] = {"min": lambda r: min(r.warm_cpu_s),
                                                              "median": lambda r: median(r.warm_cpu_s)}


def _summary_of(runs: list[WorkloadRun], block_times: list[float], block_phases: list[dict],
                block_wall: list[float] | None = None) -> dict:
    def med(values):
        values = [v for v in values if v is not None]
        return median(values) if values else None

    names = list(block_phases[0]) if block_phases else []
    return {
        "warm_s": med([r.time_s for r in runs]),
        "warm_min_s": med([_fastest(r) for r in runs]),
        "block_s": stats.geometric_mean(block_times) if block_times else None,  # the time the speedup is a ratio of
        "block_wall_s": stats.geometric_mean(block_wall) if block_wall else None,  # wall time, whichever decided
        "first_call_s": med([r.first_call_s for r in runs]),
        "compile_s": med([r.compile_s for r in runs]),
        "phases": {k: stats.geometric_mean([b[k] for b in block_phases if b.get(k)]) or None for k in names},
        "runs": len(runs),
        "max_rss_kb": med([r.max_rss_kb for r in runs]),  # peak RSS, median over processes (campaign.measure.memory)
    }


def _phase_speedups(ref_blocks: list[dict], cand_blocks: list[dict]) -> dict[str, float | None]:
    """Per phase: ratio of the geometric means over blocks, so that the ratio column matches the time columns."""
    names = [k for k in (ref_blocks[0] if ref_blocks else {}) if all(k in b for b in ref_blocks + cand_blocks)]
    out = {}
    for name in names:
        ref = stats.geometric_mean([b[name] for b in ref_blocks])
        cand = stats.geometric_mean([b[name] for b in cand_blocks])
        out[name] = ref / cand if ref > 0 and cand > 0 and math.isfinite(ref / cand) else None
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


def _same_code(n_blocks: int, min_effect: float, level: float) -> stats.Decision:
    """Two roles that are one measured unit: the same code, nothing to decide."""
    return stats.Decision("same", 1.0, (1.0, 1.0), level, min_effect, n_blocks,
                          notes=["reference and candidate are the same code: measured once"])


def benchmark(
    target,
    case: str,
    variants: dict[str, Path],
    candidate: str,
    *,
    knobs=None,
    max_blocks: int = stats.MAX_BLOCKS,
    min_blocks: int = stats.MIN_BLOCKS,
    budget_s: float = 120,
    extend_s: float | None = None,
    instructions: bool = False,
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
    primary: str | None = None,
    timeout_s: float | None = None,
    process_s: float = TARGET_PROCESS_S,
    estimator: str = "min",
    min_effect: float = stats.MIN_EFFECT,
    alpha: float = stats.ALPHA,
    keys: dict[str, str] | None = None,
    metric: str = "auto",
    precision: float | None = None,
    watch: bool = False,
) -> dict[str, BenchResult]:
    """Measure all ``variants`` interleaved; one ``BenchResult`` per reference (reference vs ``candidate``).

    ``speedup > 1`` means the candidate is faster. Variants with the same
    ``keys`` entry (content identity, e.g. a git tree), or else the same
    directory, are measured once. ``primary`` (default ``"last"`` when
    present, else the first reference) is the comparison whose ``slower``
    verdict stops the benchmark early. ``metric`` ("auto", "wall", "cpu"):
    which time decides (``campaign.measure.metric``; "auto" chooses at the
    first look from the runs' own evidence, and keeps it). ``extend_s``: up
    to this many seconds past ``budget_s`` for a promising undecided
    candidate (``campaign.measure.spending``). ``precision`` (e.g. 0.05):
    a headline measurement - a decided comparison goes on until its interval
    lies within +-``precision`` of its estimate (or the budget ends), so the
    number a reader is shown has a bounded width. ``watch``: a file a process
    writes into its variant's folder fails the benchmark
    (``campaign.measure.seal.Watch``).
    """
    from campaign.measure import metric as metrics
    from campaign.measure import spending
    from campaign.measure.seal import Watch
    from campaign.measure.environment import collect_environment

    extend_s = budget_s / 2 if extend_s is None else extend_s

    if candidate not in variants:
        raise ValueError(f"candidate {candidate!r} is not among the variants {sorted(variants)}")
    references = [name for name in variants if name != candidate]
    if not references:
        raise ValueError("benchmark needs at least one reference variant beside the candidate")
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(ESTIMATORS)}")
    primary = primary or ("last" if "last" in references else references[0])
    say = progress or (lambda line: None)
    rng = random.Random(seed)
    max_blocks = max(max_blocks, min_blocks)
    level = stats.look_level(alpha, max_blocks, min_blocks)
    t_start = time.perf_counter()
    env_before = collect_environment()
    stat = ESTIMATORS[estimator]

    # one measured unit per distinct content
    unit_of: dict[str, str] = {}
    dirs: dict[str, Path] = {}
    for name, path in variants.items():
        key = (keys or {}).get(name) or f"dir:{Path(path).resolve()}"
        unit_of[name] = key
        dirs.setdefault(key, Path(path))
    units = list(dirs)
    shared = {u: [n for n in variants if unit_of[n] == u] for u in units}
    for u, names in shared.items():
        if len(names) > 1:
            say(f"{' and '.join(names)} are the same code: measured once, shared by both roles")

    watches = {u: Watch(dirs[u]) for u in units} if watch else {}

    def run(unit: str, repeat: int) -> WorkloadRun:
        return run_workload(target, case, dirs[unit], repeat=repeat, knobs=knobs, timeout_s=timeout_s,
                            watch=watches.get(unit))

    say(f"calibrating: one discarded run of each of {len(units)} variant(s)...")
    calib = {u: run(u, 1) for u in units}
    repeat = calibrate_repeat([stat(c) for c in calib.values()], target_s=process_s)
    say(f"calibrated: repeat={repeat} warm runs per process ("
        + ", ".join(f"{n} {stat(calib[unit_of[n]]) * 1e3:.1f} ms" for n in variants) + ")")

    runs: dict[str, list[WorkloadRun]] = {u: [] for u in units}
    # one block series per metric; an interval is only ever computed on one of them
    series: dict[str, dict[str, list[float]]] = {"wall": {u: [] for u in units}, "cpu": {u: [] for u in units}}
    series_pairs: dict[str, dict[str, list[tuple[float, float]]]] = {"wall": {u: [] for u in units},
                                                                     "cpu": {u: [] for u in units}}
    block_phases: dict[str, list[dict]] = {u: [] for u in units}
    chosen = metrics.MetricChoice("wall", "before the first look, wall time is shown")
    cpu_stat = CPU_ESTIMATORS[estimator]
    cpu_ok = True
    block_load: list[dict] = []
    block_durations: list[float] = []
    measured_work: list[float] = []

    def pairs_for(ref: str, on: str | None = None) -> list[tuple[float, float]]:
        p = series_pairs[on or chosen.metric]
        return p[unit_of[ref]] + p[unit_of[candidate]]

    def ratios_for(ref: str, on: str | None = None) -> list[float]:
        t = series[on or chosen.metric]
        return stats.paired_ratios(t[unit_of[ref]], t[unit_of[candidate]])

    def decide(ref: str, at_look: bool, on: str | None = None) -> stats.Decision:
        if unit_of[ref] == unit_of[candidate]:
            return _same_code(blocks, min_effect, level)
        return stats.decide(ratios_for(ref, on), pairs=pairs_for(ref, on), min_blocks=min_blocks,
                            max_blocks=max_blocks, min_effect=min_effect, alpha=alpha, at_look=at_look)

    def choose_metric() -> metrics.MetricChoice:
        has_cpu = cpu_ok
        spreads = {"wall": stats.pair_spread([p for u in units for p in series_pairs["wall"][u]]),
                   "cpu": stats.pair_spread([p for u in units for p in series_pairs["cpu"][u]]) if has_cpu else None}
        evidence = {u_name(u): [(r.warm_s, r.warm_cpu_s, r.warm_waits) for r in runs[u]] for u in units}
        return metrics.choose(evidence, spreads, metric)

    def precise(ref: str) -> bool:
        """Without ``precision``, any decision; with it, an interval no wider than +-precision (log scale)."""
        if precision is None or unit_of[ref] == unit_of[candidate]:
            return True
        iv = stats.t_interval(ratios_for(ref), stats.aa_log_diffs(pairs_for(ref)), level)
        return iv is not None and math.log(iv.hi / iv.lo) / 2 <= math.log1p(precision)

    def u_name(unit: str) -> str:
        return "/".join(shared[unit])

    def cap_for(d: stats.Decision, n: int) -> int:
        if d.verdict != "inconclusive" or not d.block_sd:
            return max_blocks
        per_block = 2  # A/A pairs per block: one of the reference, one of the candidate
        return stats.resolve_cap(math.log1p(d.block_sd), n, per_block, level, min_effect, d.pooled, max_blocks,
                                 min_blocks)

    schedule = stats.look_schedule(max_blocks, min_blocks)

    def interval_text(d: stats.Decision) -> str:
        if d.blocks < min_blocks:
            return f"first look after {min_blocks} blocks"
        return stats.describe_interval(d.ci, d.confidence, "range" if d.overwhelming else "ci")

    def verdict_text(d: stats.Decision, n: int) -> str:
        if n < schedule[0]:
            return ""  # the interval text already says when the first look comes
        if n in schedule or d.verdict != "inconclusive":
            return d.verdict
        return f"next look after block {next(k for k in schedule if k > n)}"

    decisions: dict[str, stats.Decision] = {}
    blocks = 0
    stop_reason = "max_blocks"
    extended = False
    while blocks < max_blocks:
        elapsed = time.perf_counter() - t_start
        if blocks >= min_blocks and block_durations and elapsed + median(block_durations) > budget_s:
            d = decisions.get(primary)
            per_block = median(block_durations)
            if (d is not None and d.verdict == "inconclusive" and elapsed + per_block <= budget_s + extend_s
                    and spending.promising(d.speedup, d.blocks_needed, blocks, per_block,
                                           budget_s + extend_s - elapsed, min_effect)):
                if not extended:
                    say(f"promising ({d.speedup:.3f}x, undecided): measuring up to {extend_s:.0f} s past the "
                        f"budget of {budget_s:.0f} s")
                extended = True
            else:
                stop_reason = "budget" + (f" and its extension of {extend_s:.0f} s" if extended else "")
                break
        before = machine_load.sample()
        b0 = time.perf_counter()
        this: dict[str, list[WorkloadRun]] = {u: [] for u in units}
        for unit in block_order(units, rng):
            r = run(unit, repeat)
            this[unit].append(r)
            runs[unit].append(r)
        for unit in units:
            a, b = this[unit]
            series_pairs["wall"][unit].append((stat(a), stat(b)))
            series["wall"][unit].append(stats.geometric_mean([stat(a), stat(b)]))
            block_phases[unit].append(_geo_phases([a, b]))
        cpu_ok = cpu_ok and all(r.warm_cpu_s and cpu_stat(r) > 0 for rs in this.values() for r in rs)
        if cpu_ok:
            for unit in units:
                a, b = this[unit]
                series_pairs["cpu"][unit].append((cpu_stat(a), cpu_stat(b)))
                series["cpu"][unit].append(stats.geometric_mean([cpu_stat(a), cpu_stat(b)]))
        elif chosen.metric == "cpu":  # a run without a usable CPU time: the CPU series ends; wall decides, all blocks
            chosen = metrics.MetricChoice("wall", "a run reported no usable CPU time, so wall time decides",
                                          chosen.evidence)
        blocks += 1
        if blocks == min_blocks:  # the metric is chosen once, at the first look, and kept: never mixed
            chosen = choose_metric()
            say(f"deciding on {chosen.metric} time: {chosen.reason}")
        block_durations.append(time.perf_counter() - b0)
        measured_work.append(sum(sum(r.warm_s) if r.warm_s else r.time_s for rs in this.values() for r in rs))
        block_load.append(machine_load.block_load(before, machine_load.sample()))

        decisions = {ref: decide(ref, blocks in schedule) for ref in references}
        undecided = [d for d in decisions.values() if d.verdict == "inconclusive"]
        cap = max((cap_for(d, blocks) for d in undecided), default=max_blocks) if blocks >= min_blocks else max_blocks
        per_block = median(block_durations)
        fits = blocks + max(0, int((budget_s - (time.perf_counter() - t_start)) // per_block))
        horizon = max(blocks, min(cap, max_blocks, fits))
        eta = (horizon - blocks) * per_block
        lb = block_load[-1]
        cpu_word = " cpu" if chosen.metric == "cpu" else ""
        busy = f"; machine busy: load {lb['load']:.1f} on {lb['cpus']} cores" if lb.get("busy") else ""
        say(f"block {blocks}/{horizon} ({time.perf_counter() - t_start:.1f} s"
            + (f", at most ~{eta:.0f} s more" if eta >= 1 else "") + "): "
            + "; ".join(f"vs {ref} {d.speedup:.3f}x{cpu_word} ({interval_text(d)}) {verdict_text(d, blocks)}".rstrip()
                        for ref, d in decisions.items()) + busy)
        if blocks >= min_blocks:
            if all(d.verdict != "inconclusive" and precise(ref) for ref, d in decisions.items()):
                stop_reason = "decided" + (f" within +-{precision:.0%}" if precision else "")
                break
            if decisions[primary].verdict == "slower":
                stop_reason = "candidate clearly slower"
                break
            if cap < max_blocks and blocks >= cap:
                stop_reason = "enough blocks to resolve the minimum effect at this noise"
                break
            d = decisions[primary]
            left = budget_s - (time.perf_counter() - t_start)
            hopeless = None
            if blocks in schedule and d.verdict == "inconclusive" and unit_of[primary] != unit_of[candidate]:
                lenient = stats.t_interval(ratios_for(primary), stats.aa_log_diffs(pairs_for(primary)),
                                           spending.FUTILITY_LEVEL)
                hopeless = spending.futile(d.speedup, (lenient.lo, lenient.hi) if lenient else None, d.blocks_needed,
                                           blocks, per_block, left, min_effect)
            if hopeless:
                stop_reason = hopeless
                break
    if blocks < min_blocks:  # stopped before the first look (max_blocks below it): choose on what there is
        chosen = choose_metric()
    # the final look, wherever the benchmark stopped (budget, noise cap): alpha has one look reserved for it
    decisions = {ref: decide(ref, True) for ref in references}
    other_name = "wall" if chosen.metric == "cpu" else "cpu" if cpu_ok else None
    others = {ref: decide(ref, True, other_name) for ref in references if unit_of[ref] != unit_of[candidate]} \
        if other_name else {}

    instr_by_unit: dict[str, dict] = {}
    if instructions:
        from campaign.measure.callgrind import instructions_per_run

        for unit in units:
            say(f"callgrind: counting instructions in {dirs[unit]} (slow)")
            instr_by_unit[unit] = instructions_per_run(target, case, dirs[unit], knobs=knobs, timeout_s=timeout_s)

    env = collect_environment()
    env["load_avg_before"] = env_before.get("load_avg")
    elapsed_total = time.perf_counter() - t_start
    per_block = median(block_durations) if block_durations else 0.0
    cost = {"block_s": per_block, "measured_s": median(measured_work) if measured_work else 0.0,
            "calibration_s": sum(c.wall_s for c in calib.values()), "runs_per_block": 2 * len(units)}
    cost["overhead_share"] = (1 - cost["measured_s"] / per_block) if per_block else None
    busy_line = machine_load.busy_note(block_load)
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
        verdict, used, note = _apply_instructions(d, instr)
        if used == "wall":
            used = chosen.metric
        notes = [f"stopped: {stop_reason}", f"decided on {chosen.metric} time: {chosen.reason}"] + list(d.notes)
        other = None
        if ref in others:
            o = others[ref]
            other = {"metric": other_name, "verdict": o.verdict, "speedup": o.speedup, "ci": list(o.ci),
                     "ci_level": o.confidence}
            clash = metrics.contradiction(chosen.metric, d.speedup, tuple(d.ci), o.verdict, tuple(o.ci))
            if clash and verdict in ("faster", "slower"):
                verdict = "inconclusive"
                notes.append(f"verdict withheld: {clash}")
        more = None
        if d.verdict == "inconclusive":
            if d.blocks_needed is None:
                notes.append(f"undecided: the estimate sits at the minimum effect ({min_effect:.1%}); no number of "
                             f"blocks at this noise would decide it")
            else:
                more = max(0, d.blocks_needed - blocks)
                notes.append(f"undecided: ~{more} more blocks (~{more * per_block:.0f} s) would decide at this noise "
                             f"(block ratios vary by {d.block_sd:.1%})")
        if busy_line:
            notes.append(busy_line)
        if note:
            notes.append(note)
        ratios = ratios_for(ref)
        results[ref] = BenchResult(
            verdict=verdict,
            speedup=d.speedup,
            ci=tuple(d.ci),
            phases=_phase_speedups(block_phases[ref_unit], block_phases[cand_unit]),
            candidate=_summary_of(runs[cand_unit], series[chosen.metric][cand_unit], block_phases[cand_unit],
                                  series["wall"][cand_unit]),
            reference=_summary_of(runs[ref_unit], series[chosen.metric][ref_unit], block_phases[ref_unit],
                                  series["wall"][ref_unit]),
            metric=used,
            blocks=blocks,
            samples={
                "a": [stat(r) for r in runs[ref_unit]],
                "b": [stat(r) for r in runs[cand_unit]],
                "estimator": estimator,
                "block_a": series[chosen.metric][ref_unit],
                "block_b": series[chosen.metric][cand_unit],
                "ratios": ratios,
                "ratio_range": [min(ratios), max(ratios)] if ratios else None,
            },
            noise_floor=stats.noise_floor(pairs_for(ref)),
            min_effect=d.min_effect,
            environment=env,
            instructions=instr,
            wall={**d.to_dict(), "pair_spread": stats.pair_spread(pairs_for(ref))},
            notes=notes,
            repeat=repeat,
            elapsed_s=elapsed_total,
            ci_level=d.confidence,
            ci_kind="range" if d.overwhelming else "ci",
            load=block_load,
            blocks_needed=more,
            seconds_needed=None if more is None else more * per_block,
            block_cost=cost,
            stop_reason=stop_reason,
            metric_choice=chosen.to_dict(),
            other_metric=other,
            integrity={} if ref_unit == cand_unit else integrity.check(
                d.speedup, verdict, calib[cand_unit], runs[ref_unit], runs[cand_unit], getattr(target, "jit", False),
                calib[ref_unit]),
        )
        cand_first, ref_first = results[ref].candidate["first_call_s"], results[ref].reference["first_call_s"]
        if cand_first and ref_first:
            results[ref].candidate["first_call_speedup"] = ref_first / cand_first
    return results
