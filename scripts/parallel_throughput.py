"""Iterations per hour of ``campaign run --parallel K`` for K = 1, 2, 3, and the queued measurement's A/A rate.

A measurement, not a test: it runs real campaigns on the tiny sum target of
``tests/run_fixtures.py`` with a scripted agent whose IMPLEMENT takes a fixed
time (20 s by default) and writes an A/A change: the baseline with its
accumulator renamed, the same code speed. So every verdict other than
"same"/"inconclusive" is a false verdict, and the rate at K > 1 (measurement
queued beside K agents at work) is compared with K = 1 (serial).

Iterations per hour are counted from the journal: from the first THINK
exchange to the last iteration's DECIDE (INIT, the baseline and FINISH are
the same for every K and left out), and once the pipeline is full: from the
first iteration's DECIDE to the last one's. A/A changes never gain, so the
diminishing-returns rule ends each campaign after 3 iterations: ``--repeat``
runs several per K.

Each campaign's ``phases`` say where the controller's time went: the
seconds before each kind of journal event, summed (``agent:implement`` is
the wait for an IMPLEMENT, ``benchmark`` the TEST-to-BENCHMARK time,
``attempt:*`` the attempts' bookkeeping); ``run_s`` is the whole command,
INIT and FINISH included. ``--keep DIR`` copies each journal there.

    PYTHONPATH=. python scripts/parallel_throughput.py [--iterations 6] [--implement-s 20] [--k 1 2 3] [--keep DIR]

Say the load with the numbers (printed at the start and end): the machine
may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

AGENT = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path

    BASE = {base!r}
    WAIT = {wait!r}
    req = json.load(sys.stdin)
    step = req["step"]
    if step == "think":
        par = req.get("parallel") or {{}}
        wanted = par.get("options_wanted") or 1
        used = len(req.get("history") or []) + len(par.get("in_flight") or [])
        plans = [{{"title": f"rename {{used + i}}", "key": f"r{{used + i}}", "chosen": "rename", "predicted_speedup": 1.05,
                   "phase": "reduce", "change": f"rename the accumulator ({{used + i}})",
                   "override_amdahl": "A/A measurement"}} for i in range(wanted)]
        print(json.dumps({{**plans[0], "action": "optimize", "hypothesis": "an A/A change", "options": ["rename"],
                           "risk": "none", "attempts": plans}}))
    elif step == "implement":
        time.sleep(WAIT)
        n = (req.get("plan") or {{}}).get("key", "r0")[1:]
        Path("work.py").write_text(BASE.replace("total", "acc" + n))
        print(json.dumps({{"summary": "renamed"}}))
    else:
        r = req["result"]
        ans = {{"surprise": "A/A: measured %s (%s)" % (r.get("speedup"), r.get("verdict"))}}
        if r.get("postmortem_required"):
            ans["postmortem"] = {{"why": "A/A change", "lesson": "none"}}
        print(json.dumps(ans))
    """
)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} cores"


def one_campaign(k: int, iterations: int, wait: float, root: Path, blocks: int = 3, keep: Path | None = None) -> dict:
    from run_fixtures import BASE, make_sum_repo, run_env, write_target_module

    lib = write_target_module(root / "lib")
    repo = make_sum_repo(root / "repo")
    agent = root / "agent.py"
    agent.write_text(AGENT.format(base=BASE, wait=wait))
    env = run_env(lib, CAMPAIGN_BENCH_MAX_BLOCKS=str(blocks), CAMPAIGN_BENCH_BUDGET_S=str(3 * blocks))
    cmd = [sys.executable, "-m", "campaign", "run", "--target", "sumtarget:SumTarget", "--agent", "command",
           "--agent-cmd", f"{sys.executable} {agent}", "--parallel", str(k), "--goal-speedup", "1000",
           "--max-iterations", str(iterations), "--agent-timeout", "600", "--quiet", "--json"]
    start = time.monotonic()
    done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=3600, check=False)
    total_s = time.monotonic() - start
    if done.returncode != 0:
        raise SystemExit(f"K={k}: campaign run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    from loop_fixtures import finished_record

    journal = finished_record(repo, "sum") / "journal.jsonl"  # a finished record stays in git, not in the tree
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
        shutil.copy(journal, keep / f"journal-k{k}-{int(time.time())}.jsonl")
    events = [json.loads(line) for line in journal.read_text().splitlines()]
    return {**summarize(k, events), "run_s": round(total_s, 1)}


def summarize(k: int, events: list[dict]) -> dict:
    """Iterations, the wall time they took and the A/A verdicts, from one journal (pure)."""
    ts = lambda e: datetime.fromisoformat(e["ts"])
    first = next(e for e in events if e["type"] == "agent" and e["data"].get("step") == "think")
    decides = [e for e in events if e["type"] == "decide" and e.get("iteration")]
    verdicts = [e["data"].get("verdict") for e in events if e["type"] == "benchmark"]
    hours = (ts(decides[-1]) - ts(first)).total_seconds() / 3600
    between = (ts(decides[-1]) - ts(decides[0])).total_seconds() / 3600
    false = [v for v in verdicts if v in ("faster", "slower")]
    return {"phases": phases(events), "k": k, "iterations": len(decides), "wall_s": round(hours * 3600, 1),
            "iterations_per_hour": round(len(decides) / hours, 1),
            # once the pipeline is full: from the first iteration's DECIDE to the last one's
            "steady_per_hour": round((len(decides) - 1) / between, 1) if between > 0 else None, "verdicts": verdicts,
            "false_verdicts": len(false), "false_rate": round(len(false) / len(verdicts), 3) if verdicts else None}


def phases(events: list[dict]) -> dict[str, float]:
    """Seconds of the controller's timeline before each kind of event, summed (pure): where the serial time goes.

    The journal is written by the controller alone, one event after another, so the gap before an event is
    the time its step took on the controller's thread (an attempt's status events name theirs: ``attempt:``).
    """
    ts = lambda e: datetime.fromisoformat(e["ts"])
    out: dict[str, float] = {}
    for prev, event in zip(events, events[1:]):
        data = event.get("data") or {}
        label = event["type"]
        if label == "agent":
            label = f"attempt:{data.get('status')}" if data.get("step") == "attempt" else f"agent:{data.get('step')}"
        out[label] = round(out.get(label, 0.0) + (ts(event) - ts(prev)).total_seconds(), 2)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def bound(serial: dict, k: int) -> float | None:
    """The most K attempts can gain over K = 1 in a campaign as long as ``serial``'s, one measurement at a time (pure).

    From the serial run: I, an IMPLEMENT's wait, and S, the rest of an iteration (TEST, BENCHMARK, the other
    steps), so K = 1 takes n (I + S). With K agents the first iteration still takes I + S (its IMPLEMENT is
    never hidden), and each later one at least S (one host measures) and (I + S) / K (an agent's slot is busy
    from THINK to DECIDE): n (I + S) / (I + S + (n - 1) max(S, (I + S) / K)).
    """
    n = serial["iterations"]
    implement = serial["phases"].get("agent:implement", 0.0) / n
    rest = serial["wall_s"] / n - implement
    if rest <= 0:
        return None
    cycle = implement + rest
    return round(n * cycle / (cycle + (n - 1) * max(rest, cycle / k)), 2)


def pooled(runs: list[dict]) -> dict:
    """One row for the repeats of one K: iterations over the summed wall time (pure)."""
    iterations, wall = sum(r["iterations"] for r in runs), sum(r["wall_s"] for r in runs)
    steady = [r["steady_per_hour"] for r in runs if r["steady_per_hour"]]
    verdicts = [v for r in runs for v in r["verdicts"]]
    return {"k": runs[0]["k"], "iterations": iterations, "wall_s": wall,
            "iterations_per_hour": round(iterations / wall * 3600, 1),
            "steady_per_hour": round(sum(steady) / len(steady), 1) if steady else None, "verdicts": verdicts,
            "false_verdicts": sum(r["false_verdicts"] for r in runs), "load_after": runs[-1]["load_after"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=6)
    parser.add_argument("--implement-s", type=float, default=20.0)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--max-blocks", type=int, default=3, help="benchmark blocks at most (the tests' budget)")
    parser.add_argument("--repeat", type=int, default=1, help="campaigns per K (the A/A changes stop each after 3)")
    parser.add_argument("--keep", type=Path, default=None, help="copy each campaign's journal into this folder")
    args = parser.parse_args()
    print(f"start: {load()}", flush=True)
    rows = []
    runs_by_k: dict[int, list[dict]] = {}
    for k in args.k:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix=f"campaign-throughput-k{k}-") as tmp:
                runs.append(one_campaign(k, args.iterations, args.implement_s, Path(tmp), args.max_blocks, args.keep))
                runs[-1]["load_after"] = load()
                print(json.dumps(runs[-1]), flush=True)
        rows.append(pooled(runs))
        runs_by_k[k] = runs
    base = rows[0]["iterations_per_hour"]
    serial = runs_by_k[rows[0]["k"]][0]
    for row in rows:
        steady = row["steady_per_hour"]
        print(f"K={row['k']}: {row['iterations_per_hour']:.0f} iterations/hour ({row['iterations_per_hour'] / base:.2f}x "
              f"K={rows[0]['k']}); pipeline full: {steady or 0:.0f}/hour "
              f"({(steady or 0) / (rows[0]['steady_per_hour'] or 1):.2f}x); A/A false verdicts "
              f"{row['false_verdicts']}/{len(row['verdicts'])}; {row['load_after']}"
              + (f"; at most {bound(serial, row['k'])}x for campaigns this long" if row["k"] > rows[0]["k"] else ""))
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
