#!/usr/bin/env python
"""Does a process's noise shrink with more warm repeats? Why a process measures ~30 ms of work.

    python scripts/process_noise.py [--processes 20] [--repeats 1,3,9] [--n 300000]

For each repeat count, runs ``--processes`` fresh worker processes of the
bench_quality toy (``python -m campaign.measure.worker``, as BENCHMARK does)
and prints: the wall time of one process, the median fastest warm call, the
sd of log(fastest call) *across* processes, and the sd of log(call) *within*
processes. When the across-process sd does not fall as repeats rise, the
noise lives between processes (address layout, hash seeds, where the
scheduler put us), and only more processes - more blocks - average it out;
extra repeats then only make each block dearer.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))

from bench_quality import MODULE, make_variant  # noqa: E402


def one_process(variant: Path, repeat: int) -> tuple[float, list[float]]:
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "campaign.measure.worker", f"{MODULE}:QualityToy", "fast",
                          "--repeat", str(repeat)], cwd=variant, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    return wall, json.loads(out.stdout.strip().splitlines()[-1])["warm_s"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", type=int, default=20)
    parser.add_argument("--repeats", default="1,3,9")
    parser.add_argument("--n", type=int, default=300_000, help="loop iterations per call (the toy's size)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="process-noise-") as tmp:
        variant = make_variant(Path(tmp), "a", 1.0, args.n)
        for repeat in (int(r) for r in args.repeats.split(",")):
            walls, fastest, within = [], [], []
            for _ in range(args.processes):
                wall, warm = one_process(variant, repeat)
                walls.append(wall)
                fastest.append(min(warm))
                within += [math.log(w) for w in warm]
            rows.append({"repeat": repeat, "process_s": statistics.median(walls),
                         "fastest_call_s": statistics.median(fastest),
                         "across_sd": statistics.stdev(math.log(f) for f in fastest),
                         "within_sd": statistics.stdev(within) if len(within) > 1 else None,
                         "load": os.getloadavg()[0]})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(f"{args.processes} processes per row; load average now {os.getloadavg()[0]:.1f}")
    print("repeats | s per process | fastest call | sd across processes | sd within a process")
    for r in rows:
        within = f"{r['within_sd']:.1%}" if r["within_sd"] is not None else "-"
        print(f"{r['repeat']:>7} | {r['process_s']:.3f} | {r['fastest_call_s'] * 1e3:.1f} ms | "
              f"{r['across_sd']:.1%} | {within}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
