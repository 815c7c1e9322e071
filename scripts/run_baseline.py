#!/usr/bin/env python
"""Record a campaign's baseline: each case in a fresh process, written once.

    python scripts/run_baseline.py --target weight_search --dir . --record optim/NAME [--case fast --case full]

Writes optim/NAME/baseline.json and optim/NAME/baseline_results/<case>.json
(never overwrites an existing baseline). A thin wrapper over
campaign.measure.baseline.record_baseline.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", required=True, help="built-in name, module:Class or campaign.toml")
    parser.add_argument("--dir", default=".", type=Path, help="workspace (default: .)")
    parser.add_argument("--record", required=True, type=Path, help="campaign record folder, e.g. optim/NAME")
    parser.add_argument("--case", action="append", dest="cases", help="case to record (repeatable; default: fast and full)")
    parser.add_argument("--repeat", type=int, default=3, help="warm repeats per case (default 3)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from campaign.measure.baseline import BaselineError, record_baseline
    from campaign.plugins.target import TargetError
    from campaign.plugins.loading import load_target
    from campaign.measure.workload import WorkloadError

    workspace = args.dir.resolve()
    sys.path.insert(0, str(workspace))
    try:
        target = load_target(args.target, workspace)
        cases = args.cases or list(dict.fromkeys([target.fast_case, target.full_case]))
        record = args.record if args.record.is_absolute() else workspace / args.record
        event = record_baseline(target, workspace, record, cases, repeat=args.repeat)
    except (TargetError, BaselineError, WorkloadError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(event, indent=2, default=str))
        return 0
    print(f"baseline recorded in {record} (commit {str(event['commit'])[:10]}{' dirty' if event['dirty'] else ''})")
    for case, data in event["cases"].items():
        phases = ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in data["phases"].items())
        first = data.get("first_call_s")
        print(f"  {case}: warm {data['warm_s'] * 1e3:.1f} ms"
              + (f", first call {first * 1e3:.1f} ms" if first is not None else "") + (f" ({phases})" if phases else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
