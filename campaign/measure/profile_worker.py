"""Fresh-process profiler for Python targets (PROFILE's producer).

    python -m campaign.measure.profile_worker SPEC CASE [--lines module:qualname ...] [--knobs JSON] [--top N]

In the workspace (the current directory, first on ``sys.path``): one cold
call (imports, JIT - discarded), one clean warm run (phase times and total,
no profiler attached), one warm run under cProfile (top functions keyed by
file, line and function) and, when functions are named, one warm run under
line_profiler. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import linecache
import os
import sys
import time
from pathlib import Path

from campaign.measure.profile_noise import is_noise
from campaign.measure.profile_region import code_keys, resolve_function

SKIP_FILES = ("cProfile.py", "profile_worker.py", "<frozen", "line_profiler")


def _rel(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root))
    except (ValueError, OSError):
        return path


def top_functions(profiler, root: Path, n: int) -> list[dict]:
    import pstats

    st = pstats.Stats(profiler)
    rows = []
    for (filename, line, func), (cc, nc, tt, ct, _callers) in st.stats.items():
        if is_noise(filename, func, not os.path.isabs(_rel(filename, root))) or any(s in filename for s in SKIP_FILES) or func in ("<method 'disable' of '_lsprof.Profiler' objects>",):
            continue
        rows.append({"file": _rel(filename, root), "line": line, "function": func, "ncalls": nc,
                     "primitive_calls": cc, "tottime": tt, "cumtime": ct})
    rows.sort(key=lambda r: r["tottime"], reverse=True)
    return rows[:n]


def line_profile(specs: list[str], run, root: Path) -> tuple[dict, dict]:
    """Per-line hits and time of the named functions during one ``run()``; (lines, errors)."""
    from line_profiler import LineProfiler

    lp = LineProfiler()
    errors: dict[str, str] = {}
    added = []
    for spec in specs:
        try:
            func = resolve_function(spec)
        except Exception as exc:  # noqa: BLE001 - reported per function
            errors[spec] = f"cannot resolve: {type(exc).__name__}: {exc}"
            continue
        if hasattr(func, "py_func") and not hasattr(func, "__code__"):
            errors[spec] = "compiled by numba: its Python source does not run, so it cannot be line-profiled"
            continue
        inner = getattr(func, "__func__", func)
        if not hasattr(inner, "__code__"):
            errors[spec] = f"not a Python function ({type(func).__name__})"
            continue
        lp.add_function(inner)
        added.append((spec, inner))
    if not added:
        return {}, errors
    lp.enable_by_count()
    try:
        run()
    finally:
        lp.disable_by_count()
    stats = lp.get_stats()
    lines: dict[str, list] = {}
    by_code = {key: spec for spec, fn in added for key in code_keys(fn)}
    for key, timings in stats.timings.items():
        spec = by_code.get(key)
        if spec is None:
            continue
        filename = key[0]
        lines[spec] = [
            {"line": lineno, "hits": hits, "time_s": t * stats.unit, "source": linecache.getline(filename, lineno).rstrip()}
            for lineno, hits, t in sorted(timings)
        ]
    for spec, _ in added:
        if spec not in lines:
            lines[spec] = []
            errors.setdefault(spec, "no line was executed during the profiled run")
    return lines, errors


def run(spec: str, case: str, line_specs: list[str], knobs: dict | None, top: int) -> dict:
    import cProfile

    from campaign.plugins import phases
    from campaign.plugins.loading import load_target

    root = Path.cwd().resolve()
    sys.path.insert(0, str(root))
    target = load_target(spec, root)

    def call():
        return target.run_case(case, root, knobs)

    t0 = time.perf_counter()
    call()  # cold: imports, JIT
    first_call = time.perf_counter() - t0
    compile_s = target.compile_seconds()

    phases.reset()
    t0 = time.perf_counter()
    call()
    total = time.perf_counter() - t0
    phase_times = phases.collect()

    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    profiler.enable()
    try:
        call()
    finally:
        profiler.disable()
    profiled_total = time.perf_counter() - t0

    lines, errors = line_profile(line_specs, call, root) if line_specs else ({}, {})
    return {
        "phases": phase_times,
        "total_s": total,
        "first_call_s": first_call,
        "compile_s": compile_s,
        "top_functions": top_functions(profiler, root, top),
        "cprofile_total_s": profiled_total,
        "lines": lines,
        "line_errors": errors,
        "pid": os.getpid(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m campaign.measure.profile_worker")
    parser.add_argument("spec")
    parser.add_argument("case")
    parser.add_argument("--lines", nargs="*", default=[])
    parser.add_argument("--knobs", default=None)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args(argv)
    try:
        result = run(args.spec, args.case, args.lines, json.loads(args.knobs) if args.knobs else None, args.top)
    except Exception as exc:  # reported to the parent as data
        import traceback

        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
