"""Function and line profiles of a ``campaign.toml`` target whose workload is a Python program.

The workload command (``python bench.py fast 1``) is re-run with the same
interpreter, flags, environment and arguments, but through
``campaign.measure.script_profile_worker``: once under cProfile (top
functions) and, when functions are named, once more under line_profiler.
Phase times come from a separate clean run (``profiling.profile_workload``),
so the profilers' overhead never reaches them.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from campaign.measure.procs import run_process
from campaign.measure.python_command import PythonProgram
from campaign.measure.workload import WorkloadError, _command_text, _tail


def _worker_command(program: PythonProgram, out: Path, lines: list[str], top: int) -> list[str]:
    cmd = [program.python, *program.flags, "-m", "campaign.measure.script_profile_worker", "--out", str(out),
           "--top", str(top)]
    if lines:
        cmd += ["--lines", *lines]
    cmd += ["--script" if program.kind == "script" else "--module", program.what, "--", *program.args]
    return cmd


def _worker_env(program: PythonProgram) -> dict[str, str]:
    """The program's own variables, plus campaign's parent directory on PYTHONPATH (for the worker)."""
    home = str(Path(__file__).resolve().parents[2])
    path = os.pathsep.join(p for p in (home, program.env.get("PYTHONPATH") or os.environ.get("PYTHONPATH", "")) if p)
    return {**program.env, "PYTHONPATH": path}


def _run_worker(program: PythonProgram, workdir: Path, lines: list[str], top: int, timeout_s: float,
                target=None) -> dict:
    with tempfile.TemporaryDirectory(prefix="campaign-profile-") as tmp:
        out = Path(tmp) / "profile.json"
        cmd = _worker_command(program, out, lines, top)
        if target is None:
            result = run_process(cmd, workdir, timeout_s, env=_worker_env(program))
        else:  # the project's environment, its tree's code (campaign.measure.import_check)
            from campaign.measure.import_check import measured

            with measured(target, workdir, program.env) as env:  # the shim brings campaign, not its site-packages
                result = run_process(cmd, workdir, timeout_s, env=env)
        if result.timed_out or result.returncode != 0 or not out.exists():
            why = (f"timed out after {timeout_s:g} s" if result.timed_out
                   else f"exited with code {result.returncode}")
            raise WorkloadError(f"profiling the workload under {'line_profiler' if lines else 'cProfile'} {why} "
                                f"(in {workdir}). Last lines of stderr:\n{_tail(result.stderr) or '(empty)'}\n"
                                f"Run `{_command_text(cmd)}` in {workdir} to reproduce it.")
        return json.loads(out.read_text(encoding="utf-8"))


def profile_python_program(program: PythonProgram, workdir: Path, lines: list[str], timeout_s: float,
                           top: int = 25, target=None) -> dict:
    """``{top_functions, lines, line_errors}`` of one run of ``program`` in ``workdir``."""
    data = _run_worker(program, Path(workdir), [], top, timeout_s, target)
    result: dict[str, Any] = {"top_functions": data.get("top_functions") or [], "lines": {}, "line_errors": {}}
    if lines:
        data = _run_worker(program, Path(workdir), list(lines), top, timeout_s, target)
        result["lines"], result["line_errors"] = data.get("lines") or {}, data.get("line_errors") or {}
    return result
