#!/usr/bin/env python
"""How much slower Python runs under callgrind, and what an instruction count costs per variant.

    python scripts/valgrind_slowdown.py [--n 300000] [--repeat 3] [--json]

On the bench_quality toy (a CPU-bound pure-Python loop, ~25 ms per call at
the default ``--n``), as BENCHMARK runs it (``python -m campaign.measure.worker``):

* the fastest warm call of one process natively and of one process under
  ``valgrind --tool=callgrind`` (the worker times its calls itself, so the
  ratio is the slowdown of warm Python code, start-up excluded);
* the wall time of ``campaign.measure.callgrind.instructions_per_run`` on
  one variant: the two callgrind runs (0 and 2 warm repeats) that
  ``--instructions`` adds per variant, start-up included.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "scripts"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from bench_quality import MODULE, load, make_variant  # noqa: E402

from campaign.measure.callgrind import count_instructions, instructions_per_run  # noqa: E402


def worker_cmd(repeat: int) -> list[str]:
    return [sys.executable, "-m", "campaign.measure.worker", f"{MODULE}:QualityToy", "fast", "--repeat", str(repeat)]


def fastest(stdout: str) -> float:
    return min(json.loads(stdout.strip().splitlines()[-1])["warm_s"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=300_000, help="loop iterations per call (the toy's size)")
    ap.add_argument("--repeat", type=int, default=3, help="warm calls per process")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="valgrind-slowdown-") as tmp:
        variant = make_variant(Path(tmp), "a", 1.0, args.n)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
        t0 = time.perf_counter()
        native = subprocess.run(worker_cmd(args.repeat), cwd=variant, capture_output=True, text=True, check=True,
                                env=env)
        native_process_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        _, out = count_instructions(worker_cmd(args.repeat), variant, None, env={"PYTHONPATH": env["PYTHONPATH"]})
        valgrind_process_s = time.perf_counter() - t0
        target = load(variant)
        t0 = time.perf_counter()
        per_run = instructions_per_run(target, "fast", variant)
        count_s = time.perf_counter() - t0
    row = {"n": args.n, "repeat": args.repeat, "native_call_s": fastest(native.stdout),
           "valgrind_call_s": fastest(out), "native_process_s": native_process_s,
           "valgrind_process_s": valgrind_process_s, "instructions_per_variant_s": count_s,
           "instructions_per_run": per_run["per_run"], "load_before": load_before, "load_after": os.getloadavg()[0]}
    row["slowdown"] = row["valgrind_call_s"] / row["native_call_s"]
    if args.json:
        print(json.dumps(row, indent=2))
        return 0
    print(f"toy n={args.n}, {args.repeat} warm calls per process; load average {load_before:.1f} before, "
          f"{row['load_after']:.1f} after")
    print(f"fastest warm call: {row['native_call_s'] * 1e3:.1f} ms natively, {row['valgrind_call_s']:.2f} s under "
          f"callgrind: {row['slowdown']:.0f}x slower")
    print(f"one process: {native_process_s:.2f} s natively, {valgrind_process_s:.1f} s under callgrind")
    print(f"instructions_per_run on one variant (two callgrind runs): {count_s:.1f} s, "
          f"{row['instructions_per_run']:.3g} instructions per warm run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
