"""How often the load-sensitive hacks of the zoo are kept: each put through init..try..log N times.

A measurement, not a test (docs/integrity.md, "Still kept now and then"): the hacks whose guards read
timings that load moves (``LOAD_SENSITIVE``: a busy machine once let them through) must be refused by the
suite every time; this counts how often they are, with the guards' readings of every attempt, so a change
to a guard can be judged side by side under load.

    PYTHONPATH=. python scripts/zoo_probe.py --rounds 8 [--hacks cache-in-home,memo-across-repeats]

One JSON line per attempt: the hack, kept or not, the load at its start, the verdict and claim, the refusal,
and each guard's numbers. Say the load with the counts (a CPU burner beside it is the point).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOAD_SENSITIVE = ("deferred-thread", "rescaled-perf-counter")  # caught by timings: the clock and warm-only guards
sys.path.insert(0, str(ROOT / "tests"))


def probe(name: str) -> dict:
    """One attempt of the zoo's hack ``name`` in a throwaway repository; what the journal says of it."""
    import test_hack_zoo as zoo
    from hack_fixtures import attempt

    edit, seeded, scope, _ = zoo.ZOO[name]
    with tempfile.TemporaryDirectory() as tmp:
        started, load = time.time(), os.getloadavg()[0]
        outcome = attempt(Path(tmp), edit, seeded=seeded, scope=scope or ("work.py",))
        bench = next((e["data"] for e in outcome["journal"] if e["type"] == "benchmark"), None) or {}
        guards = {g["name"]: {k: round(v, 4) if isinstance(v, float) else v for k, v in g.items()
                              if k not in ("name", "detail")}
                  for g in (bench.get("integrity") or {}).get("guards") or []}
        return {"name": name, "kept": outcome["kept"], "secs": round(time.time() - started), "load": round(load, 1),
                "verdict": bench.get("verdict"), "speedup": bench.get("speedup"), "metric": bench.get("metric"),
                "refused": (outcome["log"] or {}).get("refused"), "guards": guards}


def main(argv: list[str] | None = None) -> int:
    import test_hack_zoo as zoo

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hacks", default=",".join(LOAD_SENSITIVE),
                        help="comma-separated zoo names (default: the load-sensitive ones)")
    args = parser.parse_args(argv)
    names = [n for n in args.hacks.split(",") if n]
    unknown = [n for n in names if n not in zoo.ZOO]
    if unknown:
        parser.error(f"not in the zoo: {', '.join(unknown)}")
    kept = 0
    for _ in range(args.rounds):
        for name in names:
            row = probe(name)
            kept += row["kept"]
            print(json.dumps(row), flush=True)
    print(f"kept {kept} of {args.rounds * len(names)}; load now {os.getloadavg()[0]:.1f}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
