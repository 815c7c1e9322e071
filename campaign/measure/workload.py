"""Running one workload case in a fresh process and reading its protocol line.

The workload protocol (see ``campaign.plugins.target``): the command prints, as its
last non-empty line of stdout, one JSON object with ``outputs``, ``phases``
and optionally ``warm_s``, ``first_call_s`` and ``compile_s``. Anything else
- a non-zero exit, a timeout, no JSON, a NaN or infinite time - is a
``WorkloadError``: a failed run is never mistaken for a fast one.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from campaign.errors import MeasureError
from campaign.measure.procs import ProcResult, run_process

TAIL_LINES = 15


class WorkloadError(MeasureError):
    """A workload (or its build) failed: the message says what, shows stderr's tail and what to do.

    ``timed_out`` and ``returncode`` say how the process ended (where one ran), so that a caller tells a
    timeout or a kill from outside without reading the message.
    """

    def __init__(self, message: str, *, timed_out: bool = False, returncode: int | None = None):
        super().__init__(message)
        self.timed_out = timed_out
        self.returncode = returncode

    @property
    def signalled(self) -> bool:
        """Killed by a signal that was not our timeout's: a fact about the machine, not about the code run."""
        return not self.timed_out and self.returncode is not None and self.returncode < 0


@dataclass
class WorkloadRun:
    """One fresh-process run of a workload case."""

    outputs: dict
    phases: dict[str, float]
    warm_s: list[float]
    first_call_s: float | None
    compile_s: float | None
    wall_s: float
    repeat: int = 1
    extra: dict = field(default_factory=dict)
    warm_cpu_s: list[float] = field(default_factory=list)  # CPU time of each warm repeat, where the workload says
    warm_waits: list[int] = field(default_factory=list)  # voluntary context switches per warm repeat (sleep, I/O)
    # measured by campaign around the process (``campaign.measure.rusage``), never reported by the workload:
    cpu_s: float | None = None  # user + system CPU seconds of the process and the children it waited for
    max_rss_kb: int | None = None  # its peak resident set size, KiB

    @property
    def time_s(self) -> float:
        """The run's time: median warm repeat, else the sum of phases, else process wall time."""
        if self.warm_s:
            return statistics.median(self.warm_s)
        if self.phases:
            return float(sum(self.phases.values()))
        return self.wall_s

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["time_s"] = self.time_s
        return data


_NOISE = ("PytestBenchmarkWarning", "docs.pytest.org/en/stable/how-to/capture-warnings.html",
          "warnings.warn(", "warnings summary")


def is_noise(line: str) -> bool:
    """A warnings-summary line (pytest-benchmark warns once per test): never the reason a run failed."""
    return any(marker in line for marker in _NOISE)


def _tail(text: str, lines: int = TAIL_LINES) -> str:
    kept = [line for line in (text or "").strip().splitlines() if line.strip() and not is_noise(line)]
    return "\n".join(kept[-lines:])


def _command_text(cmd: list[str] | str) -> str:
    if isinstance(cmd, str):
        return cmd
    import shlex

    return " ".join(shlex.quote(part) for part in cmd)


def _finite_time(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise WorkloadError(f"the workload reported {what} = {value!r}, which is not a number of seconds.")
    value = float(value)
    if not math.isfinite(value):
        raise WorkloadError(
            f"the workload reported a non-finite time for {what} ({value}); a broken timer or a failed run "
            f"cannot be measured. Fix the workload so that it reports finite seconds."
        )
    if value < 0:
        raise WorkloadError(f"the workload reported a negative time for {what} ({value}).")
    return value


def _protocol_object(stdout: str) -> dict:
    """The last non-empty line of ``stdout`` as the protocol's JSON object, with its ``outputs``."""
    lines = [line.strip() for line in (stdout or "").splitlines() if line.strip()]
    if not lines:
        raise WorkloadError(
            "the workload printed no JSON (its stdout was empty). Its last line of stdout must be one JSON "
            'object such as {"outputs": {...}, "phases": {...}} (the workload protocol, see campaign.plugins.target).'
        )
    last = lines[-1]
    try:
        data = json.loads(last)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise WorkloadError(
            f"the workload printed no JSON on its last line of stdout ({getattr(exc, 'msg', 'nested too deeply')}); "
            f"the line was: {last[:300]!r}. "
            "Print the protocol object last and send any other output to stderr."
        ) from None
    if not isinstance(data, dict):
        raise WorkloadError(f"the workload's last line is JSON but not an object: {last[:300]!r}.")
    if "error" in data and "outputs" not in data:
        raise WorkloadError(f"the workload reported an error: {data['error']}")
    if "outputs" not in data:
        raise WorkloadError(
            f"the workload's JSON has no 'outputs' (keys: {sorted(data)}); the protocol needs "
            '{"outputs": {...}, "phases": {...}}.'
        )
    if not isinstance(data["outputs"], dict):
        raise WorkloadError(f"the workload's 'outputs' must be an object, got {type(data['outputs']).__name__}.")
    return data


def _per_repeat(data: dict) -> None:
    """``warm_s``, and ``warm_cpu_s`` and ``warm_waits`` (one per warm repeat where given), checked in place."""
    warm = data.get("warm_s") or []
    if not isinstance(warm, list):
        raise WorkloadError(f"the workload's 'warm_s' must be a list of seconds, got {warm!r}.")
    data["warm_s"] = [_finite_time(v, "warm_s") for v in warm]
    cpu = data.get("warm_cpu_s") or []
    if not isinstance(cpu, list) or (cpu and len(cpu) != len(data["warm_s"])):
        raise WorkloadError(f"the workload's 'warm_cpu_s' must be a list of seconds, one per warm run, got {cpu!r}.")
    data["warm_cpu_s"] = [_finite_time(v, "warm_cpu_s") for v in cpu]
    waits = data.get("warm_waits") or []
    if (not isinstance(waits, list) or (waits and len(waits) != len(data["warm_s"]))
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in waits)):
        raise WorkloadError(f"the workload's 'warm_waits' must be a list of counts, one per warm run, got {waits!r}.")
    data["warm_waits"] = waits


def parse_workload_output(stdout: str) -> dict:
    """Parse and validate the protocol line (the last non-empty line of ``stdout``).

    Returns the JSON object with ``phases`` and ``warm_s`` checked to be
    finite non-negative seconds. Raises ``WorkloadError`` with a clear message.
    """
    data = _protocol_object(stdout)
    phases = data.get("phases") or {}
    if not isinstance(phases, dict):
        raise WorkloadError(f"the workload's 'phases' must be an object of seconds, got {phases!r}.")
    data["phases"] = {str(k): _finite_time(v, f"phase {k!r}") for k, v in phases.items()}
    _per_repeat(data)
    for key in ("first_call_s", "compile_s"):
        data[key] = _finite_time(data[key], key) if data.get(key) is not None else None
    return data


def build(target, workdir: Path, timeout_s: float | None = None) -> None:
    """Run the target's ``build_command`` (if any) in ``workdir``; ``WorkloadError`` on failure."""
    cmd = getattr(target, "build_command", None)
    if not cmd:
        return
    from campaign.measure.import_check import process_env

    result = run_process(cmd, Path(workdir), timeout_s or getattr(target, "timeout_s", None),
                         env=process_env(target, Path(workdir)))
    if result.timed_out or result.returncode != 0:
        what = f"timed out after {result.wall_s:.0f} s" if result.timed_out else f"exited with code {result.returncode}"
        raise WorkloadError(
            f"the build of target {target.name or target.spec!r} {what} in {workdir}. "
            f"Last lines of its output:\n{_tail(result.stderr + chr(10) + result.stdout)}\n"
            f"Run `{_command_text(cmd)}` in {workdir} to see the whole error and fix the build.",
            timed_out=result.timed_out, returncode=None if result.timed_out else result.returncode)


def _failure(target, case: str, workdir: Path, cmd, result: ProcResult, why: str) -> WorkloadError:
    tail = _tail(result.stderr) or "(stderr was empty)"
    return WorkloadError(
        f"workload case {case!r} of target {target.name or target.spec!r} {why} (in {workdir}). "
        f"Last lines of stderr:\n{tail}\n"
        f"Run `{_command_text(cmd)}` in {workdir} to reproduce it; a failed run is never measured.",
        timed_out=result.timed_out, returncode=None if result.timed_out else result.returncode)


def run_workload(
    target,
    case: str,
    workdir: Path,
    repeat: int = 1,
    knobs: dict | None = None,
    timeout_s: float | None = None,
    env: dict | None = None,
    watch=None,
    seed: int | None = None,
) -> WorkloadRun:
    """Run one workload case of ``target`` in a fresh, sealed process in ``workdir``.

    ``repeat`` is the number of warm runs the workload makes after its first
    (cold) call. The process gets fresh, empty homes (``campaign.measure.seal``);
    with ``watch`` (a ``seal.Watch`` of ``workdir``) a file it writes there fails
    the run. ``seed``: a held-out input, for a target that declares them.
    Raises ``WorkloadError`` on a non-zero exit, a timeout (the process tree is
    killed), missing JSON, non-finite times or written state.
    """
    from campaign.measure.seal import StateWritten, sealed_env

    workdir = Path(workdir)
    cmd = workload_command(target, case, repeat, knobs, seed)
    timeout = timeout_s if timeout_s is not None else getattr(target, "timeout_s", None)
    from campaign.measure.import_check import measured

    if watch is not None:
        watch.start()
    # sealed (fresh homes, no CAMPAIGN_* of the caller's) and importing only the measured tree's code
    from campaign.measure import peak_rss

    launched, report = peak_rss.wrap(cmd)  # the workload's own peak RSS, not campaign's (peak_rss: why)
    with sealed_env() as sealed, measured(target, workdir, env) as full_env:
        result = run_process(launched, workdir, timeout, env={**sealed, **full_env})
    rss = peak_rss.read(report) if report is not None else result.max_rss_kb
    if watch is not None:
        try:
            watch.check(f"workload case {case!r}")
        except StateWritten as exc:
            raise WorkloadError(str(exc)) from None
    if result.timed_out:
        raise _failure(target, case, workdir, cmd, result, f"timed out after {timeout:g} s (its process tree was killed)")
    if result.returncode != 0:
        why = f"exited with code {result.returncode}"
        try:  # the worker reports exceptions as {"error": ...}
            last = json.loads([ln for ln in result.stdout.splitlines() if ln.strip()][-1])
            if isinstance(last, dict) and last.get("error"):
                why += f": {last['error']}"
        except (IndexError, ValueError):
            pass
        raise _failure(target, case, workdir, cmd, result, why)
    try:
        data = parse_workload_output(result.stdout)
    except WorkloadError as exc:
        raise _failure(target, case, workdir, cmd, result, f"did not follow the workload protocol: {exc}") from None
    extra = {k: v for k, v in data.items()
             if k not in ("outputs", "phases", "warm_s", "warm_cpu_s", "warm_waits", "first_call_s", "compile_s")}
    return WorkloadRun(
        outputs=data["outputs"],
        phases=data["phases"],
        warm_s=data["warm_s"],
        first_call_s=data["first_call_s"],
        compile_s=data["compile_s"],
        wall_s=result.wall_s,
        repeat=repeat,
        extra=extra,
        warm_cpu_s=data["warm_cpu_s"],
        warm_waits=data["warm_waits"],
        cpu_s=result.cpu_s,
        max_rss_kb=rss,
    )


def workload_command(target, case: str, repeat: int, knobs: dict | None = None, seed: int | None = None):
    """The target's command for one case; with ``seed``, its held-out variant (``heldout_command``)."""
    if seed is not None:
        return target.heldout_command(case, repeat, seed)
    return target.workload_command(case, repeat, knobs) if knobs else target.workload_command(case, repeat)
