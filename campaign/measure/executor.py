"""Executors: what runs one variant once and says how long it took (the engine's only contact with processes).

The scheduler (``campaign.measure.scheduler``) asks an executor for one run
of a unit at a time and gets a ``Timing`` back; it never starts a process
itself, so a fake executor (a table of times, a simulation) drives the whole
loop in a test without one. ``WorkloadExecutor`` is the real one: a fresh,
sealed process per run (``campaign.measure.workload.run_workload``), timed by
its fastest warm repeat (``estimator="min"``) or the median one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from statistics import median
from typing import Any, Callable, Protocol

from campaign.measure.workload import WorkloadRun

TARGET_PROCESS_S = 0.03  # more repeats do not calm process-to-process noise (scripts/process_noise.py): more processes do
MAX_PROCESS_S = 2.0
MAX_REPEAT = 50
MIN_REPEAT = 3  # the fastest of three warm repeats, whenever the slowest process stays under MAX_PROCESS_S


@dataclass(frozen=True)
class Timing:
    """One run as the scheduler sees it: its wall time, its CPU time (None: not reported), and the raw run."""

    wall: float
    cpu: float | None = None
    raw: Any = None  # the executor's own record (a WorkloadRun, a configuration's outputs): for the result builder


class Executor(Protocol):
    """Runs one unit (a distinct tree, a configuration) once, ``repeat`` warm repeats in one process."""

    def run(self, unit: str, repeat: int) -> Timing: ...


def _fastest(run: WorkloadRun) -> float:
    return min(run.warm_s) if run.warm_s else run.time_s


ESTIMATORS: dict[str, Callable[[WorkloadRun], float]] = {"min": _fastest, "median": lambda r: r.time_s}
CPU_ESTIMATORS: dict[str, Callable[[WorkloadRun], float]] = {"min": lambda r: min(r.warm_cpu_s),
                                                              "median": lambda r: median(r.warm_cpu_s)}


def timing_of(run: WorkloadRun, estimator: str = "min") -> Timing:
    """A workload run's ``Timing``: its CPU time only where every warm repeat reported a positive one."""
    cpu = CPU_ESTIMATORS[estimator](run) if run.warm_cpu_s else None
    return Timing(ESTIMATORS[estimator](run), cpu if cpu is not None and cpu > 0 else None, run)


class WorkloadExecutor:
    """Fresh-process runs of one workload case, one directory per unit.

    ``run_workload`` is passed in (the caller's, so that a test that replaces
    ``campaign.measure.bench.run_workload`` replaces what runs here).
    """

    def __init__(self, run_workload: Callable[..., WorkloadRun], target, case: str, dirs: dict[str, Path], *,
                 knobs=None, timeout_s: float | None = None, watches: dict | None = None, estimator: str = "min"):
        self.run_workload, self.target, self.case, self.dirs = run_workload, target, case, dirs
        self.knobs, self.timeout_s, self.watches, self.estimator = knobs, timeout_s, watches or {}, estimator

    def run_raw(self, unit: str, repeat: int) -> WorkloadRun:
        return self.run_workload(self.target, self.case, self.dirs[unit], repeat=repeat, knobs=self.knobs,
                                 timeout_s=self.timeout_s, watch=self.watches.get(unit))

    def run(self, unit: str, repeat: int) -> Timing:
        return timing_of(self.run_raw(unit, repeat), self.estimator)


def repeat_cycle(repeat: int) -> tuple[int, ...]:
    """Warm repeats per block, alternating around ``repeat``: ``(repeat + k, repeat - k)``; ``()``: no change.

    The clock guard (``campaign.measure.integrity.repeat_fit``) reads what one more repeat costs a process
    from the slope of its time on its repeat count: with every block at ``repeat`` that slope rests on the
    one calibration process, and its error does not shrink however many blocks run. Counts alternating
    between blocks give every process leverage at no cost in time (the mean stays ``repeat``): ``k`` is a
    quarter of ``repeat`` (the slowest process stays within 1.25x ``MAX_PROCESS_S``), keeping every run at
    ``MIN_REPEAT`` or more. At ``MIN_REPEAT`` itself the cycle is ``(repeat + 1, repeat)``: half a repeat per
    process, since a run's fastest of two repeats is noisier (docs/measurement.md, "Calibrate once").
    Under ``MIN_REPEAT`` (processes near ``MAX_PROCESS_S``) the count does not vary.
    """
    if repeat > MIN_REPEAT:
        k = max(1, min(repeat - MIN_REPEAT, repeat // 4))
        return (repeat + k, repeat - k)
    return (repeat + 1, repeat) if repeat == MIN_REPEAT else ()


def hold_cycle(repeat: int, slowest_s: float, max_process_s: float = MAX_PROCESS_S) -> tuple[int, ...]:
    """Warm repeats of the blocks a clock-guard hold adds: ``(repeat, wide)``, counts far apart. Pure.

    The guard reads what one more repeat costs from the slope of process time on repeat count; its error
    shrinks with the spread of the counts (``RepeatFit.sxx``). The regular cycle moves them by a quarter of
    ``repeat`` (at ``repeat = 3``: 4 and 3, a leverage of 1/4 per process); a hold block at ``repeat`` and
    three times it gives ``repeat^2`` per process (9 at ``repeat = 3``), so one or two of them tell what a
    dozen regular blocks would. ``wide`` keeps the slowest process within 1.25x ``max_process_s`` and is at
    least ``repeat + 1``.
    """
    allowed = math.floor(1.25 * max_process_s / slowest_s) if slowest_s > 0 else 3 * repeat
    return (repeat, max(repeat + 1, min(3 * repeat, allowed)))


def calibrate_repeat(times_s: list[float], target_s: float = TARGET_PROCESS_S, max_process_s: float = MAX_PROCESS_S,
                     cap: int = MAX_REPEAT) -> int:
    """Warm repeats per process: >= ``target_s`` of work on the fastest variant and at least ``MIN_REPEAT``,
    the slowest process under ``max_process_s``.

    Why at least three: a run's time is its fastest repeat, and with one
    repeat a single preemption is the measurement (a 325 ms stage measured
    once per process at load 5.6 gave block ratios from 1.26x to 2.24x).
    """
    positive = [t for t in times_s if t > 0]
    if not positive:
        return 1
    fastest, slowest = min(positive), max(positive)
    want = max(math.ceil(target_s / fastest), MIN_REPEAT)
    allowed = math.floor(max_process_s / slowest)
    return max(1, min(want, allowed, cap))
