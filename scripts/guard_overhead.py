"""What the integrity guards (docs/integrity.md) add to `campaign demo`'s wall time.

    python scripts/guard_overhead.py [--before PYTHON] [--after PYTHON] [--rounds N]

Runs ``PYTHON -m campaign demo --workdir <fresh tmp>/d --json`` with the
interpreter of the code before the guards (``--before``, default: the
``python`` on PATH, which imports the installed main) and after
(``--after``, default: this repository's ``.venv``), alternating (before,
after, after, before, ...) so that a drift in the machine's load hits both
alike. Prints each run's wall time, the ratio of the medians (after /
before; the issue allows at most 1.30), each demo's kept count, and the
load average (``uptime``) before and after: on a loaded machine the ratio
is noisy, so read it with the load.

Run it from the repository root, each interpreter importing its own
``campaign`` from its working directory (``cwd`` is set to a neutral folder,
so neither picks the other's code by accident).
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
from statistics import median

ROOT = Path(__file__).resolve().parent.parent


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return f"load {os.getloadavg()}"


def verdicts(workdir: Path) -> str:
    """One word per attempt of the demo's journal: kept, the verdict, or the guard that refused it."""
    words = []
    for journal in Path(workdir).glob("optim/*/journal.jsonl"):
        bench: dict = {}
        for line in journal.read_text().splitlines():
            event = json.loads(line)
            if event["type"] == "benchmark":
                bench = event["data"]
            elif event["type"] == "log":
                refused = (bench.get("integrity") or {}).get("refused")
                words.append(f"{event['iteration']}:" + ("kept" if event["data"].get("kept") else
                             (refused.split(":")[0] if refused else bench.get("verdict") or "test-failed")))
                bench = {}
    return " ".join(words)


def run_demo(python: str) -> tuple[float, int | None]:
    """Wall seconds of one demo and its number of kept iterations (its attempts printed)."""
    with tempfile.TemporaryDirectory(prefix="guard-overhead-") as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run([python, "-m", "campaign", "demo", "--workdir", f"{tmp}/d", "--json"], cwd=tmp,
                              capture_output=True, text=True)
        wall = time.perf_counter() - t0
        print(f"  attempts: {verdicts(Path(tmp) / 'd')}", flush=True)
    if proc.returncode != 0:
        raise SystemExit(f"{python} -m campaign demo failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    kept = None
    try:
        data = json.loads(proc.stdout)
        kept = data.get("kept") if isinstance(data.get("kept"), int) else (data.get("summary") or {}).get("kept")
    except ValueError:
        pass
    return wall, kept


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="python", help="interpreter of the code without the guards")
    parser.add_argument("--after", default=str(ROOT / ".venv" / "bin" / "python"),
                        help="interpreter of the code with the guards")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of runs (before+after), alternating order")
    args = parser.parse_args(argv)
    print(f"load before: {uptime()}")
    times: dict[str, list[float]] = {"before": [], "after": []}
    for i in range(args.rounds):
        order = ("before", "after") if i % 2 == 0 else ("after", "before")
        for who in order:
            wall, kept = run_demo(getattr(args, who))
            times[who].append(wall)
            print(f"round {i + 1} {who:6s}: {wall:7.1f} s, kept {kept}", flush=True)
    ratio = median(times["after"]) / median(times["before"])
    print(f"load after: {uptime()}")
    print(f"median before {median(times['before']):.1f} s, after {median(times['after']):.1f} s: "
          f"ratio {ratio:.3f} (allowed: at most 1.30)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
