#!/usr/bin/env python
"""The shape of a benchmark's noise on identical code: A/A blocks recorded raw, then read several ways.

    python scripts/aa_noise.py [--burners 3] [--seconds 300] [--out aa_blocks.jsonl]
    python scripts/aa_noise.py --read aa_blocks.jsonl

Runs BENCHMARK's blocks (ABBA/BAAB, fresh sealed worker processes, the
calibrated repeat count) of two copies of the bench_quality toy for
``--seconds``, beside ``--burners`` bursty CPU burners, and writes every run
(its warm wall and CPU times, the load) as one JSON line. Then, for each way
of reading a run (fastest warm CPU time, median CPU time, fastest wall time),
it prints the run noise from the A/A pairs (as ``stats.run_noise``), the
spread and kurtosis of the block log ratios, and how often, in three-block
windows (a benchmark's first look), CPU time's A/A spread came out above wall
time's: the evidence behind ``metric.CLEARLY_NOISIER`` and the noise the
``same`` rule has to work with (docs/measurement.md). Last, the same blocks
cut into benchmarks of ``--budget`` seconds at ``--block-s`` a block and
replayed through the scheduler, with ``same`` spent over the looks and at the
constant boundary it had before: the two rules on identical real blocks.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

READINGS = {"cpu_min": lambda r: min(r["warm_cpu_s"]), "cpu_median": lambda r: statistics.median(r["warm_cpu_s"]),
            "wall_min": lambda r: min(r["warm_s"])}


def record(out: Path, burners: int, seconds: float, seed: int) -> None:
    from bench_quality import load, make_variant, start_burners, stop_burners

    from campaign.measure.bench import run_workload
    from campaign.measure.executor import ESTIMATORS, WorkloadExecutor, calibrate_repeat
    from campaign.measure.scheduler import block_order

    with tempfile.TemporaryDirectory(prefix="aa-noise-") as tmp:
        dirs = {u: make_variant(Path(tmp), u, 1.0, 300_000) for u in ("a", "b")}
        executor = WorkloadExecutor(run_workload, load(dirs["a"]), "fast", dirs)
        repeat = calibrate_repeat([ESTIMATORS["min"](executor.run_raw(u, 1)) for u in dirs])
        procs = start_burners(burners, seed) if burners else []
        try:
            time.sleep(1.0 if procs else 0.0)
            rng, t0, block = random.Random(seed), time.perf_counter(), 0
            with out.open("w") as fh:
                while time.perf_counter() - t0 < seconds:
                    for unit in block_order(list(dirs), rng):
                        run = executor.run_raw(unit, repeat)
                        fh.write(json.dumps({"block": block, "unit": unit, "warm_s": run.warm_s,
                                             "warm_cpu_s": run.warm_cpu_s, "load": os.getloadavg()[0],
                                             "repeat": repeat}) + "\n")
                    block += 1
        finally:
            stop_burners(procs)


def read(path: Path, budget_s: float = 60.0, block_s: float = 0.8) -> dict:
    from campaign.measure import stats

    rows = [json.loads(line) for line in path.open()]
    blocks: dict[int, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for r in rows:
        blocks[r["block"]][r["unit"]].append(r)
    full = [b for b in sorted(blocks) if all(len(blocks[b][u]) == 2 for u in ("a", "b"))]
    out: dict = {"blocks": len(full), "load": [min(r["load"] for r in rows), max(r["load"] for r in rows)],
                 "repeat": rows[0]["repeat"], "readings": {}}
    for name, of in READINGS.items():
        pairs = [(of(blocks[b][u][0]), of(blocks[b][u][1])) for b in full for u in ("a", "b")]
        logs = [sum(math.log(of(r)) for r in blocks[b]["a"]) / 2 - sum(math.log(of(r)) for r in blocks[b]["b"]) / 2
                for b in full]
        mean, var = statistics.fmean(logs), statistics.pvariance(logs)
        out["readings"][name] = {"run_noise": stats.run_noise(pairs), "block_sd": statistics.stdev(logs),
                                 "kurtosis": sum((x - mean) ** 4 for x in logs) / len(logs) / var ** 2}
    windows = [full[i:i + 3] for i in range(0, len(full) - 2, 3)]
    spreads = [(stats.pair_spread([(READINGS["cpu_min"](blocks[b][u][0]), READINGS["cpu_min"](blocks[b][u][1]))
                                   for b in w for u in ("a", "b")]),
                stats.pair_spread([(READINGS["wall_min"](blocks[b][u][0]), READINGS["wall_min"](blocks[b][u][1]))
                                   for b in w for u in ("a", "b")])) for w in windows]
    out["first_look_windows"] = {"windows": len(spreads), "cpu_above_wall": sum(c > w for c, w in spreads),
                                 "cpu_above_twice_wall": sum(c > 2 * w for c, w in spreads)}
    series = [{u: [READINGS["cpu_min"](r) for r in blocks[b][u]] for u in ("a", "b")} for b in full]
    out["same_in_budget"] = same_in_budget(series, budget_s, block_s)
    return out


class _Replay:
    """A fake executor that hands the scheduler recorded blocks in order, each run costing ``run_s`` on its clock."""

    def __init__(self, series: list[dict[str, list[float]]], start: int, run_s: float, now: list[float]):
        self.series, self.i, self.run_s, self.now = series, start, run_s, now
        self.queue: dict[str, list[float]] = {"a": [], "b": []}

    def run(self, unit: str, repeat: int):
        from campaign.measure.executor import Timing

        self.now[0] += self.run_s
        if not self.queue[unit]:
            self.queue = {u: list(v) for u, v in self.series[self.i].items()}
            self.i += 1
        return Timing(self.queue[unit].pop(0))


def same_in_budget(series: list[dict[str, list[float]]], budget_s: float, block_s: float, step: int = 15) -> dict:
    """How often the recorded blocks, cut into benchmarks of ``budget_s`` at ``block_s`` a block (windows
    starting every ``step`` blocks, so they overlap), end ``same``: with ``same`` spent over the looks (today's
    scheduler) and at the constant boundary with the final look's union-bound share (before 2026-12-06)."""
    from campaign.measure import stats
    from campaign.measure.scheduler import Plan, Scheduler

    fits = int(budget_s / block_s) + 2
    starts = list(range(0, max(0, len(series) - fits), step))
    counts = {"spent": 0, "constant": 0}
    for start in starts:
        for rule in counts:
            now = [0.0]
            plan = Plan(budget_s=budget_s, extend_s=0.0)
            sched = Scheduler(_Replay(series, start, block_s / 4, now), ["a", "b"], {"aa": ("a", "b")}, plan,
                              clock=lambda now=now: now[0])
            if rule == "constant":
                sched.same_confidence = (lambda sched=sched:  # type: ignore[method-assign]
                                         stats.same_level(blocks=sched.blocks, min_blocks=sched.plan.min_blocks))
            sched.run()
            counts[rule] += sched.decisions["aa"].verdict == "same"
    return {"windows": len(starts), "budget_s": budget_s, "block_s": block_s, **counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--burners", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", default="aa_blocks.jsonl")
    parser.add_argument("--read", metavar="JSONL", help="only read an earlier record")
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per replayed benchmark (the windows)")
    parser.add_argument("--block-s", type=float, default=0.8, help="seconds a replayed block costs")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    path = Path(args.read or args.out)
    if not args.read:
        record(path, args.burners, args.seconds, args.seed)
    res = read(path, args.budget, args.block_s)
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"{res['blocks']} blocks, load {res['load'][0]:.1f}-{res['load'][1]:.1f}, repeat {res['repeat']}")
    print("reading    | run noise | block sd | kurtosis")
    for name, r in res["readings"].items():
        print(f"{name:10} | {r['run_noise']:.1%} | {r['block_sd']:.1%} | {r['kurtosis']:.1f}")
    w = res["first_look_windows"]
    print(f"three-block windows: CPU's A/A spread above wall's in {w['cpu_above_wall']} of {w['windows']}, "
          f"above twice wall's in {w['cpu_above_twice_wall']}")
    b = res["same_in_budget"]
    print(f"replayed as {b['windows']} overlapping benchmarks of {b['budget_s']:.0f} s at {b['block_s']} s a block: "
          f"`same` in {b['spent']} spent over the looks, {b['constant']} at the constant boundary")
    return 0


if __name__ == "__main__":
    sys.exit(main())
