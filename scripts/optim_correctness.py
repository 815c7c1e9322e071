#!/usr/bin/env python
"""Check the workspace's outputs against the recorded baseline: PASS or FAIL (exit code 0 or 1).

    python scripts/optim_correctness.py --target weight_search --dir . --record optim/NAME [--case full] [--tests]

Each output is compared under the target's tolerance (exact / tight / loose /
count / statistical); --tests also runs the target's own test command.
A thin wrapper over campaign.measure.baseline.check_correctness.
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
    parser.add_argument("--case", action="append", dest="cases", help="case(s) to check (default: the fast case)")
    parser.add_argument("--tests", action="store_true", help="also run the target's test command")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from campaign.measure.baseline import BaselineError, check_correctness
    from campaign.measure.correctness import run_test_command
    from campaign.plugins.target import TargetError
    from campaign.plugins.loading import load_target
    from campaign.measure.workload import WorkloadError

    workspace = args.dir.resolve()
    sys.path.insert(0, str(workspace))
    record = args.record if args.record.is_absolute() else workspace / args.record
    out = {"cases": {}, "test_command": None}
    try:
        target = load_target(args.target, workspace)
        for case in args.cases or [target.fast_case]:
            report, _ = check_correctness(target, workspace, record, case)
            out["cases"][case] = report.to_dict()
        if args.tests and target.test_command:
            out["test_command"] = run_test_command(target.test_command, workspace, target.timeout_s)
    except (TargetError, BaselineError, WorkloadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        print("FAIL")
        return 1
    passed = all(c["passed"] for c in out["cases"].values()) and (out["test_command"] is None or out["test_command"]["passed"])
    out["passed"] = passed
    if args.json:
        print(json.dumps(out, indent=2, default=str))
    else:
        for case, rep in out["cases"].items():
            print(f"{case}: {'PASS' if rep['passed'] else 'FAIL'} ({len(rep['checked'])} outputs)")
            for f in rep["failures"]:
                print(f"  {f['message']}")
        if out["test_command"]:
            tc = out["test_command"]
            print(f"test command `{tc['cmd']}`: {'PASS' if tc['passed'] else 'FAIL'} (exit {tc['rc']})")
            if not tc["passed"]:
                print(tc["tail"])
        print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
