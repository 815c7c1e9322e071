"""What the integrity guards (docs/integrity.md) add to `campaign demo`'s wall time.

    python scripts/guard_overhead.py [--before CODE] [--after CODE] [--rounds N] [--max-iterations K]

Runs ``python -m campaign demo --workdir <fresh tmp>/d --json`` with the code
before the guards (``--before``) and after (``--after``), alternating
(before, after, after, before, ...) so that a drift in the machine's load hits
both alike. CODE is a commit of this repository (exported with ``git
archive`` into a temporary folder and imported from there through
``PYTHONPATH``), a folder holding a ``campaign`` package, or an interpreter
(a file: run as it is, importing whatever it imports). Defaults: before,
``6f58320^1`` (main just before the merge that brought the guards); after,
this working tree. Prints each run's wall time, the ratio of the medians
(after / before; the issue allows at most 1.30), each demo's attempts (kept,
the verdict, or the guard that refused it), and the load average (``uptime``)
before and after: on a loaded machine the ratio is noisy, so read it with
the load. Between the two commits the guards are not the only change: name
the commit pair that isolates what you measure.
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
    from campaign.loop.session import Campaign, list_campaigns

    words = []
    # a finished record stays in git (FINISH merges the code only): read it where campaign itself does
    for journal in (Campaign.open(workdir, name).record_dir / "journal.jsonl" for name in list_campaigns(workdir)):
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


def resolve(code: str, scratch: Path) -> tuple[str, dict[str, str]]:
    """(interpreter, environment) for CODE: a commit (exported), a folder with ``campaign/``, or an interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    path = Path(code)
    if path.is_file():
        return str(path), env
    if not (path.is_dir() and (path / "campaign").is_dir()):
        sha = subprocess.run(["git", "rev-parse", code], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        path = scratch / sha[:10]
        path.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", sha], cwd=ROOT, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(path)], input=archive, check=True)
    return sys.executable, {**env, "PYTHONPATH": str(path.resolve())}


def run_demo(python: str, env: dict[str, str], max_iterations: int | None) -> tuple[float, int | None]:
    """Wall seconds of one demo and its number of kept iterations (its attempts printed)."""
    extra = ["--max-iterations", str(max_iterations)] if max_iterations else []
    with tempfile.TemporaryDirectory(prefix="guard-overhead-") as tmp:
        t0 = time.perf_counter()
        proc = subprocess.run([python, "-m", "campaign", "demo", "--workdir", f"{tmp}/d", "--json", *extra], cwd=tmp,
                              capture_output=True, text=True, env=env)
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
    parser.add_argument("--before", default="6f58320^1", help="the code without the guards (commit, folder, python)")
    parser.add_argument("--after", default=str(ROOT), help="the code with the guards (commit, folder, python)")
    parser.add_argument("--rounds", type=int, default=2, help="pairs of runs (before+after), alternating order")
    parser.add_argument("--max-iterations", type=int, default=None, help="the demo's iteration cap (default: its own)")
    args = parser.parse_args(argv)
    print(f"load before: {uptime()}")
    times: dict[str, list[float]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="guard-overhead-code-") as scratch:
        code = {who: resolve(getattr(args, who), Path(scratch)) for who in ("before", "after")}
        for i in range(args.rounds):
            for who in (("before", "after") if i % 2 == 0 else ("after", "before")):
                wall, kept = run_demo(*code[who], args.max_iterations)
                times[who].append(wall)
                print(f"round {i + 1} {who:6s}: {wall:7.1f} s, kept {kept}, load {os.getloadavg()[0]:.1f}",
                      flush=True)
    ratio = median(times["after"]) / median(times["before"])
    print(f"load after: {uptime()}")
    print(f"median before {median(times['before']):.1f} s, after {median(times['after']):.1f} s: "
          f"ratio {ratio:.3f} (allowed: at most 1.30)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
