"""Iterations per hour of ``campaign run --parallel K`` for K = 1, 2, 3, and the queued measurement's A/A rate.

A measurement, not a test: it runs real campaigns on the tiny sum target of
``tests/run_fixtures.py``, in a copy whose ``work.py`` also calls a loop of
deliberately wasted work a few times. A scripted agent's IMPLEMENT takes a
fixed time (20 s by default). Every second attempt (``--every``) deletes one
of those calls: a genuine win (``--win``: 1.5x each by default, large
enough to be seen through a loaded machine's noise in three blocks, where a
1.25x cut was missed), so the campaign keeps gaining and runs to
``--iterations`` (the ``--max-iterations`` cap), as a long campaign
(hundreds of attempts a night) does, instead of being ended by the
diminishing-returns rule (three iterations in a row under 5%) after three
A/A iterations. Every third was too few: K attempts ready at once are
measured in no fixed order, and three A/A in a row ended a K = 3 campaign
at four iterations. The other attempts are A/A changes: the reduce's
accumulator renamed, the same code speed, so any "faster" or "slower"
verdict on one of them is false; the rate at K > 1 (measurement queued
beside K agents at work) is compared with K = 1 (serial). The cuts'
verdicts are counted apart (``wins found``): a missed win is no false
verdict, but it can stop the campaign early (``stopped by``). Each cut
deletes its own call, three lines from the next, so a cut or an A/A planned
before another cut was kept still applies on top of it.

Iterations per hour are counted from the journal: from the first THINK
exchange to the last iteration's DECIDE (INIT, the baseline and FINISH are
the same for every K and left out), and once the pipeline is full: from the
first iteration's DECIDE to the last one's. ``--repeat`` runs several
campaigns per K.

Each campaign's ``phases`` say where the controller's time went: the
seconds before each kind of journal event, summed (``agent:implement`` is
the wait for an IMPLEMENT, ``benchmark`` the TEST-to-BENCHMARK time,
``attempt:*`` the attempts' bookkeeping); ``run_s`` is the whole command,
INIT and FINISH included. ``--keep DIR`` copies each journal there.

    PYTHONPATH=. python scripts/parallel_throughput.py [--iterations 9] [--implement-s 20] [--k 1 2 3] [--win 1.5]
        [--every 2] [--max-blocks 3] [--repeat 1] [--keep DIR]

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

    WAIT = {wait!r}
    EVERY = {every!r}
    req = json.load(sys.stdin)
    step = req["step"]
    if step == "think":
        par = req.get("parallel") or {{}}
        wanted = par.get("options_wanted") or 1
        used = len(req.get("history") or []) + len(par.get("in_flight") or [])
        plans = []
        for n in range(used, used + wanted):
            win = n % EVERY == EVERY - 1  # every EVERY-th attempt cuts one unit of the wasted work: a genuine win
            plans.append({{"title": f"cut waste {{n // EVERY + 1}}" if win else f"rename {{n}}", "key": f"a{{n}}",
                           "chosen": "cut" if win else "rename", "predicted_speedup": 1.1, "phase": "reduce",
                           "change": f"delete wasted-work call {{n // EVERY + 1}}" if win else f"rename the accumulator ({{n}})",
                           "override_amdahl": "scripted measurement"}})
        print(json.dumps({{**plans[0], "action": "optimize", "hypothesis": "a scripted change", "options": ["rename", "cut"],
                           "risk": "none", "attempts": plans}}))
    elif step == "implement":
        time.sleep(WAIT)
        n = int((req.get("plan") or {{}}).get("key", "a0")[1:])
        work = Path("work.py")
        code = work.read_text()
        if n % EVERY == EVERY - 1:  # its own call only, so two cuts in flight at once never touch the same line
            code = "".join(line for line in code.splitlines(True) if not line.endswith(f"# unit {{n // EVERY + 1}}\\n"))
        else:  # A/A: the same code, renamed
            code = code.replace("total", f"acc{{n}}")
        work.write_text(code)
        print(json.dumps({{"summary": "done"}}))
    else:
        r = req["result"]
        ans = {{"surprise": "measured %s (%s)" % (r.get("speedup"), r.get("verdict"))}}
        if r.get("postmortem_required"):
            ans["postmortem"] = {{"why": "scripted change", "lesson": "none"}}
        print(json.dumps(ans))
    """
)

SPACER = "    # (spacer: keeps each cut's patch context clear of the next)\n" * 3


def wasted_base(units: int, win: float, n: int = 40_000) -> str:
    """The tests' sum target with ``units`` calls of deliberately wasted work; deleting them in order makes the
    code ``win`` times faster each time (pure): call u costs win^(units-u) (win - 1) times the real work, a sum
    over ``n`` numbers (the tests' 160,000 made smaller, so the first version, win^units times slower, stays short).

    Each call sits three lines from the next and from the reduce loop, so an attempt's patch (a cut deletes
    its own call, an A/A renames the reduce's accumulator) still applies on top of any other kept cut.
    """
    from run_fixtures import BASE, N

    waste = "def _waste(n):\n    s = 0\n    for i in range(n):\n        s += (i * i) % 7\n    return s\n\n\ndef compute(n=N):\n"
    calls = "".join(f"    _waste({int(n * win ** (units - u) * (win - 1))})  # unit {u}\n{SPACER}"
                    for u in range(1, units + 1))
    return BASE.replace(f"N = {N}\n", f"N = {n}\n", 1).replace("def compute(n=N):\n", waste + calls, 1)


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (5 min {five:.2f}) on {os.cpu_count()} cores"


def one_campaign(k: int, iterations: int, wait: float, root: Path, blocks: int = 3, keep: Path | None = None,
                 win: float = 2.0, every: int = 2) -> dict:
    from loop_fixtures import git
    from run_fixtures import make_sum_repo, run_env, write_target_module

    lib = write_target_module(root / "lib")
    repo = make_sum_repo(root / "repo")
    (repo / "work.py").write_text(wasted_base(max(1, iterations // every), win))
    git(repo, "commit", "-qam", "naive sum, with wasted work")
    agent = root / "agent.py"
    agent.write_text(AGENT.format(wait=wait, every=every))
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


def ts(event: dict) -> datetime:
    return datetime.fromisoformat(event["ts"])


def summarize(k: int, events: list[dict]) -> dict:
    """Iterations, the wall time they took and the verdicts, A/A and wins apart, from one journal (pure)."""
    first = next(e for e in events if e["type"] == "agent" and e["data"].get("step") == "think")
    decides = [e for e in events if e["type"] == "decide" and e.get("iteration")]
    cuts = {e["iteration"] for e in events if e["type"] == "plan" and "wasted" in (e["data"].get("change") or "")}
    measured = [(e.get("iteration") in cuts, e["data"].get("verdict")) for e in events if e["type"] == "benchmark"]
    aa = [v for cut, v in measured if not cut]
    wins = [v for cut, v in measured if cut]
    hours = (ts(decides[-1]) - ts(first)).total_seconds() / 3600
    between = (ts(decides[-1]) - ts(decides[0])).total_seconds() / 3600
    false = [v for v in aa if v in ("faster", "slower")]  # an A/A change has the same speed
    return {"phases": phases(events), "k": k, "iterations": len(decides), "wall_s": round(hours * 3600, 1),
            "iterations_per_hour": round(len(decides) / hours, 1),
            # once the pipeline is full: from the first iteration's DECIDE to the last one's
            "steady_per_hour": round((len(decides) - 1) / between, 1) if between > 0 else None, "verdicts": aa,
            "false_verdicts": len(false), "false_rate": round(len(false) / len(aa), 3) if aa else None,
            "win_verdicts": wins, "wins_found": wins.count("faster"),
            "stopped_by": decides[-1]["data"].get("rule")}


def phases(events: list[dict]) -> dict[str, float]:
    """Seconds of the controller's timeline before each kind of event, summed (pure): where the serial time goes.

    The journal is written by the controller alone, one event after another, so the gap before an event is
    the time its step took on the controller's thread (an attempt's status events name theirs: ``attempt:``).
    """
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
            "false_verdicts": sum(r["false_verdicts"] for r in runs), "load_after": runs[-1]["load_after"],
            "wins_found": sum(r["wins_found"] for r in runs), "wins": sum(len(r["win_verdicts"]) for r in runs),
            "stopped_by": [r["stopped_by"] for r in runs]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=9, help="the cap (the cuts keep the campaign going)")
    parser.add_argument("--implement-s", type=float, default=20.0)
    parser.add_argument("--k", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--max-blocks", type=int, default=3, help="benchmark blocks at most (the tests' budget)")
    parser.add_argument("--win", type=float, default=2.0, help="how much faster each cut of wasted work makes the code")
    parser.add_argument("--every", type=int, default=2, help="every N-th attempt is a cut, the others A/A")
    parser.add_argument("--repeat", type=int, default=1, help="campaigns per K")
    parser.add_argument("--keep", type=Path, default=None, help="copy each campaign's journal into this folder")
    args = parser.parse_args()
    print(f"start: {load()}", flush=True)
    rows = []
    runs_by_k: dict[int, list[dict]] = {}
    for k in args.k:
        runs = []
        for _ in range(args.repeat):
            with tempfile.TemporaryDirectory(prefix=f"campaign-throughput-k{k}-") as tmp:
                runs.append(one_campaign(k, args.iterations, args.implement_s, Path(tmp), args.max_blocks, args.keep,
                                         args.win, args.every))
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
              f"{row['false_verdicts']}/{len(row['verdicts'])}; wins found {row['wins_found']}/{row['wins']}; "
              f"stopped by {','.join(row['stopped_by'])}; {row['load_after']}"
              + (f"; at most {bound(serial, row['k'])}x for campaigns this long" if row["k"] > rows[0]["k"] else ""))
    print(f"end: {load()}")


if __name__ == "__main__":
    main()
