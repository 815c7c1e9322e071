#!/usr/bin/env python
"""How good is the BENCHMARK step? A/A and A/B trials with known injected slowdowns, side by side with pyperf
and hyperfine, on a quiet machine and under bursty CPU burners.

    python scripts/bench_quality.py run --quick --out bq.jsonl        # a few minutes: every row, few trials
    python scripts/bench_quality.py run --aa 100 --ab 40 --out bq.jsonl  # the full study (hours)
    python scripts/bench_quality.py report bq.jsonl                   # markdown table
    python scripts/bench_quality.py demo --burners 6                  # the demo under 6 bursty burners

A trial builds fresh variant directories holding a tiny CPU-bound Python
target (~25 ms per call). A/A: two copies of identical code. A/B: the
candidate does ``1 + effect`` times the work (a known slowdown of 3%, 5%,
10%). Tools, on the same variants in the same run:

* ``campaign`` - ``campaign.measure.bench.benchmark`` exactly as a campaign runs it;
* ``pyperf`` - a ``pyperf.Runner`` script per variant (``--fast``), then
  ``pyperf compare_to`` (significant faster/slower, else inconclusive);
* ``hyperfine`` - both variants' processes (``--warmup 2``), then a Welch t
  test at 5% on the run times (hyperfine's own ``welch_ttest.py`` recipe);
  skipped with a printed reason when hyperfine is not installed;
* ``instructions`` (``--instr``) - one warm run per variant under callgrind.

Conditions (``--conditions``): ``quiet``, and N bursty CPU burners: each a
process alternating busy spells of 0.5-6 s with idle spells of 0-2 s,
seeded; the script starts them before a condition's trials and stops them
after. Every trial appends one JSON line to ``--out`` as soon as it ends, so
a long run can be reported while it is still going.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOY = '''
from campaign.plugins.phases import phase
from campaign.plugins.target import PythonTarget

FACTOR = {factor!r}
N = {n}


def work(n):
    s = 0
    for i in range(n):
        s += i * i % 7
    return s


class QualityToy(PythonTarget):
    name = "quality_toy"
    phases = ["main", "tail"]

    def run_case(self, case, workdir, knobs=None):
        with phase("main"):
            a = work(int(N * 0.8 * FACTOR))
        with phase("tail"):
            b = work(int(N * 0.2 * FACTOR))
        return {{"a": a, "b": b}}


def once():
    return work(int(N * 0.8 * FACTOR)) + work(int(N * 0.2 * FACTOR))


if __name__ == "__main__":
    once()
'''

PYPERF_SCRIPT = '''
import sys
sys.path.insert(0, {dirpath!r})
import pyperf
import {module} as toy

runner = pyperf.Runner()
runner.bench_func("toy", toy.once)
'''

BURNER = '''
import random, sys, time
rng = random.Random(int(sys.argv[1]))
while True:
    end = time.perf_counter() + rng.uniform(0.5, 6.0)
    while time.perf_counter() < end:
        pass
    time.sleep(rng.uniform(0.0, 2.0))
'''

MODULE = "quality_toy_mod"


def make_variant(root: Path, name: str, factor: float, n: int) -> Path:
    d = root / name
    d.mkdir(parents=True)
    (d / f"{MODULE}.py").write_text(TOY.format(factor=factor, n=n))
    return d


def load(dirpath: Path):
    sys.path.insert(0, str(dirpath))
    try:
        from campaign.plugins.loading import load_target

        return load_target(f"{MODULE}:QualityToy")
    finally:
        sys.path.remove(str(dirpath))
        sys.modules.pop(MODULE, None)


def wall_trial(a: Path, b: Path, seed: int, args) -> dict:
    from campaign.measure.bench import benchmark

    target = load(a)
    t0 = time.perf_counter()
    res = benchmark(target, "fast", {"reference": a, "candidate": b}, "candidate",
                    budget_s=args.budget, extend_s=args.extend, seed=seed,
                    **({"max_blocks": args.max_blocks} if args.max_blocks else {}))["reference"]
    secs = time.perf_counter() - t0
    return {"verdict": res.verdict, "speedup": res.speedup, "ci": list(res.ci), "ci_level": res.ci_level,
            "blocks": res.blocks, "seconds": secs, "decided_on": res.metric, "noise_floor": res.noise_floor, "min_effect": res.min_effect,
            "repeat": res.repeat, "run_noise": res.wall.get("run_noise"), "blocks_needed": res.blocks_needed,
            "busy_blocks": sum(1 for b in res.load if b.get("busy")), "block_s": res.block_cost.get("block_s")}


def pyperf_trial(a: Path, b: Path, seed: int, args) -> dict:
    """pyperf as its users run it: one Runner script per variant (A fully, then B), then ``compare_to``."""
    t0 = time.perf_counter()
    out = {}
    for name, d in (("a", a), ("b", b)):
        script = d / "bench_pyperf.py"
        script.write_text(PYPERF_SCRIPT.format(dirpath=str(d), module=MODULE))
        out[name] = d / "pyperf.json"
        flags = ["--fast"] if args.pyperf_fast else []
        subprocess.run([sys.executable, str(script), "--quiet", *flags, "-o", str(out[name])], check=True,
                       capture_output=True, text=True, timeout=600)
    cmp = subprocess.run([sys.executable, "-m", "pyperf", "compare_to", str(out["a"]), str(out["b"])],
                         capture_output=True, text=True, timeout=120)
    secs = time.perf_counter() - t0
    text = cmp.stdout + cmp.stderr
    if "Not significant" in text or "not significant" in text:
        verdict = "inconclusive"
    elif "slower" in text:
        verdict = "slower"
    elif "faster" in text:
        verdict = "faster"
    else:
        verdict = "inconclusive"
    return {"verdict": verdict, "seconds": secs, "output": text.strip()[-300:]}


def hyperfine_trial(a: Path, b: Path, seed: int, args) -> dict:
    """hyperfine's processes (A's runs, then B's), judged by a Welch t test at 5% (hyperfine's welch_ttest.py)."""
    from scipy.stats import ttest_ind

    t0 = time.perf_counter()
    out = a.parent / "hyperfine.json"
    cmds = [f"{sys.executable} {d / (MODULE + '.py')}" for d in (a, b)]
    subprocess.run(["hyperfine", "-N", "--warmup", "2", "--runs", str(args.hyperfine_runs), "--style", "none",
                    "--export-json", str(out), *cmds], check=True, capture_output=True, text=True, timeout=600)
    secs = time.perf_counter() - t0
    ta, tb = (r["times"] for r in json.loads(out.read_text())["results"])
    p = ttest_ind(ta, tb, equal_var=False).pvalue
    ratio = (sum(ta) / len(ta)) / (sum(tb) / len(tb))
    verdict = "inconclusive" if p >= 0.05 else ("faster" if ratio > 1 else "slower")
    return {"verdict": verdict, "speedup": ratio, "p": p, "seconds": secs}


def hyperfine_missing() -> str | None:
    return None if shutil.which("hyperfine") else "hyperfine is not installed (apt-get install hyperfine)"


def pyperf_missing() -> str | None:
    import importlib.util

    return None if importlib.util.find_spec("pyperf") else "pyperf is not installed (pip install pyperf)"


TOOLS = {"campaign": (wall_trial, lambda: None), "pyperf": (pyperf_trial, pyperf_missing),
         "hyperfine": (hyperfine_trial, hyperfine_missing)}


def start_burners(count: int, seed: int) -> list[subprocess.Popen]:
    """``count`` bursty CPU burners (busy 0.5-6 s, idle 0-2 s, seeded); stopped by ``stop_burners``."""
    return [subprocess.Popen([sys.executable, "-c", BURNER, str(seed * 1000 + i)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL) for i in range(count)]


def stop_burners(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def burners_of(condition: str) -> int:
    if condition == "quiet":
        return 0
    try:
        return int(condition)
    except ValueError:
        raise SystemExit(f"unknown condition {condition!r}: 'quiet' or a number of burners") from None


def instr_trial(a: Path, b: Path, seed: int, args) -> dict:
    from campaign.measure.callgrind import instructions_per_run

    target = load(a)
    t0 = time.perf_counter()
    ia = instructions_per_run(target, "fast", a)["per_run"]
    ib = instructions_per_run(target, "fast", b)["per_run"]
    secs = time.perf_counter() - t0
    ratio = ia / ib
    verdict = "faster" if ratio >= 1.02 else "slower" if ratio <= 1 / 1.02 else "same"
    return {"verdict": verdict, "speedup": ratio, "seconds": secs}


TOOLS["instructions"] = (instr_trial, lambda: None)


QUICK = {"aa": 1, "ab": 1, "effects": "0.05,0.10", "budget": 20.0, "hyperfine_runs": 10, "pyperf_fast": True}


def plan_trials(args) -> list[tuple[str, str, float, int]]:
    """(condition, tool, effect, seed), conditions in blocks (burners run per condition), tools round-robin."""
    effects = [float(e) for e in args.effects.split(",") if e]
    plan = []
    for condition in args.conditions.split(","):
        for i in range(max(args.aa, args.ab, args.instr)):
            for effect in [0.0] * (i < args.aa) + [e for e in effects if i < args.ab]:
                for tool in args.tools.split(","):
                    plan.append((condition, tool, effect, 1000 + i))
            if i < args.instr:
                plan += [(condition, "instructions", e, i) for e in [0.0] + effects]
    return plan


def cmd_run(args) -> int:
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    plan = plan_trials(args)
    skip = {tool: why for tool in args.tools.split(",") if tool in TOOLS and (why := TOOLS[tool][1]())}
    for tool, why in skip.items():
        print(f"skipping {tool}: {why}", flush=True)
    plan = [p for p in plan if p[1] not in skip]
    out = Path(args.out)
    print(f"{len(plan)} trials -> {out}", flush=True)
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                            text=True).stdout.strip()
    burners: list[subprocess.Popen] = []
    current = None
    try:
        for k, (condition, tool, effect, seed) in enumerate(plan, 1):
            if condition != current:
                stop_burners(burners)
                burners = start_burners(burners_of(condition), seed)
                current = condition
                time.sleep(1.0 if burners else 0.0)
            trial = TOOLS[tool][0]
            rec = {"condition": condition, "metric": tool, "effect": effect, "seed": seed, "commit": commit,
                   "load_before": os.getloadavg()[0]}
            try:
                with tempfile.TemporaryDirectory(prefix="bq-") as tmp:
                    a = make_variant(Path(tmp), "a", 1.0, args.n)
                    b = make_variant(Path(tmp), "b", 1.0 + effect, args.n)
                    rec.update(trial(a, b, seed, args))
            except Exception as exc:  # noqa: BLE001 - a failed trial is recorded, not fatal
                rec["error"] = str(exc)[:500]
            rec["load_after"] = os.getloadavg()[0]
            with out.open("a") as fh:
                fh.write(json.dumps(rec) + "\n")
            print(f"[{k}/{len(plan)}] {condition:<6} {tool:<10} effect={effect:.0%} -> "
                  f"{rec.get('verdict', rec.get('error'))} in {rec.get('seconds', 0):.1f} s "
                  f"(load {rec['load_after']:.1f})", flush=True)
    finally:
        stop_burners(burners)
    return 0

def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a proportion k/n (honest at small n and at 0 or n)."""
    if n == 0:
        return (math.nan, math.nan)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def _median(values: list[float]) -> float | None:
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    n = len(values)
    return values[n // 2] if n % 2 else (values[n // 2 - 1] + values[n // 2]) / 2


def summarize(records: list[dict]) -> list[dict]:
    groups = defaultdict(list)
    for r in records:
        if "error" not in r:
            groups[(r.get("condition", "quiet"), r["metric"], r["effect"])].append(r)
    rows = []
    for (condition, metric, effect), recs in sorted(groups.items()):
        n = len(recs)
        verdicts = defaultdict(int)
        for r in recs:
            verdicts[r["verdict"]] += 1
        row = {"condition": condition, "metric": metric, "effect": effect, "trials": n, "verdicts": dict(verdicts),
               "median_s": _median([r["seconds"] for r in recs]),
               "load": _median([r.get("load_after") for r in recs])}
        hits = verdicts["faster"] + verdicts["slower"] if effect == 0 else verdicts["slower"]
        row["rate"] = hits / n
        row["rate_ci95"] = wilson(hits, n)
        row["wrong_direction"] = 0 if effect == 0 else verdicts["faster"] / n
        if metric == "campaign":
            row["median_blocks"] = _median([r["blocks"] for r in recs])
            row["median_run_noise"] = _median([r.get("run_noise") for r in recs])
        rows.append(row)
    return rows


def compact(rows: list[dict]) -> list[dict]:
    """One row per condition and tool: A/A false and same, detection per effect, median seconds (pure)."""
    out: dict[tuple[str, str], dict] = {}
    for r in rows:
        row = out.setdefault((r["condition"], r["metric"]), {"condition": r["condition"], "tool": r["metric"],
                                                             "cells": {}, "seconds": [], "loads": []})
        n, v = r["trials"], r["verdicts"]
        if r["effect"] == 0:
            row["cells"]["aa_false"] = (v.get("faster", 0) + v.get("slower", 0), n)
            row["cells"]["aa_same"] = (v.get("same", 0), n)
        else:
            row["cells"][f"{r['effect']:.0%}"] = (v.get("slower", 0), n)
        row["seconds"].append((r["median_s"], n))
        row["loads"].append(r["load"])
    for row in out.values():
        row["median_load"] = _median(row.pop("loads"))
    order = {"quiet": -1}
    return sorted(out.values(), key=lambda r: (order.get(r["condition"], burners_of(r["condition"])), r["tool"]))


def _cell(kn: tuple[int, int] | None) -> str:
    if not kn:
        return "-"
    k, n = kn
    lo, hi = wilson(k, n)
    return f"{k}/{n} ({lo:.0%}-{hi:.0%})"


def print_compact(rows: list[dict], effects: list[str]) -> None:
    print("| condition (median load) | tool | A/A: false verdicts | A/A: `same` | "
          + " | ".join(f"{e} slower detected" for e in effects) + " | median s per decision |")
    print("|---|---|---|---|" + "---|" * len(effects) + "---|")
    for r in compact(rows):
        cond = "quiet" if r["condition"] == "quiet" else f"{r['condition']} bursty burners"
        load = f" ({r['median_load']:.1f})" if r["median_load"] is not None else ""
        secs = ", ".join(f"{s:.0f}" for s, _ in r["seconds"])
        same = _cell(r["cells"].get("aa_same")) if r["tool"] == "campaign" else "n/a"
        print(f"| {cond}{load} | {r['tool']} | {_cell(r['cells'].get('aa_false'))} | {same} | "
              + " | ".join(_cell(r["cells"].get(e)) for e in effects) + f" | {secs} |")


def cmd_report(args) -> int:
    records = []
    for path in args.results:
        records += [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    errors = [r for r in records if "error" in r]
    rows = summarize(records)
    if args.json:
        print(json.dumps({"rows": rows, "compact": compact(rows), "errors": len(errors)}, indent=2))
        return 0
    if args.compact:
        effects = sorted({f"{r['effect']:.0%}" for r in rows if r["effect"]}, key=lambda e: float(e[:-1]))
        print_compact(rows, effects)
        print("\nEach cell: trials with that verdict / trials (95% Wilson interval). Median seconds: A/A first,"
              " then each slowdown.")
        if errors:
            print(f"{len(errors)} trials failed, e.g.: {errors[0]['error'][:200]}")
        return 0
    print("| condition | tool | injected slowdown | N | faster / slower / same / inconclusive | "
          "A/A: false verdicts; A/B: detected (95% CI, Wilson) | median s per decision | median blocks | "
          "run noise (sd) | median load |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        v = r["verdicts"]
        counts = f"{v.get('faster', 0)} / {v.get('slower', 0)} / {v.get('same', 0)} / {v.get('inconclusive', 0)}"
        lo, hi = r["rate_ci95"]
        what = "false" if r["effect"] == 0 else "detected"
        rate = f"{r['rate']:.0%} {what} ({lo:.0%}-{hi:.0%})" + (
            f", {r['wrong_direction']:.0%} wrong way" if r["wrong_direction"] else "")
        effect = "none (A/A)" if r["effect"] == 0 else f"{r['effect']:.0%}"
        blocks = r.get("median_blocks", "-")
        noise = f"{r['median_run_noise']:.1%}" if r.get("median_run_noise") is not None else "-"
        load = f"{r['load']:.1f}" if r.get("load") is not None else "-"
        print(f"| {r['condition']} | {r['metric']} | {effect} | {r['trials']} | {counts} | {rate} | "
              f"{r['median_s']:.1f} | {blocks} | {noise} | {load} |")
    if errors:
        print(f"\n{len(errors)} trials failed, e.g.: {errors[0]['error'][:200]}")
    return 0


def journal_phases(ws: Path) -> dict:
    """Where a demo's time went, from its journal: the seconds up to each event, summed by the event's type
    (the step it ends), and each benchmark's seconds and blocks. Empty where no journal was written."""
    from datetime import datetime

    paths = sorted(ws.glob(".git/campaign/*/journal.jsonl"))
    if not paths:
        return {}
    by_type: dict[str, float] = {}
    benches = []
    prev = None
    for line in paths[0].read_text().splitlines():
        ev = json.loads(line)
        ts = datetime.fromisoformat(ev["ts"]).timestamp()
        gap = 0.0 if prev is None else ts - prev
        prev = ts
        by_type[ev["type"]] = by_type.get(ev["type"], 0.0) + gap
        if ev["type"] == "benchmark":
            data = ev.get("data") or {}
            benches.append({"iteration": ev.get("iteration"), "seconds": round(gap, 1), "blocks": data.get("blocks"),
                            "verdict": data.get("verdict"), "stop_reason": data.get("stop_reason")})
    return {"phases_s": {k: round(v, 1) for k, v in sorted(by_type.items(), key=lambda kv: -kv[1])},
            "benchmarks": benches}


def cmd_demo(args) -> int:
    """``campaign demo`` under N bursty burners: which iterations were kept, and the wall time."""
    burners = start_burners(args.burners, args.seed)
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    phases: dict = {}
    try:
        with tempfile.TemporaryDirectory(prefix="bq-demo-") as tmp:
            ws = Path(args.keep) if args.keep else Path(tmp) / "ws"
            proc = subprocess.run([sys.executable, "-m", "campaign", "demo", "--workdir", str(ws),
                                   "--json"], capture_output=True, text=True, timeout=args.timeout)
            phases = journal_phases(ws)
    finally:
        stop_burners(burners)
    secs = time.perf_counter() - t0
    rec = {"metric": "demo", "burners": args.burners, "seconds": secs, "load_before": load_before,
           "load_after": os.getloadavg()[0], "rc": proc.returncode, **phases}
    try:
        text = proc.stdout.strip()
        result = json.loads(text[text.index("{"):])  # progress lines go to stderr; the result is one JSON object
        rows = result.get("iterations") or result.get("history") or []
        rec["keys"] = sorted(result)
        rec["kept"] = [r.get("title") for r in rows if r.get("kept")]
        rec["verdicts"] = [r.get("verdict") for r in rows]
        rec["final_speedup"] = result.get("final_speedup") or result.get("cumulative_speedup")
    except (ValueError, IndexError, AttributeError):
        rec["error"] = (proc.stderr or proc.stdout)[-500:]
    with Path(args.out).open("a") as fh:
        fh.write(json.dumps(rec) + "\n")
    print(json.dumps(rec, indent=2))
    return 0 if proc.returncode == 0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run trials, appending one JSON line per trial")
    run.add_argument("--quick", action="store_true",
                     help=f"a reduced study that still fills every row (overrides: {QUICK})")
    run.add_argument("--conditions", default="quiet,2,6", help="'quiet' and/or numbers of bursty burners")
    run.add_argument("--tools", default="campaign,pyperf,hyperfine")
    run.add_argument("--aa", type=int, default=100, help="A/A trials per condition and tool")
    run.add_argument("--ab", type=int, default=40, help="A/B trials per effect size, condition and tool")
    run.add_argument("--instr", type=int, default=0, help="instruction-count trials per condition (slow: valgrind)")
    run.add_argument("--effects", default="0.03,0.05,0.10", help="injected slowdowns, comma-separated fractions")
    run.add_argument("--n", type=int, default=300_000, help="loop iterations per call (~25-35 ms)")
    run.add_argument("--max-blocks", type=int, default=None, help="default: the campaign default")
    run.add_argument("--budget", type=float, default=60.0, help="seconds per campaign decision")
    run.add_argument("--extend", type=float, default=0.0,
                     help="seconds past the budget for a promising candidate (campaign's default: half the budget; "
                          "0 here, so that a decision takes at most --budget)")
    run.add_argument("--hyperfine-runs", type=int, default=30)
    run.add_argument("--pyperf-fast", action="store_true", help="pyperf --fast (fewer worker processes)")
    run.add_argument("--out", default="bench_quality.jsonl")
    run.set_defaults(func=cmd_run)
    demo = sub.add_parser("demo", help="run `campaign demo` under N bursty burners; kept iterations and wall time")
    demo.add_argument("--burners", type=int, default=6)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--timeout", type=float, default=3600)
    demo.add_argument("--keep", metavar="DIR", help="run the demo in DIR and keep it (default: a temporary folder)")
    demo.add_argument("--out", default="bench_quality_demo.jsonl")
    demo.set_defaults(func=cmd_demo)
    rep = sub.add_parser("report", help="print the markdown table of a results file")
    rep.add_argument("results", nargs="+", help="one or more results files (records are pooled)")
    rep.add_argument("--json", action="store_true")
    rep.add_argument("--compact", action="store_true", help="one row per condition and tool (the README's table)")
    rep.set_defaults(func=cmd_report)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
