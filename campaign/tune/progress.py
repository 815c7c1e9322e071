"""What a tune tells the person watching it: result lines, and a live status (what runs, how far, ETA).

A tune of the ``balanced`` preset runs for minutes; without a status line the
screen stays blank. The unit of progress is a fresh workload process (a
"run"): the plan counts every run the tune may start (calibration, the
default's A/A pair, four runs per block of every configuration the strategy
will measure) and shrinks when a configuration costs less (cached, stopped
early, pruned, failed), so the ETA is elapsed time per run times the runs
still planned. Rendering (rich, a terminal or a log) is the CLI's business
(``campaign.cli.tune_progress``); this module is plain data and arithmetic.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Protocol

RUNS_PER_BLOCK = 4  # a mirrored block: default, candidate, candidate, default (or its mirror)


class Reporter(Protocol):
    """Where a tune reports: ``line`` for a result that stays, ``status`` for the live line."""

    def line(self, text: str) -> None: ...

    def status(self, status: "Status") -> None: ...


@dataclass(frozen=True)
class Status:
    """The live line at one moment: what runs now, fresh runs done of those planned, elapsed and ETA."""

    what: str
    runs_done: int
    runs_planned: int
    elapsed_s: float
    eta_s: float | None

    def text(self) -> str:
        eta = "-" if self.eta_s is None else _clock(self.eta_s)
        return (f"{self.what} - run {self.runs_done}/{self.runs_planned}, "
                f"elapsed {_clock(self.elapsed_s)}, ETA {eta}")


def _clock(seconds: float) -> str:
    s = max(0, int(round(seconds)))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def eta_seconds(elapsed_s: float, done: int, planned: int) -> float | None:
    """Seconds left at the pace so far: None before the first run (no pace yet)."""
    if done <= 0:
        return None
    return elapsed_s / done * max(0, planned - done)


def planned_configurations(strategy: str, space: dict[str, list[Any]], budget: int) -> int:
    """Configurations besides the default that a strategy measures at most."""
    total = 1
    for values in space.values():
        total *= len(values)
    if strategy == "grid":
        return total - 1
    if strategy == "quick":
        singles = sum(len(v) - 1 for v in space.values())
        return singles + (1 if len(space) > 1 else 0)  # the combination of the best values, when there are two knobs
    return min(budget, total - 1)


class _Silent:
    def line(self, text: str) -> None:
        pass

    def status(self, status: Status) -> None:
        pass


class _LinesOnly:
    """A plain ``callable(text)`` as a reporter: result lines go to it, the live status is dropped."""

    def __init__(self, say: Callable[[str], None]):
        self.say = say

    def line(self, text: str) -> None:
        self.say(text)

    def status(self, status: Status) -> None:
        pass


def as_reporter(progress: Reporter | Callable[[str], None] | None) -> Reporter:
    """Whatever the caller gave (None, a function of one line, a Reporter) as a Reporter."""
    if progress is None:
        return _Silent()
    if hasattr(progress, "line") and hasattr(progress, "status"):
        return progress
    return _LinesOnly(progress)


class Tracker:
    """Counts runs against the plan and tells the reporter; thread-safe (the thread executor shares it)."""

    def __init__(self, reporter: Reporter, blocks: int, clock: Callable[[], float] = time.monotonic):
        self.reporter, self.blocks, self.clock = reporter, blocks, clock
        self.start = clock()
        self.lock = threading.Lock()
        self.planned = 0
        self.done = 0
        self.what = "starting"

    def plan(self, runs: int) -> None:
        """Add ``runs`` to the plan (a step about to start, or the strategy's configurations)."""
        with self.lock:
            self.planned += runs  # told with the next event: the plan alone says nothing about what runs

    def plan_configurations(self, n: int) -> None:
        self.plan(n * self.blocks * RUNS_PER_BLOCK)

    def doing(self, what: str) -> None:
        with self.lock:
            self.what = what
        self._tell()

    def runs_done(self, n: int = 1) -> None:
        with self.lock:
            self.done += n
            self.planned = max(self.planned, self.done)
        self._tell()

    def configuration_done(self, result: dict) -> None:
        """Give back the runs a configuration did not need (cached, stopped early, pruned, failed)."""
        used = 0 if result.get("cached") else int(result.get("blocks") or 0) * RUNS_PER_BLOCK
        with self.lock:
            self.planned = max(self.done, self.planned - max(0, self.blocks * RUNS_PER_BLOCK - used))
        self._tell()

    def step_done(self, planned_runs: int, used_runs: int) -> None:
        """A fixed step (calibration, the default) finished with ``used_runs`` of its ``planned_runs``."""
        with self.lock:
            self.planned = max(self.done, self.planned - max(0, planned_runs - used_runs))
        self._tell()

    def snapshot(self) -> Status:
        with self.lock:
            elapsed = self.clock() - self.start
            return Status(self.what, self.done, self.planned, elapsed, eta_seconds(elapsed, self.done, self.planned))

    def _tell(self) -> None:
        self.reporter.status(self.snapshot())
