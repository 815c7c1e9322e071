#!/usr/bin/env python
"""False verdicts of the decision rule on identical code, by simulation, at more runs than the test suite.

    python scripts/simulate_decisions.py [--runs 500] [--tiny-runs 2000] [--json]    # ~40 s of CPU

Uses the simulation of ``tests/test_stats.py`` (``simulate_block``: one
mirrored block with known noise; ``sequential``: a whole benchmark at the
default budget, deciding at the planned looks as ``bench.benchmark`` does)
with seeds ``0 .. runs-1``, so the counts are deterministic for a given
version of ``campaign.measure.stats``. Prints, per noise condition, how many
of the runs on identical code (A/A) ended ``faster`` or ``slower``, at the
default budget and at the test suites' tiny budget (3 blocks, first look at
2). The suite asserts at most 1% on 300 (default) and 1000 (tiny) runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for p in (ROOT, ROOT / "tests"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from campaign.measure import stats  # noqa: E402
from test_stats import sequential, tiny_budget as tiny  # noqa: E402

# the conditions of test_identical_code_is_rarely_faster_or_slower and test_tiny_budgets_keep_the_rate
DEFAULT_BUDGET = [("normal", 0.03, False), ("heavy", 0.02, False), ("spikes", 0.02, False),
                  ("bursts", 0.02, False), ("normal", 0.02, True)]
TINY_BUDGET = [("normal", 0.05), ("bursts", 0.1)]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=500, help="A/A benchmarks per condition at the default budget")
    ap.add_argument("--tiny-runs", type=int, default=2000, help="A/A benchmarks per condition at 3 blocks")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    rows = []
    t0 = time.perf_counter()
    for kind, sigma, drift in DEFAULT_BUDGET:
        results = [sequential(1.0, sigma, seed, kind, drift) for seed in range(args.runs)]
        false = sum(v in ("faster", "slower") for v, _ in results)
        blocks = sorted(b for _, b in results)
        rows.append({"budget": f"default ({stats.MAX_BLOCKS} blocks)", "noise": kind, "sigma": sigma, "drift": drift,
                     "runs": args.runs, "false": false, "median_blocks": blocks[len(blocks) // 2]})
    for kind, sigma in TINY_BUDGET:
        verdicts = [tiny(seed, kind, sigma) for seed in range(args.tiny_runs)]
        false = sum(v in ("faster", "slower") for v in verdicts)
        rows.append({"budget": "3 blocks", "noise": kind, "sigma": sigma, "drift": False, "runs": args.tiny_runs,
                     "false": false, "median_blocks": None})
    secs = time.perf_counter() - t0
    if args.json:
        print(json.dumps({"rows": rows, "seconds": secs}, indent=2))
        return 0
    print(f"identical code (A/A), alpha {stats.ALPHA:.0%}: false verdicts by simulation ({secs:.0f} s)")
    print("budget | noise | sd per run | drift | false verdicts | median blocks")
    for r in rows:
        med = r["median_blocks"] if r["median_blocks"] is not None else "-"
        print(f"{r['budget']} | {r['noise']} | {r['sigma']:.0%} | {'yes' if r['drift'] else 'no'} | "
              f"{r['false']}/{r['runs']} | {med}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
