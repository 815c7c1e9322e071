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
   would need at this noise. A ``faster`` verdict the clock guard cannot
   back yet (its evidence straddles its refusal line) is held: up to
   ``clock_hold.HOLD_BLOCKS`` more blocks, until the guard can tell (past
   ``max_blocks`` if need be, within the budget and its extension).
5. **Instructions (optional).** ``instructions=True`` counts each variant's
   instructions (the CPU's counters where the machine exposes them, else
   callgrind) and reports the instruction ratio. Policy: wall time decides;
   when wall time is inconclusive and the instruction ratio is beyond the
   minimum effect in the same direction as the wall-time estimate, the
   instructions decide (``metric = "instructions"``). Both are reported.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Callable

from campaign.measure import load as machine_load
from campaign.measure import stats
from campaign.measure.bench_result import BenchResult, Context, _apply_instructions, build_results
from campaign.measure.clock_hold import HOLD_BLOCKS, clock_hold
from campaign.measure.executor import (CPU_ESTIMATORS, ESTIMATORS, MAX_PROCESS_S, MAX_REPEAT, MIN_REPEAT,
                                       TARGET_PROCESS_S, WorkloadExecutor, calibrate_repeat, hold_cycle,
                                       repeat_cycle)
from campaign.measure.scheduler import Plan, Scheduler, block_order
from campaign.measure.workload import WorkloadRun, run_workload

__all__ = ["BenchResult", "CPU_ESTIMATORS", "ESTIMATORS", "MAX_PROCESS_S", "MAX_REPEAT", "MIN_REPEAT", "repeat_cycle",
           "TARGET_PROCESS_S", "WorkloadRun", "_apply_instructions", "benchmark", "block_order", "calibrate_repeat"]


def _units(variants: dict[str, Path], keys: dict[str, str] | None) -> tuple[dict[str, str], dict[str, Path]]:
    """One measured unit per distinct content: variant -> unit key, and unit key -> the directory that runs."""
    unit_of: dict[str, str] = {}
    dirs: dict[str, Path] = {}
    for name, path in variants.items():
        key = (keys.get(name) if keys else None) or f"dir:{Path(path).resolve()}"
        unit_of[name] = key
        dirs.setdefault(key, Path(path))
    return unit_of, dirs


def _metric_chooser(pinned: str, shared: dict[str, list[str]]):
    """The ``choose_metric`` of BENCHMARK's schedule: ``campaign.measure.metric.choose`` on the runs so far."""
    from campaign.measure import metric as metrics

    def choose(sched: Scheduler) -> metrics.MetricChoice:
        rec = sched.record
        spreads = {"wall": stats.pair_spread([p for u in rec.units for p in rec.pairs["wall"][u]]),
                   "cpu": stats.pair_spread([p for u in rec.units for p in rec.pairs["cpu"][u]]) if rec.cpu_ok
                   else None}
        evidence = {"/".join(shared[u]): [(t.raw.warm_s, t.raw.warm_cpu_s, t.raw.warm_waits) for t in rec.runs[u]]
                    for u in rec.units}
        return metrics.choose(evidence, spreads, pinned)

    return choose


def _check_args(variants: dict[str, Path], candidate: str, estimator: str) -> list[str]:
    if candidate not in variants:
        raise ValueError(f"candidate {candidate!r} is not among the variants {sorted(variants)}")
    references = [name for name in variants if name != candidate]
    if not references:
        raise ValueError("benchmark needs at least one reference variant beside the candidate")
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {sorted(ESTIMATORS)}")
    return references


def _count_instructions(target, case: str, dirs: dict[str, Path], knobs, timeout_s: float | None,
                        say: Callable[[str], None]) -> dict[str, dict]:
    """Per unit: its instruction count (``instructions=True``), by the CPU's counters where they can be opened,
    else under callgrind."""
    from campaign.measure.callgrind import instructions_per_run, pick_counter

    counter, why = pick_counter()
    if why:
        say(f"instructions: no hardware counters ({why}); callgrind counts instead (slow)")
    counts = {}
    for unit, path in dirs.items():
        say(f"{counter}: counting instructions in {path}" + (" (slow)" if counter == "callgrind" else ""))
        counts[unit] = instructions_per_run(target, case, path, knobs=knobs, timeout_s=timeout_s, counter=counter)
    return counts


_BYTECODE_SAID: list[str] = []


def _say_bytecode_once(say: Callable[[str], None]) -> None:
    """Warn, once per campaign process, where every measured process would compile its imports from source."""
    from campaign.measure.environment import installation_bytecode_note

    note = installation_bytecode_note()
    if note and note not in _BYTECODE_SAID:
        _BYTECODE_SAID.append(note)
        say(f"warning: {note}")


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
    hold: bool = True,
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
    (``campaign.measure.seal.Watch``). ``hold``: a ``faster`` claim the clock guard cannot back yet is
    measured further (``clock_hold``); False where no one acts on the guard (FINISH's headline: each kept
    change passed it in its own BENCHMARK). The loop is the ``Scheduler``'s (shared with tune).
    """
    from campaign.measure.environment import collect_environment
    from campaign.measure.seal import Watch

    references = _check_args(variants, candidate, estimator)
    primary = primary or ("last" if "last" in references else references[0])
    say = progress or (lambda line: None)
    t_start = time.perf_counter()
    env_before = collect_environment()
    _say_bytecode_once(say)

    unit_of, dirs = _units(variants, keys)
    units = list(dirs)
    shared = {u: [n for n in variants if unit_of[n] == u] for u in units}
    for names in shared.values():
        if len(names) > 1:
            say(f"{' and '.join(names)} are the same code: measured once, shared by both roles")
    executor = WorkloadExecutor(run_workload, target, case, dirs, knobs=knobs, timeout_s=timeout_s,
                                watches={u: Watch(dirs[u]) for u in units} if watch else None, estimator=estimator)

    say(f"calibrating: one discarded run of each of {len(units)} variant(s)...")
    calib = {u: executor.run_raw(u, 1) for u in units}
    stat = ESTIMATORS[estimator]
    repeat = calibrate_repeat([stat(c) for c in calib.values()], target_s=process_s)
    say(f"calibrated: repeat={repeat} warm runs per process ("
        + ", ".join(f"{n} {stat(calib[unit_of[n]]) * 1e3:.1f} ms" for n in variants) + ")")

    plan = Plan(max_blocks=max_blocks, min_blocks=min_blocks, alpha=alpha, min_effect=min_effect, budget_s=budget_s,
                extend_s=budget_s / 2 if extend_s is None else extend_s, precision=precision, hold_blocks=HOLD_BLOCKS)
    sched = Scheduler(executor, units, {ref: (unit_of[ref], unit_of[candidate]) for ref in references}, plan,
                      primary=primary, rng=random.Random(seed), clock=lambda: time.perf_counter(), started=t_start,
                      load=machine_load, say=say, choose_metric=_metric_chooser(metric, shared),
                      hold=clock_hold(calib) if hold else None).run(repeat, repeat_cycle(repeat),
                                                  hold_cycle(repeat, max(stat(c) for c in calib.values())))

    instr_by_unit = _count_instructions(target, case, dirs, knobs, timeout_s, say) if instructions else None
    env = collect_environment()
    env["load_avg_before"] = env_before.get("load_avg")
    return build_results(Context(sched, calib, repeat, estimator, env, time.perf_counter() - t_start, instr_by_unit,
                                 getattr(target, "jit", False)))
