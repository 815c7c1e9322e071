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
from typing import Any, Callable

from campaign.errors import StepError
from campaign.loop import record, stopping
from campaign.loop.state import Iteration, IterationSummary, State, Step
from campaign.loop.step_fields import OPTION_PLACEHOLDERS, PLAN, THINK

__all__ = ["Step", "Iteration", "IterationSummary", "State", "NEUTRAL_EVENTS", "TRANSITIONS", "ALLOWED",
           "DESCRIPTIONS", "derive", "next_step", "expected_command", "check_command"]

NEUTRAL_EVENTS = ("agent", "tune", "run")


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


def _fold_iteration(state: State, kind: str, data: Any, current: Iteration) -> None:
    """An iteration's own event (plan .. revert) onto the current iteration."""
    if kind == "implement":  # a re-run try starts TEST and BENCHMARK afresh
        current.test = current.benchmark = None
    setattr(current, kind, data)
    if kind == "commit":
        state.last_kept_commit = data.commit
    if kind == "log" and data.kept:
        state.keep(current)


def _fold_decide(state: State, data: record.Decide, current: Iteration | None) -> None:
    if current is not None:
        current.decide = data
    phase = data.phase or (current.phase if current is not None else None)
    if data.exhausted and phase and phase not in state.exhausted:
        state.exhausted.append(phase)


def _fold(state: State, event: dict[str, Any], data: Any) -> None:
    """One non-neutral event onto ``state`` (everything but the step due)."""
    kind, current = event["type"], state.current
    if kind in ("init", "baseline", "finish"):
        setattr(state, kind, data)
    elif kind == "validate":
        state.validation = data
    elif kind == "profile":
        state.last_profile, state.last_profile_iteration = data, event.get("iteration")
    elif kind == "think":
        state.iterations.append(Iteration(n=len(state.iterations) + 1, profile=state.last_profile, think=data))
    elif kind == "commit" and event.get("iteration") is None:
        state.start_commit = state.last_kept_commit = data.commit
    elif kind == "skip":
        state.skipped.append(data.bottleneck)
        if current is not None:
            current.skip = data
    elif kind == "decide":
        _fold_decide(state, data, current)
    elif current is not None and kind in ("plan", "implement", "test", "benchmark", "log", "commit", "revert"):
        _fold_iteration(state, kind, data, current)


def derive(events: list[dict[str, Any]]) -> State:
    """Fold the journal into a ``State`` of typed events (``campaign.loop.record``), with the step due. Pure."""
    state = State()
    for event in events:
        kind = event["type"]
        data = record.load_event(event).data  # the loader of the event's schema version
        if kind in NEUTRAL_EVENTS:
            if kind == "run":
                state.run = data
            continue
        state.last_event = event
        _fold(state, event, data)
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
        t = THINK
        return (
            f"campaign think{opt} --hypothesis '{t['hypothesis'].placeholder}' "
            f"--option '{OPTION_PLACEHOLDERS[0]}' --option '{OPTION_PLACEHOLDERS[1]}' "
            f"--chosen '{t['chosen'].placeholder}' --predict '{t['predict'].placeholder}' "
            f"--risk '{t['risk'].placeholder}'"
        )
    if step is Step.PLAN:
        phases = state.open_phases()
        phase = phases[0] if phases else "<phase>"
        return (f"campaign plan{opt} --phase {_q(phase)} --change '{PLAN['change'].placeholder}' "
                f"--bottleneck '{PLAN['bottleneck'].placeholder}'")
    if step is Step.TRY:
        return f"campaign try{opt}"
    if step is Step.LOG:
        cmd = f"campaign log{opt} --surprise '<what surprised you, or None>'"
        if current is not None:
            if stopping.postmortem_required(current.predicted, current.speedup, state.postmortem_factor):
                cmd += " --why '<why the result missed the prediction>' --lesson '<what it teaches>'"
            verdict = current.benchmark.verdict if current.benchmark else None
            if current.test_passed and verdict in ("same", "inconclusive"):
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
