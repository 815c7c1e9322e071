#!/usr/bin/env python
"""Benchmark the weight_search kernels (the drop-in API on the fastest exact stage).

    python scripts/bench_weight_search.py [--repeat 7] [--json] [--n-jobs 1]

Per workload: mode, warm wall time (median of repeats), first-call time (JIT already
compiled, compile time reported once, separately), combinations, ns/combination,
|error|, agreement with an exhaustive oracle, and a gradient baseline (AdamW on
(c.W - target)^2, plain NumPy).

Combinations = lines of the canonical enumeration the algorithm accounted for:
for an early-stopped cycle the lines up to and including the winner, for a full
cycle all 2**N - 1 lines (meet in the middle accounts for them with ~2**(N/2)
partial sums), for the sampled mode the 2**k - 1 lines over its k-parameter subset.
Oracle: the naive kernel for N <= 13; above, stage 05 (the numba odometer, a
different algorithm proven bit-identical to naive by the property tests) when the
lines to walk stay below ~2**31; "n/a" otherwise (sampled mode for N > 44).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

import targets.weight_search as ws  # noqa: E402
from targets.weight_search import naive, workloads  # noqa: E402

WORKLOADS = ["seq-3", "seq-10", "seq-15", "seq-20", "seq-30", "seq-50", "seq-100",
             "rand-16-0", "rand-20-0", "rand-24-0", "rand-30-0", "rand-40-0",
             "edge-single", "edge-dominant", "edge-negative", "edge-target0", "edge-unreachable"]
# the hard variants: full cycles, no early exit (the 2**N wall)
HARD = [("rand-20-0", 1), ("rand-24-0", 1), ("rand-30-0", 1), ("rand-40-0", 1), ("rand-22-4", 32)]


def adamw(c, target, tol, steps=20000, lr=0.05, wd=1e-4):
    c = np.asarray(c, float)
    scale = max(1.0, float(np.abs(c).max()))
    cn, tn = c / scale, target / scale
    w = np.zeros_like(cn)
    m = np.zeros_like(cn)
    v = np.zeros_like(cn)
    b1, b2, eps = 0.9, 0.999, 1e-8
    for t in range(1, steps + 1):
        r = cn @ w - tn
        if abs(r) * scale <= tol:
            break
        g = 2 * r * cn
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1 ** t) / (np.sqrt(v / (1 - b2 ** t)) + eps) + wd * w)
    return abs(float(c @ w) - target)


def timed(fn, repeat):
    t0 = time.perf_counter()
    out = fn()
    first = time.perf_counter() - t0
    warm = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        warm.append(time.perf_counter() - t0)
    return out, first, statistics.median(warm)


def oracle(kw, res_lines):
    n = len(kw["coefficients"])
    if n <= 13:
        return "naive", naive.search(**kw)
    odo = ws.load_stage("05_numba_odometer.py")
    if res_lines < 2 ** 31:
        # the odometer walks exactly the accounted lines; its N guard protects against
        # full cycles, which res_lines rules out here, so it is lifted for the oracle
        saved, odo.MAX_N = odo.MAX_N, 62
        try:
            return "stage05", odo.search(**kw)
        finally:
            odo.MAX_N = saved
    return None, None


def row(name, kw, api, repeat, label=None):
    res, first, warm = timed(lambda: api.search(kw["coefficients"], kw["target"], kw.get("tolerance"),
                                                kw.get("max_iter")), repeat)
    who, ref = (None, None)
    if res.mode == "exhaustive":
        who, ref = oracle(dict(kw, early_stopping=api.early_stopping), res.combinations)
    agree = "n/a" if ref is None else ("yes" if list(ref.W) == list(res.W) else "NO") + f" ({who})"
    t0 = time.perf_counter()
    g_err = adamw(kw["coefficients"], kw["target"], kw.get("tolerance", 0.0))
    g_t = time.perf_counter() - t0
    return {"workload": label or name, "N": len(kw["coefficients"]), "mode": res.mode,
            "warm_ms": warm * 1e3, "first_ms": first * 1e3, "cycles": res.cycles,
            "combinations": res.combinations, "ns_per_comb": warm * 1e9 / max(res.combinations, 1),
            "error": res.error, "converged": res.converged, "oracle_agrees": agree,
            "adamw_ms": g_t * 1e3, "adamw_error": g_err}


def stages(args):
    """Warm time of the naive kernel and every playbook stage on the target's fast/full cases."""
    import importlib.util
    import shutil
    import tempfile

    from campaign.plugins import phases
    from targets.weight_search.playbook import STAGE_FILES
    from targets.weight_search.target import WeightSearchTarget

    results = []
    base_out = {}
    for f in ["naive.py"] + STAGE_FILES:
        t = WeightSearchTarget()
        d = Path(tempfile.mkdtemp())
        shutil.copyfile(ws.HERE / ("naive.py" if f == "naive.py" else "stages/" + f), d / "kernel.py")
        entry = {"kernel": f}
        for case in ("fast", "full"):
            slow_python = case == "full" and f[:2] in ("na", "01", "02")
            t0 = time.perf_counter()
            c0 = time.process_time()
            out = t.run_case(case, d)
            first = time.perf_counter() - t0
            warm, cpu = [first], [time.process_time() - c0]
            if not slow_python:  # pure Python full runs take 10-50 s: the first run is the warm one
                warm, cpu = [], []
                for _ in range(args.repeat):
                    phases.reset()
                    t0 = time.perf_counter()
                    c0 = time.process_time()
                    out = t.run_case(case, d)
                    warm.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
            base = base_out.setdefault(case, out)
            entry[case] = {"warm_s": statistics.median(warm), "cpu_s": statistics.median(cpu), "first_s": first,
                           "phases": phases.collect(), "W_identical": out["W"] == base["W"],
                           "combinations": out["combinations"]}
        entry["compile_s"] = t.compile_seconds()
        results.append(entry)
        shutil.rmtree(d, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=1))
        return 0
    print(f"{'kernel':28s} {'fast warm s':>11s} {'fast cpu s':>10s} {'x naive':>8s} {'W same':>6s} "
          f"{'full warm s':>11s} {'full cpu s':>10s} {'x naive':>8s} {'W same':>6s} {'compile s':>9s} {'fast combos':>11s}")
    nf, nF = results[0]["fast"]["cpu_s"], results[0]["full"]["cpu_s"]
    for e in results:
        fa, fu = e["fast"], e["full"]
        print(f"{e['kernel']:28s} {fa['warm_s']:11.4f} {fa['cpu_s']:10.4f} {nf / fa['cpu_s']:8.1f} {str(fa['W_identical']):>6s} "
              f"{fu['warm_s']:11.4f} {fu['cpu_s']:10.4f} {nF / fu['cpu_s']:8.1f} {str(fu['W_identical']):>6s} "
              f"{(e['compile_s'] or 0):9.2f} {fa['combinations']:11d}")
    print("x naive = ratio of CPU time (process_time; robust to a loaded VM for single-threaded code)")
    return 0


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--n-jobs", type=int, default=1)
    ap.add_argument("--stages", action="store_true", help="time every playbook stage on the target's cases")
    args = ap.parse_args(argv)
    if args.stages:
        return stages(args)
    t0 = time.perf_counter()
    k = ws.kernel()
    api = ws.WeightCombinationSearch(parallel=args.n_jobs != 1, n_jobs=args.n_jobs)
    api.search([1.0, 2.0, 3.0], 4.0)
    cold = time.perf_counter() - t0
    rows = []
    for name in WORKLOADS:
        kw = workloads.kwargs(workloads.parse(name))
        rows.append(row(name, kw, api, args.repeat))
    hard_api = ws.WeightCombinationSearch(early_stopping=False, parallel=args.n_jobs != 1, n_jobs=args.n_jobs)
    for name, iters in HARD:
        kw = dict(workloads.kwargs(workloads.parse(name)), max_iter=iters)
        a = hard_api if iters == 1 else api
        rows.append(row(name, kw, a, max(1, args.repeat // 2),
                        label=f"{name} {'no-early-stop' if iters == 1 else 'non-converging'} x{iters}"))
    facts = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
             "processor": platform.processor() or platform.uname().machine, "numpy": np.__version__,
             "numba": getattr(sys.modules.get("numba"), "__version__", None),
             "jit_compile_s": k.compile_seconds(), "first_import_and_call_s": cold, "n_jobs": args.n_jobs}
    if args.json:
        print(json.dumps({"facts": facts, "rows": rows}, indent=1))
        return 0
    print("machine:", facts)
    hdr = f"{'workload':34s} {'N':>3s} {'mode':10s} {'warm ms':>9s} {'first ms':>9s} {'cyc':>3s} {'combinations':>15s} {'ns/comb':>9s} {'|error|':>10s} {'oracle':>15s} {'AdamW ms':>9s} {'AdamW |err|':>11s}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['workload']:34s} {r['N']:3d} {r['mode']:10s} {r['warm_ms']:9.3f} {r['first_ms']:9.3f} "
              f"{r['cycles']:3d} {r['combinations']:15d} {r['ns_per_comb']:9.3g} {r['error']:10.4g} "
              f"{r['oracle_agrees']:>15s} {r['adamw_ms']:9.2f} {r['adamw_error']:11.4g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
