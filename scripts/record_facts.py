#!/usr/bin/env python
"""Facts about a recorded campaign that its rendered logs do not show: how long it ran, under what load.

    python scripts/record_facts.py [RECORD_DIR] [--json]     # default: optim/weight_search

Reads ``journal.jsonl`` and ``baseline.json`` of the record (nothing is run):
the time from the first to the last journal event, the machine's cores, the
1-minute load average over every benchmark block (and at the baseline), the
number of benchmark blocks, and the baseline's warm time per case.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def facts(record: Path) -> dict:
    events = [json.loads(line) for line in (record / "journal.jsonl").read_text().splitlines() if line.strip()]
    stamps = [datetime.fromisoformat(e["ts"]) for e in events if e.get("ts")]
    loads, cores, blocks = [], set(), 0
    for e in events:
        data = e.get("data") or {}
        env = data.get("environment") or {}
        if env.get("cpu_count"):
            cores.add(env["cpu_count"])
        if e.get("type") == "baseline" and env.get("load_avg"):
            loads.append(env["load_avg"][0])
        for block in (data.get("load") or {}).get("blocks") or []:
            blocks += 1
            if block.get("load") is not None:
                loads.append(block["load"])
    baseline = json.loads((record / "baseline.json").read_text())
    warm = {case: c.get("warm_s") for case, c in baseline.get("cases", {}).items()}
    return {"record": str(record), "events": len(events), "first": min(stamps).isoformat(),
            "last": max(stamps).isoformat(), "span_s": (max(stamps) - min(stamps)).total_seconds(),
            "cores": sorted(cores), "benchmark_blocks": blocks,
            "load_1min": [min(loads), max(loads)] if loads else None, "baseline_warm_s": warm}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("record", nargs="?", default=str(ROOT / "optim" / "weight_search"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    f = facts(Path(args.record))
    if args.json:
        print(json.dumps(f, indent=2))
        return 0
    minutes, seconds = divmod(round(f["span_s"]), 60)
    print(f"{f['record']}: {f['events']} events from {f['first']} to {f['last']}: {minutes} min {seconds} s")
    cores = "/".join(str(c) for c in f["cores"]) or "?"
    if f["load_1min"]:
        lo, hi = f["load_1min"]
        print(f"{cores} cores; 1-minute load average {lo:.1f}-{hi:.1f} over the baseline and "
              f"{f['benchmark_blocks']} benchmark blocks")
    for case, warm in f["baseline_warm_s"].items():
        print(f"baseline warm time, case {case}: {warm:.3f} s" if warm is not None else f"case {case}: -")
    return 0


if __name__ == "__main__":
    sys.exit(main())
