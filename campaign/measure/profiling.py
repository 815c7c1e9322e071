"""PROFILE: where the time of one warm run goes, and what that allows (Amdahl).

``profile_workload`` returns the ``profile`` event's data (``campaign.loop.events``):
the phase times of one warm run, each phase's share of the whole warm run,
the Amdahl bound per phase (the best whole-run speedup obtainable by making
that phase alone infinitely fast), cProfile's top functions keyed by file,
line and function, and line_profiler's per-line times for named functions.

Phases may nest (``campaign.plugins.phases``), so shares are each relative to the
whole warm run and need not sum to 1. Python targets are profiled in a fresh
process (``python -m campaign.measure.profile_worker``); other targets report phase
times from one ordinary workload run; when a ``campaign.toml`` command runs
a Python script or module it is also run under cProfile and line_profiler
(``campaign.measure.script_profile``), otherwise the notes say why not.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Sequence

from campaign.measure.stats import amdahl_bound, amdahl_speedup  # noqa: F401 (re-exported)
from campaign.measure.workload import WorkloadError, _command_text, _tail, parse_workload_output, run_workload


def _commit_of(workdir: Path) -> str | None:
    try:
        import git

        return git.Repo(workdir, search_parent_directories=True).head.commit.hexsha
    except Exception:  # noqa: BLE001 - not a repository, or no commit yet
        return None


def shares_and_bounds(phases: dict[str, float], total_s: float) -> tuple[dict[str, float], dict[str, float]]:
    """Each phase's share of ``total_s`` (capped at 1) and its Amdahl bound."""
    shares, amdahl = {}, {}
    for name, secs in phases.items():
        share = min(max(secs / total_s, 0.0), 1.0) if total_s > 0 else 0.0
        shares[name] = share
        amdahl[name] = amdahl_bound(share)
    return shares, amdahl


def _python_profile(target, workdir: Path, case: str, lines: list[str], knobs, timeout_s) -> dict:
    from campaign.measure.procs import run_process

    cmd = [sys.executable, "-m", "campaign.measure.profile_worker", target.spec or target.name, case]
    if lines:
        cmd += ["--lines", *lines]
    if knobs:
        cmd += ["--knobs", json.dumps(knobs, sort_keys=True)]
    timeout = timeout_s if timeout_s is not None else 4 * getattr(target, "timeout_s", 600.0)
    from campaign.measure.import_check import measured

    with measured(target, workdir) as env:
        result = run_process(cmd, workdir, timeout, env=env)
    if result.timed_out or result.returncode != 0:
        why = f"timed out after {timeout:g} s" if result.timed_out else f"exited with code {result.returncode}"
        raise WorkloadError(
            f"profiling case {case!r} of target {target.name or target.spec!r} {why} (in {workdir}). "
            f"Last lines of stderr:\n{_tail(result.stderr) or '(empty)'}\nRun `{_command_text(cmd)}` in {workdir} "
            "to reproduce it."
        )
    lines_out = [ln for ln in result.stdout.splitlines() if ln.strip()]
    try:
        data = json.loads(lines_out[-1])
    except (IndexError, ValueError):
        raise WorkloadError(f"the profile worker printed no JSON in {workdir}; stderr:\n{_tail(result.stderr)}") from None
    parse_workload_output(json.dumps({"outputs": {}, "phases": data.get("phases", {})}))  # finite times
    return data


def _command_profile(target, workdir: Path, case: str, lines: list[str], knobs, timeout_s):
    """cProfile/line_profiler of a shell-command target when its command is a Python program; else why not."""
    from campaign.measure.python_command import python_program
    from campaign.measure.script_profile import profile_python_program

    cmd = target.workload_command(case, 1, knobs) if knobs else target.workload_command(case, 1)
    program, why_not = python_program(cmd)
    if program is None:
        notes = [f"no function or line profile: {why_not}; phase timings only (profile inside the target "
                 "with its own tools)"]
        if lines:
            notes.append("--lines/hot_functions need a Python workload command (`python script.py ...`)")
        return [], {}, notes, "phase timings only (not a Python program)"
    timeout = timeout_s if timeout_s is not None else getattr(target, "timeout_s", 600.0)
    try:
        data = profile_python_program(program, workdir, lines, 4 * timeout, target=target)
    except WorkloadError as exc:  # the plain run worked: keep its phases, say why there is no function profile
        first = str(exc).splitlines()[0]
        return [], {}, [f"no function or line profile: {first}"], "phase timings only (the profiled run failed)"
    notes = [f"{spec}: {why}" for spec, why in data["line_errors"].items()]
    method = ("Python workload command: phases from a clean run; cProfile on a further run"
              + ("; line_profiler on another" if lines else ""))
    return data["top_functions"], data["lines"], notes, method


def profile_workload(target, workdir: Path, case: str, lines: Sequence[str] = (), knobs=None, timeout_s=None) -> dict:
    """Profile one warm run of ``case`` in ``workdir``; the ``profile`` event data."""
    from campaign.plugins.target import PythonTarget

    workdir = Path(workdir)
    lines = list(lines) or list(getattr(target, "hot_functions", []) or [])
    if isinstance(target, PythonTarget):
        data = _python_profile(target, workdir, case, lines, knobs, timeout_s)
        phases = data["phases"]
        total = data["total_s"]
        method = "fresh process: cold call discarded; phases from a clean warm run; cProfile and line_profiler on further warm runs"
        notes = [f"{spec}: {why}" for spec, why in (data.get("line_errors") or {}).items()]
        top, line_data = data["top_functions"], data["lines"]
        cprofile_total = data.get("cprofile_total_s")
        first_call, compile_s = data.get("first_call_s"), data.get("compile_s")
    else:
        run = run_workload(target, case, workdir, repeat=1, knobs=knobs, timeout_s=timeout_s)
        phases, total = run.phases, run.time_s
        first_call, compile_s = run.first_call_s, run.compile_s
        top, line_data, notes, method = _command_profile(target, workdir, case, lines, knobs, timeout_s)
        cprofile_total = None
    runs = [(phases, total)] + [_phase_run(target, workdir, case, knobs, timeout_s) for _ in range(SHARE_RUNS - 1)]
    phases, total, spread = steady_shares(runs)
    shares, amdahl = shares_and_bounds(phases, total)
    notes += spread_notes(spread)
    unphased = total - sum(phases.values())
    if phases and sum(shares.values()) > 1.0 + 1e-6:
        notes.append("phases nest (their shares sum to more than 1): each share is relative to the whole warm run")
    elif phases and total > 0 and unphased / total > 0.05:
        notes.append(f"{unphased / total:.0%} of the warm run is outside every named phase")
    return {
        "commit": _commit_of(workdir),
        "case": case,
        "phases": phases,
        "shares": shares,
        "amdahl": {k: (v if math.isfinite(v) else None) for k, v in amdahl.items()},
        "total_s": total,
        "top_functions": top,
        "cprofile_total_s": cprofile_total,  # the profiled run's own time: a function's share (plan --function)
        "lines": line_data,
        "first_call_s": first_call,
        "compile_s": compile_s,
        "method": method,
        "notes": notes,
        "share_spread": spread,
    }


SHARE_RUNS = 3  # fresh runs whose phase shares are compared: one noisy run once put a phase at 64% (re-runs: 13%)
UNSTABLE_SPREAD = 0.10  # a share that moves more than this between runs is reported, not trusted


def _phase_run(target, workdir: Path, case: str, knobs, timeout_s) -> tuple[dict[str, float], float]:
    run = run_workload(target, case, workdir, repeat=1, knobs=knobs, timeout_s=timeout_s)
    return run.phases, run.time_s


def steady_shares(runs: list[tuple[dict[str, float], float]]) -> tuple[dict[str, float], float, dict[str, list]]:
    """The run whose total is the median (its phases and total), and each phase's share range over all runs. Pure.

    Interference only adds time, to one phase or another, so one run's shares
    can be far off; the median run is the representative, and the range says
    how far apart the runs were.
    """
    ranked = sorted(runs, key=lambda r: r[1])
    phases, total = ranked[len(ranked) // 2]
    spread: dict[str, list] = {}
    for name in phases:
        values = [p.get(name, 0.0) / t for p, t in runs if t > 0]
        spread[name] = [min(values), max(values)] if values else [None, None]
    return dict(phases), total, spread


def spread_notes(spread: dict[str, list]) -> list[str]:
    """One note per phase whose share moved more than ``UNSTABLE_SPREAD`` between the runs. Pure."""
    notes = []
    for name, (low, high) in sorted(spread.items()):
        if low is not None and high is not None and high - low > UNSTABLE_SPREAD:
            notes.append(f"phase {name!r}'s share was unstable over {SHARE_RUNS} runs ({low:.0%} to {high:.0%}): "
                         f"the machine interfered; the median run is shown, re-run `campaign profile` on a quieter "
                         f"machine before an Amdahl decision rests on it")
    return notes


def format_profile(data: dict, top: int = 10) -> str:
    """A human table of a profile event's data."""
    out = [f"case {data['case']}: warm run {data['total_s'] * 1e3:.1f} ms"]
    out.append(f"{'phase':<24}{'seconds':>10}{'share':>8}{'amdahl':>9}")
    for name, secs in sorted(data["phases"].items(), key=lambda kv: -kv[1]):
        bound = data["amdahl"].get(name)
        out.append(f"{name:<24}{secs:>10.4f}{data['shares'][name]:>8.1%}{(f'{bound:.2f}x' if bound else 'inf'):>9}")
    if data["top_functions"]:
        out.append("top functions (self time):")
        for r in data["top_functions"][:top]:
            out.append(f"  {r['tottime']:.4f}s  {r['ncalls']:>8}  {r['file']}:{r['line']}({r['function']})")
    out += format_lines(data.get("lines") or {})
    out += [f"note: {n}" for n in data.get("notes", [])]
    return "\n".join(out)


def format_lines(lines: dict[str, list[dict]], top: int = 8) -> list[str]:
    """The slowest lines of each line-profiled function, in source order (text for the CLI)."""
    out = []
    for spec, rows in lines.items():
        total = sum(r["time_s"] for r in rows)
        out.append(f"line timings of {spec} ({total:.4f} s):")
        slow = sorted(sorted(rows, key=lambda r: -r["time_s"])[:top], key=lambda r: r["line"])
        for r in slow:
            share = r["time_s"] / total if total else 0.0
            out.append(f"  {r['line']:>5} {r['hits']:>9} hits {r['time_s']:>9.4f}s {share:6.1%}  {r['source'].strip()}")
    return out
