"""The state machine: which step is due, derived from the journal alone (pure).

The method, as one table. After the last event of the journal (the row's
first column, when its condition holds) the step in the third column is due;
the first matching row wins::

    after        when                       due
    init         always                     INIT     (init was interrupted: resume it)
    baseline     always                     INIT     (the start commit is missing)
    commit       start commit               PROFILE
    profile      always                     THINK
    think        always                     PLAN
    plan         always                     TRY      (IMPLEMENT: edit files, then TEST + BENCHMARK)
    implement    always                     TRY      (try was interrupted: re-run it)
    test         failed                     LOG
    test         passed                     TRY      (interrupted before BENCHMARK: re-run)
    benchmark    always                     LOG
    log          kept                       COMMIT   (interrupted: `campaign log` completes it)
    log          not kept                   REVERT   (interrupted: `campaign log` completes it)
    commit       always                     DECIDE
    revert       always                     DECIDE
    decide       stop                       FINISH
    decide       kept or exhausted          PROFILE  (the profile is stale / look elsewhere)
    decide       always                     THINK
    skip         always                     DECIDE
    validate     passed                     FINISH   (the full case is correct: tag and merge)
    validate     failed                     THINK    (the full case differs: fix it in a new iteration)
    finish       always                     DONE

``agent``, ``tune`` and ``run`` events record work inside a step (or who drives the
campaign) and never move it.
Between iterations (PROFILE or THINK due) ``decide --exhausted`` may declare a
phase exhausted without a new attempt: an agent with no idea left says so
instead of inventing a change; ``decide --stop --why`` ends the campaign for a
written reason (FINISH is then due).
Which commands may run when a step is due is ``ALLOWED`` (re-profiling while
THINK is due is allowed; ``skip`` is allowed at PROFILE/THINK when the
stopping rules permit it).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

from campaign.errors import StepError
from campaign.loop import stopping


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


NEUTRAL_EVENTS = ("agent", "tune", "run")


@dataclass
class Iteration:
    """Everything the journal says about one iteration (each field: an event's data or None)."""

    n: int
    profile: dict[str, Any] | None = None
    think: dict[str, Any] | None = None
    plan: dict[str, Any] | None = None
    implement: dict[str, Any] | None = None
    test: dict[str, Any] | None = None
    benchmark: dict[str, Any] | None = None
    log: dict[str, Any] | None = None
    commit: dict[str, Any] | None = None
    revert: dict[str, Any] | None = None
    decide: dict[str, Any] | None = None
    skip: dict[str, Any] | None = None

    @property
    def kept(self) -> bool:
        return bool(self.log and self.log.get("kept"))

    @property
    def done(self) -> bool:
        return self.log is not None

    @property
    def phase(self) -> str | None:
        return (self.plan or {}).get("phase")

    @property
    def speedup(self) -> float | None:
        return (self.benchmark or {}).get("speedup")

    @property
    def title(self) -> str:
        return (self.plan or {}).get("change") or (self.think or {}).get("chosen") or f"iteration {self.n}"

    def attempt(self) -> stopping.Attempt:
        return stopping.Attempt(self.n, self.phase, self.kept, self.speedup)


@dataclass
class State:
    """The campaign as derived from its journal."""

    init: dict[str, Any] | None = None
    baseline: dict[str, Any] | None = None
    start_commit: str | None = None
    iterations: list[Iteration] = field(default_factory=list)
    last_profile: dict[str, Any] | None = None
    last_profile_iteration: int | None = None
    exhausted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    last_kept_commit: str | None = None
    cumulative: float | None = None  # vs baseline, of the last kept iteration
    cumulative_ci: list[float] | None = None
    finish: dict[str, Any] | None = None
    validation: dict[str, Any] | None = None  # the latest full-case TEST at FINISH (``validate`` event)
    last_event: dict[str, Any] | None = None
    step: Step = Step.INIT
    run: dict[str, Any] | None = None  # the latest `campaign run` settings (agent, agent_cmd, ...), if any

    @property
    def name(self) -> str:
        return str((self.init or {}).get("name", ""))

    @property
    def current(self) -> Iteration | None:
        return self.iterations[-1] if self.iterations else None

    @property
    def finished_iterations(self) -> list[Iteration]:
        return [it for it in self.iterations if it.done]

    @property
    def full_case_failed(self) -> bool:
        """FINISH found the full case wrong and no later check passed: the next TEST includes the full case."""
        return self.validation is not None and bool(self.validation) and not self.validation.get("passed")

    @property
    def kept_count(self) -> int:
        return sum(1 for it in self.iterations if it.kept)

    def attempts(self) -> list[stopping.Attempt]:
        return [it.attempt() for it in self.finished_iterations]

    def open_phases(self) -> list[str]:
        """Profiled phases by share, largest first, without exhausted or skipped ones."""
        shares = (self.last_profile or {}).get("shares") or {}
        closed = set(self.exhausted) | set(self.skipped)
        return [p for p, _ in sorted(shares.items(), key=lambda kv: (-(kv[1] or 0), kv[0])) if p not in closed]


# -- the table -------------------------------------------------------------------------

Condition = Callable[[dict[str, Any], State], bool]


def _always(event: dict[str, Any], state: State) -> bool:
    return True


def _start_commit(event: dict[str, Any], state: State) -> bool:
    return event.get("iteration") is None


def _test_failed(event: dict[str, Any], state: State) -> bool:
    return not event["data"].get("passed")


def _test_passed(event: dict[str, Any], state: State) -> bool:
    return bool(event["data"].get("passed"))


def _kept(event: dict[str, Any], state: State) -> bool:
    return bool(event["data"].get("kept"))


def _not_kept(event: dict[str, Any], state: State) -> bool:
    return not event["data"].get("kept")


def _stop(event: dict[str, Any], state: State) -> bool:
    return bool(event["data"].get("stop"))


def _kept_or_exhausted(event: dict[str, Any], state: State) -> bool:
    current = state.current
    return bool(event["data"].get("exhausted")) or bool(current and current.kept)


TRANSITIONS: tuple[tuple[str, Condition, Step], ...] = (
    # after       when                 due
    ("init",      _always,             Step.INIT),
    ("baseline",  _always,             Step.INIT),
    ("commit",    _start_commit,       Step.PROFILE),
    ("profile",   _always,             Step.THINK),
    ("think",     _always,             Step.PLAN),
    ("plan",      _always,             Step.TRY),
    ("implement", _always,             Step.TRY),
    ("test",      _test_failed,        Step.LOG),
    ("test",      _test_passed,        Step.TRY),
    ("benchmark", _always,             Step.LOG),
    ("log",       _kept,               Step.COMMIT),
    ("log",       _not_kept,           Step.REVERT),
    ("commit",    _always,             Step.DECIDE),
    ("revert",    _always,             Step.DECIDE),
    ("decide",    _stop,               Step.FINISH),
    ("decide",    _kept_or_exhausted,  Step.PROFILE),
    ("decide",    _always,             Step.THINK),
    ("skip",      _always,             Step.DECIDE),
    ("validate",  _test_passed,        Step.FINISH),
    ("validate",  _test_failed,        Step.THINK),
    ("finish",    _always,             Step.DONE),
)

# which commands may run while a step is due
ALLOWED: dict[Step, tuple[str, ...]] = {
    Step.INIT: ("init",),
    Step.PROFILE: ("profile", "skip", "decide"),  # decide: only `--exhausted` or `--stop`
    Step.THINK: ("think", "profile", "skip", "decide"),
    Step.PLAN: ("plan",),
    Step.TRY: ("try",),
    Step.LOG: ("log",),
    Step.COMMIT: ("log",),
    Step.REVERT: ("log",),
    Step.DECIDE: ("decide",),
    Step.FINISH: ("finish",),
    Step.DONE: ("finish",),
}

DESCRIPTIONS: dict[Step, str] = {
    Step.INIT: "INIT (finish setting up the campaign: baseline and start commit)",
    Step.PROFILE: "PROFILE (measure where the time goes in the current code)",
    Step.THINK: "THINK (write the hypothesis, options, choice, a numeric prediction and the risk)",
    Step.PLAN: "PLAN (name the profiled phase you attack and the change)",
    Step.TRY: "IMPLEMENT + TEST + BENCHMARK (edit files in scope, then run `campaign try`)",
    Step.LOG: "LOG (record the Surprise; the change is then committed or reverted)",
    Step.COMMIT: "COMMIT (the LOG kept the change but the commit was interrupted)",
    Step.REVERT: "REVERT (the LOG rejected the change but the revert was interrupted)",
    Step.DECIDE: "DECIDE (apply the stopping rules)",
    Step.FINISH: "FINISH (full-case TEST and benchmark against the baseline, post-optimization tag, merge)",
    Step.DONE: "nothing: the campaign is finished",
}


def _step_after(event: dict[str, Any], state: State) -> Step:
    for after, condition, due in TRANSITIONS:
        if event["type"] == after and condition(event, state):
            return due
    raise AssertionError(f"no transition after {event['type']!r}")  # the table covers every type


def derive(events: list[dict[str, Any]]) -> State:
    """Fold the journal into a ``State`` (including the step due next). Pure."""
    state = State()
    for event in events:
        kind, data = event["type"], event["data"]
        if kind in NEUTRAL_EVENTS:
            if kind == "run":
                state.run = data
            continue
        state.last_event = event
        current = state.current
        if kind == "init":
            state.init = data
        elif kind == "baseline":
            state.baseline = data
        elif kind == "profile":
            state.last_profile = data
            state.last_profile_iteration = event.get("iteration")
        elif kind == "think":
            state.iterations.append(Iteration(n=len(state.iterations) + 1, profile=state.last_profile, think=data))
        elif kind == "commit" and event.get("iteration") is None:
            state.start_commit = state.last_kept_commit = data.get("commit")
        elif kind == "skip":
            state.skipped.append(data.get("bottleneck"))
            if current is not None:
                current.skip = data
        elif kind == "finish":
            state.finish = data
        elif kind == "validate":
            state.validation = data
        elif kind == "decide":
            if current is not None:
                current.decide = data
            phase = data.get("phase") or (current.phase if current is not None else None)
            if data.get("exhausted") and phase and phase not in state.exhausted:
                state.exhausted.append(phase)
        elif current is not None and kind in ("plan", "implement", "test", "benchmark", "log", "commit", "revert"):
            if kind == "implement":  # a re-run try starts TEST and BENCHMARK afresh
                current.test = current.benchmark = None
            setattr(current, kind, data)
            if kind == "commit":
                state.last_kept_commit = data.get("commit")
            if kind == "log" and data.get("kept") and current.benchmark:
                state.cumulative = (current.benchmark.get("vs_baseline") or {}).get("speedup") or current.benchmark.get("cumulative_speedup")
                state.cumulative_ci = (current.benchmark.get("vs_baseline") or {}).get("ci")
        state.step = _step_after(event, state)
    return state


def next_step(events: list[dict[str, Any]]) -> Step:
    """The step due next, derived from the journal. Pure."""
    return derive(events).step


def _q(text: str) -> str:
    return shlex.quote(text)


def expected_command(step: Step, state: State, extra: str = "") -> str:
    """The exact command to run for ``step`` (placeholders in <angle brackets> to fill in)."""
    opt = f" {extra}" if extra else ""
    current = state.current
    if step is Step.INIT:
        return f"campaign init{opt} --resume"
    if step is Step.PROFILE:
        return f"campaign profile{opt}"
    if step is Step.THINK:
        return (
            f"campaign think{opt} --hypothesis '<what limits performance, and why>' "
            f"--option '<approach A: pros/cons>' --option '<approach B: pros/cons>' "
            f"--chosen '<the approach you pick, and why>' --predict <expected speedup, e.g. 1.5> "
            f"--risk '<what could go wrong>'"
        )
    if step is Step.PLAN:
        phases = state.open_phases()
        phase = phases[0] if phases else "<phase>"
        return f"campaign plan{opt} --phase {_q(phase)} --change '<what you will change>' --bottleneck '<what the profile showed>'"
    if step is Step.TRY:
        return f"campaign try{opt}"
    if step is Step.LOG:
        cmd = f"campaign log{opt} --surprise '<what surprised you, or None>'"
        if current is not None:
            predicted = (current.think or {}).get("predicted_speedup")
            factor = (state.init or {}).get("postmortem_factor", stopping.POSTMORTEM_FACTOR)
            if stopping.postmortem_required(predicted, current.speedup, factor):
                cmd += " --why '<why the result missed the prediction>' --lesson '<what it teaches>'"
            verdict = (current.benchmark or {}).get("verdict")
            if (current.test or {}).get("passed") and verdict in ("same", "inconclusive"):
                cmd += "  (add --keep '<reason>' to keep a change the benchmark cannot call faster)"
        return cmd
    if step in (Step.COMMIT, Step.REVERT):
        return f"campaign log{opt}"
    if step is Step.DECIDE:
        return f"campaign decide{opt}"
    if step is Step.FINISH:
        return f"campaign finish{opt}"
    return f"campaign status{opt}"


def check_command(command: str, state: State, extra: str = "") -> None:
    """Raise ``StepError`` (exit code 2) unless ``command`` may run now."""
    step = state.step
    if command in ALLOWED.get(step, ()):
        return
    due = expected_command(step, state, extra)
    if step is Step.DONE:
        message = f"`campaign {command}` may not run: the campaign {state.name!r} is finished. See `campaign status`."
    else:
        message = (
            f"`campaign {command}` may not come next: the step due is {DESCRIPTIONS[step]}. "
            f"Run: {due}"
        )
    raise StepError(message, step.value, due)
