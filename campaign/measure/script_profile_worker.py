"""Runs one Python script or module under cProfile or line_profiler (PROFILE of ``campaign.toml`` targets).

    python -m campaign.measure.script_profile_worker --out FILE [--lines module:qualname ...] [--top N]
        (--script PATH | --module NAME) -- ARGS...

The program runs as ``__main__`` with the ``sys.argv`` it would have had, so
its stdout (the workload JSON) is unchanged. Without ``--lines`` it runs
under cProfile and FILE receives the top functions by self time; with
``--lines`` it runs under line_profiler alone (so neither profiler inflates
the other's times) and FILE receives the named functions' per-line times.
Programs in ``REGION_PROGRAMS`` are profiled only inside their
``campaign.measure.profile_region`` regions (a pytest session's start-up is
not the workload). Imports only the standard library (and line_profiler when asked, and
``campaign.measure.profile_region``, standard library only itself), because
it runs under the target's own interpreter, which may lack campaign's
dependencies.
"""

from __future__ import annotations

import argparse
import json
import linecache
import os
import runpy
import sys

from campaign.measure.profile_noise import is_noise
from campaign.measure.profile_region import code_keys, resolve_function

# programs that mark their measured calls with campaign.measure.profile_region: only those are profiled
REGION_PROGRAMS = {"campaign.measure.pytest_bench_worker"}
SKIP_FILES = ("profile_region.py", "pytest_bench_worker.py", "cProfile.py", "script_profile_worker.py", "runpy.py", "<frozen", "line_profiler")


def _rel(path: str, root: str) -> str:
    try:
        rel = os.path.relpath(os.path.realpath(path), root)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _run_program(kind: str, what: str, args: list[str]) -> int:
    sys.argv = [what, *args]
    try:
        if kind == "script":
            runpy.run_path(what, run_name="__main__")
        else:
            runpy.run_module(what, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    return 0


def _top_functions(profiler, root: str, n: int) -> list[dict]:
    import pstats

    rows = []
    for (filename, line, func), (cc, nc, tt, ct, _callers) in pstats.Stats(profiler).stats.items():
        if is_noise(filename, func, not os.path.isabs(_rel(filename, root))) or any(s in filename for s in SKIP_FILES) or "_lsprof.Profiler" in func:
            continue
        rows.append({"file": _rel(filename, root), "line": line, "function": func, "ncalls": nc,
                     "primitive_calls": cc, "tottime": tt, "cumtime": ct})
    rows.sort(key=lambda r: r["tottime"], reverse=True)
    return rows[:n]


def _profiled(start, stop, kind: str, what: str, args: list[str]) -> int:
    """Run the program with the profiler on: throughout, or only in its marked regions."""
    if kind == "module" and what in REGION_PROGRAMS:
        from campaign.measure import profile_region

        profile_region.install(start, stop)
        return _run_program(kind, what, args)
    start()
    try:
        return _run_program(kind, what, args)
    finally:
        stop()


def _line_profile(specs: list[str], kind: str, what: str, args: list[str]) -> tuple[int, dict, dict]:
    errors: dict[str, str] = {}
    try:
        from line_profiler import LineProfiler
    except ImportError:
        why = f"line_profiler is not installed for {sys.executable}"
        return _run_program(kind, what, args), {}, {s: why for s in specs}
    lp, added = LineProfiler(), []
    for spec in specs:
        try:
            func = resolve_function(spec)
        except Exception as exc:  # noqa: BLE001 - reported per function
            errors[spec] = f"cannot resolve: {type(exc).__name__}: {exc}"
            continue
        if not hasattr(func, "__code__"):
            errors[spec] = f"not a Python function ({type(func).__name__})"
            continue
        lp.add_function(func)
        added.append((spec, func))
    rc = _profiled(lp.enable_by_count, lp.disable_by_count, kind, what, args)
    stats = lp.get_stats()
    by_code = {key: s for s, f in added for key in code_keys(f)}
    lines: dict[str, list] = {}
    for key, timings in stats.timings.items():
        spec = by_code.get(key)
        if spec is not None and timings:
            lines[spec] = [{"line": ln, "hits": hits, "time_s": t * stats.unit,
                            "source": linecache.getline(key[0], ln).rstrip()} for ln, hits, t in sorted(timings)]
    for spec, _ in added:
        if spec not in lines:
            lines[spec] = []
            errors.setdefault(spec, "no line was executed during the profiled run")
    return rc, lines, errors


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m campaign.measure.script_profile_worker")
    parser.add_argument("--out", required=True)
    parser.add_argument("--lines", nargs="*", default=[])
    parser.add_argument("--top", type=int, default=25)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--script")
    group.add_argument("--module")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    opts = parser.parse_args(argv)
    args = opts.args[1:] if opts.args[:1] == ["--"] else opts.args
    kind, what = ("script", opts.script) if opts.script else ("module", opts.module)
    root = os.path.realpath(os.getcwd())
    sys.path.insert(0, os.path.dirname(os.path.abspath(what)) if kind == "script" else root)
    if opts.lines:
        rc, lines, errors = _line_profile(opts.lines, kind, what, args)
        result = {"lines": lines, "line_errors": errors}
    else:
        import cProfile

        profiler = cProfile.Profile()
        rc = _profiled(profiler.enable, profiler.disable, kind, what, args)
        result = {"top_functions": _top_functions(profiler, root, opts.top)}
    result["rc"] = rc
    with open(opts.out, "w", encoding="utf-8") as fh:
        json.dump(result, fh, default=str)
    return rc


if __name__ == "__main__":
    sys.exit(main())
