"""Fresh-process runner for Python targets (the workload protocol's producer).

    python -m campaign.measure.worker SPEC CASE [--repeat K] [--knobs JSON] [--seed S]

Runs the case once cold (the first call: imports, JIT compilation) and then
``K`` times warm, and prints one JSON line with outputs, each phase's fastest
time over the warm runs, every warm wall time, the first-call time and the JIT compile time when
the target can read it, every warm run's CPU time (``warm_cpu_s``, and the first call's, ``first_call_cpu_s``: this process's, all
its threads) and the times it gave up the CPU to wait (``warm_waits``: voluntary
context switches, which a sleep or blocking I/O causes and a busy machine's
preemption does not); ``campaign.measure.metric`` decides from them whether CPU or
wall time decides the benchmark. The workspace (the current directory) comes first on
``sys.path`` so that its copy of the code under optimization is imported. With
``--seed`` every call is ``target.run_heldout(case, workdir, seed, knobs)``: the
case on held-out inputs (``campaign.measure.heldout``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from resource import RUSAGE_SELF, getrusage
from time import perf_counter, process_time  # bound before the target's code loads: rebinding time.* cannot reach them


def _jsonable(value):
    """Outputs must survive JSON: numpy scalars/arrays become Python numbers/lists."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


def run(spec: str, case: str, repeat: int, knobs: dict | None, seed: int | None = None) -> dict:
    from campaign.plugins import phases
    from campaign.plugins.loading import load_target

    workdir = Path.cwd()
    sys.path.insert(0, str(workdir))
    target = load_target(spec, workdir)
    if seed is None:
        def call():
            return target.run_case(case, workdir, knobs)
    else:
        def call():
            return target.run_heldout(case, workdir, seed, knobs)

    phases.reset()
    c0, t0 = process_time(), perf_counter()
    outputs = call()
    first_call, first_cpu = perf_counter() - t0, process_time() - c0
    compile_s = target.compile_seconds()
    phase_times = phases.collect()

    warm, warm_cpu, warm_waits = [], [], []
    fastest_phases: dict[str, float] = {}
    for _ in range(repeat):
        phases.reset()
        v0 = getrusage(RUSAGE_SELF).ru_nvcsw
        c0, t0 = process_time(), perf_counter()
        outputs = call()
        t1, c1 = perf_counter(), process_time()
        warm.append(t1 - t0)
        warm_cpu.append(c1 - c0)
        warm_waits.append(getrusage(RUSAGE_SELF).ru_nvcsw - v0)
        for name, seconds in phases.collect().items():  # interference only adds time: keep each phase's fastest
            fastest_phases[name] = min(seconds, fastest_phases.get(name, seconds))
    if fastest_phases:
        phase_times = fastest_phases
    return {
        "outputs": _jsonable(outputs),
        "phases": phase_times,
        "warm_s": warm,
        "warm_cpu_s": warm_cpu,
        "warm_waits": warm_waits,
        "first_call_s": first_call,
        "first_call_cpu_s": first_cpu,  # held-out speed on a busy machine (campaign.measure.heldout)
        "compile_s": compile_s,
        "pid": os.getpid(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m campaign.measure.worker")
    parser.add_argument("spec")
    parser.add_argument("case")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--knobs", default=None)
    parser.add_argument("--seed", type=int, default=None, help="run the case on held-out inputs drawn from SEED")
    args = parser.parse_args(argv)
    knobs = json.loads(args.knobs) if args.knobs else None
    try:
        result = run(args.spec, args.case, max(0, args.repeat), knobs, args.seed)
    except Exception as exc:  # reported to the parent as data, not a traceback
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        import traceback

        traceback.print_exc(file=sys.stderr)
        return 1
    print(json.dumps(result, allow_nan=True, default=lambda o: None if isinstance(o, float) and math.isnan(o) else str(o)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
