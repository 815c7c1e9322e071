"""Instruction counts under valgrind's callgrind: a deterministic second metric.

Wall time on a shared machine is noisy; the number of instructions a
workload executes is almost not. ``instructions_per_run`` runs a workload
twice under ``valgrind --tool=callgrind`` - once with 0 warm repeats, once
with ``R`` - and divides the difference by ``R``: the instructions of one
warm run, free of interpreter start-up, imports and JIT compilation. (A
target that ignores ``repeat`` makes the difference vanish; then the whole
process's count is used and the result says so.) Python runs ~50x slower
under valgrind, so this is optional; where the machine exposes hardware
counters the same two runs are counted by them at native speed
(``campaign.measure.hwcount``) and callgrind is not needed.
"""

from __future__ import annotations

import re
import shlex
import shutil
import tempfile
from pathlib import Path

from campaign.measure import hwcount
from campaign.measure.procs import run_process
from campaign.measure.workload import WorkloadError, parse_workload_output

WARM_REPEATS = 2
TIMEOUT_FACTOR = 100


class CallgrindError(WorkloadError):
    """valgrind is missing or a run under it failed."""


def valgrind_version() -> str:
    """The installed valgrind's version; ``CallgrindError`` with what to do when it is missing."""
    exe = shutil.which("valgrind")
    if not exe:
        raise CallgrindError(
            "instruction counts need valgrind, which is not installed (no `valgrind` on PATH). "
            "Install it (e.g. `apt-get install valgrind`) or benchmark without --instructions."
        )
    result = run_process([exe, "--version"], Path.cwd(), 30)
    if result.returncode != 0:
        raise CallgrindError(f"`valgrind --version` failed (exit {result.returncode}): {result.stderr.strip()[-300:]}")
    return result.stdout.strip()


def pick_counter() -> tuple[str, str | None]:
    """Which counter ``--instructions`` uses: ``("perf_event_open", None)`` where the CPU's counters can be
    opened, else ``("callgrind", why the counters cannot)``; ``CallgrindError`` when neither is there."""
    why = hwcount.unavailable()
    if why is None:
        return "perf_event_open", None
    try:
        valgrind_version()
    except CallgrindError as exc:
        raise CallgrindError(f"{exc} (hardware counters: {why})") from None
    return "callgrind", why


_TOTAL = re.compile(r"^(?:summary|totals):\s+(\d+)", re.M)


def parse_total_ir(text: str) -> int:
    """Total ``Ir`` of one callgrind output file (its ``summary:``/``totals:`` line)."""
    events = re.search(r"^events:\s*(.+)$", text, re.M)
    match = _TOTAL.search(text)
    if not match:
        raise CallgrindError("callgrind output has no 'summary:' or 'totals:' line")
    if events and events.group(1).split()[0] != "Ir":
        raise CallgrindError(f"callgrind output's first event is not Ir: {events.group(1)!r}")
    line = text[match.start():].splitlines()[0]
    return int(line.split(":", 1)[1].split()[0])


def count_instructions(cmd: list[str] | str, cwd: Path, timeout_s: float | None, env: dict | None = None) -> tuple[int, str]:
    """Run ``cmd`` under callgrind (children traced); total Ir over all processes, and stdout."""
    valgrind_version()
    with tempfile.TemporaryDirectory(prefix="campaign-cg-") as tmp:
        out = Path(tmp) / "cg.%p"
        prefix = ["valgrind", "--tool=callgrind", "--trace-children=yes", f"--callgrind-out-file={out}",
                  "--dump-instr=no", "--compress-strings=no"]
        if isinstance(cmd, str):
            full: list[str] | str = " ".join(shlex.quote(p) for p in prefix) + " sh -c " + shlex.quote(cmd)
        else:
            full = prefix + list(cmd)
        run_env = {"PYTHONHASHSEED": "0", **(env or {})}
        result = run_process(full, Path(cwd), timeout_s, env=run_env)
        if result.timed_out or result.returncode != 0:
            why = "timed out" if result.timed_out else f"exited with code {result.returncode}"
            tail = "\n".join(result.stderr.strip().splitlines()[-10:])
            raise CallgrindError(f"the workload under callgrind {why} in {cwd}. Last lines of stderr:\n{tail}")
        total = 0
        for path in Path(tmp).glob("cg.*"):
            total += parse_total_ir(path.read_text(errors="replace"))
        if total == 0:
            raise CallgrindError("callgrind wrote no instruction counts")
        return total, result.stdout


def instructions_per_run(target, case: str, workdir: Path, knobs: dict | None = None, timeout_s: float | None = None,
                         repeats: int = WARM_REPEATS, counter: str = "callgrind") -> dict:
    """Instructions of one warm run of ``case`` (difference method); a dict for the benchmark record.

    ``counter``: ``"callgrind"`` (valgrind, slow) or ``"perf_event_open"`` (the CPU's counters at native
    speed, ``campaign.measure.hwcount``); the same two runs and the same arithmetic either way."""
    count = count_instructions if counter == "callgrind" else hwcount.count
    base_timeout = timeout_s if timeout_s is not None else getattr(target, "timeout_s", 600.0)
    factor = TIMEOUT_FACTOR if counter == "callgrind" else 1.0
    timeout = base_timeout * factor if base_timeout else None

    def cmd(repeat: int):
        return target.workload_command(case, repeat, knobs) if knobs else target.workload_command(case, repeat)

    from campaign.measure.import_check import measured

    with measured(target, workdir) as env:  # the tree's own code, in the project's environment
        ir0, out0 = count(cmd(0), workdir, timeout, env)
        irn, outn = count(cmd(repeats), workdir, timeout, env)
    parse_workload_output(out0)
    parse_workload_output(outn)
    diff = irn - ir0
    if diff > 0.001 * irn:
        return {"per_run": diff / repeats, "method": f"(Ir(repeat={repeats}) - Ir(repeat=0)) / {repeats}",
                "counter": counter, "total_repeat0": ir0, "total_repeatN": irn}
    return {"per_run": irn, "method": "whole process (the workload ignores repeat)", "counter": counter,
            "total_repeat0": ir0, "total_repeatN": irn}
