#!/usr/bin/env python
"""Benchmark the workspace against the recorded baseline, phase by phase.

    python scripts/optim_benchmark.py --target weight_search --dir . --record optim/NAME [--validate-full] [--stored]

Prints Phase / Baseline / Current / Speedup with a TOTAL row, the verdict with
its 95% confidence interval, and "Correctness: PASS/FAIL" against the
baseline's outputs. The baseline commit is measured interleaved with the
workspace in fresh processes (campaign.measure.bench); --stored compares with the
recorded numbers instead (quick, but not drift-controlled). --validate-full
also runs the full-scale case. Exit code 1 when correctness fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True)
    parser.add_argument("--dir", default=".", type=Path)
    parser.add_argument("--record", required=True, type=Path)
    parser.add_argument("--case", default=None, help="case (default: the target's fast case)")
    parser.add_argument("--validate-full", action="store_true", help="also benchmark and check the full case")
    parser.add_argument("--stored", action="store_true", help="compare with the recorded baseline numbers")
    parser.add_argument("--max-blocks", type=int, default=None, help="default: [measure] in campaign.toml, else 30")
    parser.add_argument("--budget", type=float, default=None, help="seconds; default: [measure], else 120")
    parser.add_argument("--instructions", action="store_true", help="also count instructions (valgrind)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from campaign.measure.baseline import BaselineError
    from campaign.measure.compare import CompareError, compare_with_baseline, format_baseline_comparison
    from campaign.plugins.target import TargetError
    from campaign.plugins.loading import load_target
    from campaign.measure.workload import WorkloadError

    workspace = args.dir.resolve()
    sys.path.insert(0, str(workspace))
    record = args.record if args.record.is_absolute() else workspace / args.record
    results = []
    try:
        target = load_target(args.target, workspace)
        cases = [args.case or target.fast_case]
        if args.validate_full and target.full_case not in cases:
            cases.append(target.full_case)
        for case in cases:
            progress = None if args.json else (lambda line: print(line, file=sys.stderr))
            results.append(compare_with_baseline(target, workspace, record, case, stored=args.stored,
                                                 max_blocks=args.max_blocks, budget_s=args.budget,
                                                 instructions=args.instructions, progress=progress))
    except (TargetError, BaselineError, WorkloadError, CompareError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(results, indent=2, default=str))
    else:
        print("\n\n".join(format_baseline_comparison(r) for r in results))
    return 0 if all(r["correctness"]["passed"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
