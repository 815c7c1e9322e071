#!/usr/bin/env python
"""How often the weight search's sampled mode lands within 1% of the exact |error|.

    python scripts/sampled_quality.py [--seeds 10] [--sample-size N] [--json]

For N = 16..22 and seeds 0..S-1, the problem ``workloads.rand(N, seed)`` is
solved exactly and in sampled mode by stage 07 (``search`` and
``search_sampled``); a sampled answer counts when its ``|error|`` is within
1% of the exact one (equal when the exact one is 0), the criterion of
``tests/test_weight_search_stages.py::test_sampled_mode_quality_within_one_percent_of_exhaustive``
(which runs 3 seeds). Prints the count and the misses.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from targets.weight_search import load_stage, workloads  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--sample-size", type=int, default=None, help="evaluations per cycle (default: the mode's)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    mod = load_stage("07_parallel_mitm.py")
    kw = {} if args.sample_size is None else {"sample_size": args.sample_size}
    t0 = time.perf_counter()
    ok = total = 0
    misses = []
    for n in range(16, 23):
        for seed in range(args.seeds):
            p = workloads.kwargs(workloads.rand(n, seed))
            ex = mod.search(**p)
            sa = mod.search_sampled(**p, **kw)
            good = sa.error == ex.error if ex.error == 0 else sa.error <= 1.01 * ex.error
            ok += good
            total += 1
            if not good:
                misses.append({"n": n, "seed": seed, "exact_error": ex.error, "sampled_error": sa.error})
    secs = time.perf_counter() - t0
    budget = "default budget" if args.sample_size is None else f"budget {args.sample_size}"
    if args.json:
        print(json.dumps({"ok": ok, "total": total, "misses": misses, "budget": budget, "seconds": secs}, indent=2))
        return 0
    print(f"sampled ({budget}) within 1% of exhaustive on rand-16..22 x {args.seeds} seeds: {ok}/{total} "
          f"({secs:.0f} s)")
    for m in misses:
        print(f"  miss: rand-{m['n']}-{m['seed']}: exact {m['exact_error']:.6g}, sampled {m['sampled_error']:.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
