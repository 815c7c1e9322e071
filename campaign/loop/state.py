"""The campaign as its journal says it is: ``State``, its ``Iteration``s and their ``IterationSummary``.

``campaign.loop.machine.derive`` folds the journal into a ``State``; every
event in it is the typed class of ``campaign.loop.record``. What one
iteration amounts to (its prediction, measurement, cumulative speedup, test
and outcome) is ``Iteration.summary()``: the one ``IterationSummary`` that
status, the runner, the rendered logs, the report and the MCP answers read.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import Enum
from typing import Any

from campaign.loop import record, stopping


class Step(str, Enum):
    INIT = "init"
    PROFILE = "profile"
    THINK = "think"
    PLAN = "plan"
    TRY = "try"  # IMPLEMENT + TEST + BENCHMARK
    LOG = "log"
    COMMIT = "commit"
    REVERT = "revert"
    DECIDE = "decide"
    FINISH = "finish"
    DONE = "done"


@dataclass(frozen=True)
class IterationSummary:
    """What one iteration amounts to, derived once (pure). ``None`` where the step has not happened yet."""

    n: int
    title: str
    phase: str | None
    predicted: float | None
    speedup: float | None
    ci: list[float] | None
    ci_level: float | None
    ci_kind: str | None
    verdict: str | None
    cumulative: float | None  # over the baseline (``record.cumulative_speedup``); None when not measured
    cumulative_ci: list[float] | None
    test_passed: bool | None  # None: not tested yet
    kept: bool | None  # None: not logged yet
    done: bool
    commit: str | None
    revert_reason: str | None
    surprise: str | None

    @property
    def outcome(self) -> str:
        return "kept" if self.kept else ("reverted" if self.done else "in progress")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Iteration:
    """Everything the journal says about one iteration (each field: that event's typed data, or None)."""

    n: int
    profile: record.Profile | None = None
    think: record.Think | None = None
    plan: record.Plan | None = None
    implement: record.Implement | None = None
    test: record.Test | None = None
    benchmark: record.Benchmark | None = None
    log: record.Log | None = None
    commit: record.Commit | None = None
    revert: record.Revert | None = None
    decide: record.Decide | None = None
    skip: record.Skip | None = None

    @property
    def kept(self) -> bool:
        return bool(self.log and self.log.kept)

    @property
    def done(self) -> bool:
        return self.log is not None

    @property
    def phase(self) -> str | None:
        return self.plan.phase if self.plan else None

    @property
    def speedup(self) -> float | None:
        return self.benchmark.speedup if self.benchmark else None

    @property
    def predicted(self) -> float | None:
        return self.think.predicted_speedup if self.think else None

    @property
    def title(self) -> str:
        return ((self.plan.change if self.plan else None) or (self.think.chosen if self.think else None)
                or f"iteration {self.n}")

    @property
    def test_passed(self) -> bool | None:
        return bool(self.test.passed) if self.test else None

    def attempt(self) -> stopping.Attempt:
        return stopping.Attempt(self.n, self.phase, self.kept, self.speedup)

    def summary(self) -> IterationSummary:
        bench = self.benchmark or record.Benchmark()
        return IterationSummary(
            n=self.n, title=self.title, phase=self.phase, predicted=self.predicted, speedup=self.speedup,
            ci=bench.ci, ci_level=bench.ci_level, ci_kind=bench.ci_kind, verdict=bench.verdict,
            cumulative=bench.cumulative, cumulative_ci=bench.vs_baseline.ci,
            test_passed=self.test_passed, kept=self.kept if self.done else None, done=self.done,
            commit=self.commit.commit if self.commit else None,
            revert_reason=self.revert.reason if self.revert else None,
            surprise=self.log.surprise if self.log else None,
        )


@dataclass
class State:
    """The campaign as derived from its journal."""

    init: record.Init | None = None
    baseline: record.Baseline | None = None
    start_commit: str | None = None
    iterations: list[Iteration] = field(default_factory=list)
    last_profile: record.Profile | None = None
    last_profile_iteration: int | None = None
    exhausted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    last_kept_commit: str | None = None
    cumulative: float | None = None  # vs baseline, of the last kept iteration
    cumulative_ci: list[float] | None = None
    cumulative_ci_level: float | None = None
    finish: record.Finish | None = None
    validation: record.Validate | None = None  # the latest full-case TEST at FINISH (``validate`` event)
    last_event: dict[str, Any] | None = None  # the envelope as read
    step: Step = Step.INIT
    run: record.Run | None = None  # the latest `campaign run` settings (agent, agent_cmd, ...), if any

    @property
    def name(self) -> str:
        return (self.init.name if self.init else None) or ""

    @property
    def current(self) -> Iteration | None:
        return self.iterations[-1] if self.iterations else None

    @property
    def finished_iterations(self) -> list[Iteration]:
        return [it for it in self.iterations if it.done]

    @property
    def full_case_failed(self) -> bool:
        """FINISH found the full case wrong and no later check passed: the next TEST includes the full case."""
        return self.validation is not None and bool(self.validation) and not self.validation.passed

    @property
    def kept_count(self) -> int:
        return sum(1 for it in self.iterations if it.kept)

    @property
    def postmortem_factor(self) -> float:
        factor = self.init.postmortem_factor if self.init else None
        return stopping.POSTMORTEM_FACTOR if factor is None else factor

    def attempts(self) -> list[stopping.Attempt]:
        return [it.attempt() for it in self.finished_iterations]

    def summaries(self) -> list[IterationSummary]:
        return [it.summary() for it in self.iterations]

    def open_phases(self) -> list[str]:
        """Profiled phases by share, largest first, without exhausted or skipped ones."""
        shares = (self.last_profile.shares if self.last_profile else None) or {}
        closed = set(self.exhausted) | set(self.skipped)
        return [p for p, _ in sorted(shares.items(), key=lambda kv: (-(kv[1] or 0), kv[0])) if p not in closed]

    def keep(self, it: Iteration) -> None:
        """A kept LOG: its benchmark's speedup over the baseline is now the campaign's."""
        if it.benchmark is not None and it.benchmark.cumulative is not None:  # kept with a reason: not measured
            self.cumulative = it.benchmark.cumulative
            self.cumulative_ci = it.benchmark.vs_baseline.ci
            self.cumulative_ci_level = it.benchmark.vs_baseline.ci_level
