#!/usr/bin/env python
"""How good is the BENCHMARK step? A/A and A/B trials with known injected slowdowns.

    python scripts/bench_quality.py run --aa 100 --ab 40 --instr 5 --out bq.jsonl
    python scripts/bench_quality.py report bq.jsonl        # markdown table

A trial builds fresh variant directories holding a tiny CPU-bound Python
target (~30 ms per call). A/A: two copies of identical code. A/B: the
candidate does ``1 + effect`` times the work (a known slowdown of 3%, 5%,
10%). Wall-time trials run ``campaign.measure.bench.benchmark`` exactly as a campaign
does; instruction trials count one warm run of each variant under callgrind
(``campaign.measure.callgrind``). Every trial appends one JSON line to ``--out`` as
soon as it ends, so a long run can be reported while it is still going.
Conditions are interleaved round-robin so partial results cover all of them.
"""

from __future__ import annotations

import argparse
import json
import math
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


def wall_trial(effect: float, seed: int, n: int, max_blocks: int, budget_s: float) -> dict:
    from campaign.measure.bench import benchmark

    with tempfile.TemporaryDirectory(prefix="bq-") as tmp:
        a = make_variant(Path(tmp), "a", 1.0, n)
        b = make_variant(Path(tmp), "b", 1.0 + effect, n)
        target = load(a)
        t0 = time.perf_counter()
        res = benchmark(target, "fast", {"reference": a, "candidate": b}, "candidate",
                        max_blocks=max_blocks, budget_s=budget_s, seed=seed)["reference"]
        secs = time.perf_counter() - t0
    return {"metric": "wall", "effect": effect, "seed": seed, "verdict": res.verdict, "speedup": res.speedup,
            "ci": list(res.ci), "blocks": res.blocks, "seconds": secs, "noise_floor": res.noise_floor,
            "min_effect": res.min_effect, "repeat": res.repeat, "load": res.environment.get("load_avg")}


def instr_trial(effect: float, seed: int, n: int) -> dict:
    from campaign.measure.callgrind import instructions_per_run

    with tempfile.TemporaryDirectory(prefix="bq-") as tmp:
        a = make_variant(Path(tmp), "a", 1.0, n)
        b = make_variant(Path(tmp), "b", 1.0 + effect, n)
        target = load(a)
        t0 = time.perf_counter()
        ia = instructions_per_run(target, "fast", a)["per_run"]
        ib = instructions_per_run(target, "fast", b)["per_run"]
        secs = time.perf_counter() - t0
    ratio = ia / ib
    verdict = "faster" if ratio >= 1.02 else "slower" if ratio <= 1 / 1.02 else "same"
    return {"metric": "instructions", "effect": effect, "seed": seed, "verdict": verdict, "speedup": ratio,
            "seconds": secs}


def cmd_run(args) -> int:
    effects = [float(e) for e in args.effects.split(",") if e]
    plan = []
    rounds = max(args.aa, args.ab, args.instr)
    for i in range(rounds):
        if i < args.aa:
            plan.append(("wall", 0.0, i))
        for e in effects:
            if i < args.ab:
                plan.append(("wall", e, i))
        if i < args.instr:
            plan.append(("instructions", 0.0, i))
            plan.extend(("instructions", e, i) for e in effects)
    out = Path(args.out)
    print(f"{len(plan)} trials -> {out}", flush=True)
    for k, (metric, effect, seed) in enumerate(plan, 1):
        try:
            if metric == "wall":
                rec = wall_trial(effect, 1000 + seed, args.n, args.max_blocks, args.budget)
            else:
                rec = instr_trial(effect, seed, args.n)
        except Exception as exc:  # noqa: BLE001 - a failed trial is recorded, not fatal
            rec = {"metric": metric, "effect": effect, "seed": seed, "error": str(exc)[:500]}
        with out.open("a") as fh:
            fh.write(json.dumps(rec) + "\n")
        print(f"[{k}/{len(plan)}] {metric} effect={effect:.0%} -> {rec.get('verdict', rec.get('error'))} "
              f"{rec.get('speedup', float('nan')):.3f} in {rec.get('seconds', 0):.1f} s", flush=True)
    return 0


def summarize(records: list[dict]) -> list[dict]:
    groups = defaultdict(list)
    for r in records:
        if "error" not in r:
            groups[(r["metric"], r["effect"])].append(r)
    rows = []
    for (metric, effect), recs in sorted(groups.items()):
        n = len(recs)
        verdicts = defaultdict(int)
        for r in recs:
            verdicts[r["verdict"]] += 1
        secs = sorted(r["seconds"] for r in recs)
        row = {"metric": metric, "effect": effect, "trials": n, "verdicts": dict(verdicts),
               "median_s": secs[n // 2] if n % 2 else (secs[n // 2 - 1] + secs[n // 2]) / 2}
        if effect == 0:
            row["false_rate"] = (verdicts["faster"] + verdicts["slower"]) / n
        else:
            row["detected"] = verdicts["slower"] / n
            row["wrong_direction"] = verdicts["faster"] / n
        if metric.startswith("wall"):
            row["median_blocks"] = sorted(r["blocks"] for r in recs)[n // 2]
            row["median_noise_floor"] = sorted(r["noise_floor"] for r in recs)[n // 2]
        rows.append(row)
    return rows


def policy_records(records: list[dict]) -> list[dict]:
    """Wall trials re-read under the instruction policy (campaign.measure.bench._apply_instructions).

    Instruction counts are deterministic, so each effect's measured instruction
    ratio (median over its instruction trials) stands for every wall trial of
    that effect.
    """
    from statistics import median

    from campaign.measure import stats
    from campaign.measure.bench import _apply_instructions

    ratio, secs = defaultdict(list), defaultdict(list)
    for r in records:
        if r["metric"] == "instructions" and "error" not in r:
            ratio[r["effect"]].append(r["speedup"])
            secs[r["effect"]].append(r["seconds"])
    out = []
    for r in records:
        if r["metric"] != "wall" or "error" in r or not ratio.get(r["effect"]):
            continue
        d = stats.Decision(r["verdict"], r["speedup"], tuple(r["ci"]), 0.95, r["min_effect"], r["blocks"])
        verdict, metric, _ = _apply_instructions(d, {"ratio": median(ratio[r["effect"]])})
        # the decision costs the wall-time benchmark plus the two callgrind counts
        out.append({**r, "metric": "wall + instructions (policy)", "verdict": verdict,
                    "seconds": r["seconds"] + median(secs[r["effect"]])})
    return out


def cmd_report(args) -> int:
    records = []
    for path in args.results:
        records += [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    errors = sum(1 for r in records if "error" in r)
    rows = summarize(records + policy_records(records))
    if args.json:
        print(json.dumps({"rows": rows, "errors": errors}, indent=2))
        return 0
    print("| metric | injected slowdown | trials | faster / slower / same / inconclusive | "
          "false verdicts (A/A) or detected (A/B) | median s per decision | median blocks | median noise floor |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        v = r["verdicts"]
        counts = f"{v.get('faster', 0)} / {v.get('slower', 0)} / {v.get('same', 0)} / {v.get('inconclusive', 0)}"
        rate = (f"{r['false_rate']:.1%} false" if r["effect"] == 0 else f"{r['detected']:.0%} detected"
                + (f", {r['wrong_direction']:.0%} wrong way" if r["wrong_direction"] else ""))
        blocks = r.get("median_blocks", "-")
        noise = f"{r['median_noise_floor']:.1%}" if "median_noise_floor" in r else "-"
        effect = "none (A/A)" if r["effect"] == 0 else f"{r['effect']:.0%}"
        print(f"| {r['metric']} | {effect} | {r['trials']} | {counts} | {rate} | {r['median_s']:.1f} | {blocks} | {noise} |")
    if errors:
        print(f"\n{errors} trials failed (see the error field in {', '.join(args.results)}).")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run trials, appending one JSON line per trial")
    run.add_argument("--aa", type=int, default=100, help="A/A wall-time trials")
    run.add_argument("--ab", type=int, default=40, help="A/B wall-time trials per effect size")
    run.add_argument("--instr", type=int, default=5, help="instruction-count trials per condition (slow: valgrind)")
    run.add_argument("--effects", default="0.03,0.05,0.10", help="injected slowdowns, comma-separated fractions")
    run.add_argument("--n", type=int, default=300_000, help="loop iterations per call (~25-35 ms)")
    run.add_argument("--max-blocks", type=int, default=30)
    run.add_argument("--budget", type=float, default=60.0, help="seconds per decision")
    run.add_argument("--out", default="bench_quality.jsonl")
    run.set_defaults(func=cmd_run)
    rep = sub.add_parser("report", help="print the markdown table of a results file")
    rep.add_argument("results", nargs="+", help="one or more results files (records are pooled)")
    rep.add_argument("--json", action="store_true")
    rep.set_defaults(func=cmd_report)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
