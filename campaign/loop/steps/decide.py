"""DECIDE: continue, re-profile or stop - and SKIP, giving up on a bottleneck with a reason.

The stopping rules themselves are pure (``loop/stopping.py``): target
speedup reached; the agent's budget spent (``campaign run --budget-usd``,
``--budget-tokens``); 3 consecutive iterations each under the minimum gain; the
iteration cap; every phase exhausted or skipped. ``--stop --why T`` is the
honest way out when none holds (out of time, the goal changed): a recorded,
rendered decision, after which FINISH is due. DECIDE refuses, between
iterations, anything but ``--exhausted --why T`` on an open phase of the
latest profile or ``--stop --why T``; a stop or an exhaustion without a
reason. SKIP refuses a bottleneck with fewer than 3 failed attempts, and a
skip without ``--why``.
"""

from __future__ import annotations

from typing import Any

from campaign.errors import RuleError, StepError, UserError
from campaign.loop import machine
from campaign.loop import record, stopping, usage
from campaign.loop.machine import Step
from campaign.loop.steps.context import CampaignContext, required_text


def _refuse_between(ctx: CampaignContext, state: machine.State) -> None:
    due = ctx.command_for(state)
    raise StepError(
        f"`campaign decide` may not come next: the step due is {machine.DESCRIPTIONS[state.step]}. "
        f"Between iterations only `campaign decide --exhausted --why T` (no idea left for a phase) "
        f"or `campaign decide --stop --why T` (end the campaign) is allowed. Run: {due}",
        state.step.value, due)


def _phase(state: machine.State, between: bool, phase: str | None) -> str | None:
    """The phase a decision is about: between iterations the named (or largest) open one, else the attempt's."""
    if not between:
        it = state.current
        return (it.skip.bottleneck if it.skip else None) or it.phase
    open_phases = state.open_phases()
    phase = phase or (open_phases[0] if open_phases else None)
    if phase is None or phase not in open_phases:
        raise RuleError(f"phase {phase!r} is not an open phase of the latest profile "
                        f"(open: {', '.join(open_phases) or 'none'}); name one with --phase.")
    return phase


def _rules(ctx: CampaignContext, state: machine.State, done: list[str]) -> stopping.Decision:
    """The stopping rules applied to the journal: goal, budget, diminishing returns, the cap."""
    shares = (state.last_profile.shares if state.last_profile else None) or {}
    init = state.init or record.Init()
    spent = usage.summarize(ctx.journal.read_protected().events)["total"]
    return stopping.decide(
        state.attempts(), state.cumulative, init.goal_speedup or float("inf"),
        init.max_iterations or stopping.DEFAULT_MAX_ITERATIONS, shares, done,
        min_gain=init.min_gain or stopping.MIN_GAIN,
        spent=(spent["cost_usd"], spent["tokens"]), budget=usage.budget(state.run),
    )


def decide(ctx: CampaignContext, exhausted: bool = False, why: str | None = None,
           phase: str | None = None, stop: bool = False) -> dict[str, Any]:
    if stop and exhausted:
        raise UserError("--stop and --exhausted are two decisions: stop the campaign (--stop --why T) or "
                        "declare a phase exhausted (--exhausted --why T), not both at once.")
    with ctx.step("decide") as state:
        between = state.step in (Step.PROFILE, Step.THINK)
        if between and not (exhausted or stop):
            _refuse_between(ctx, state)
        n = None if between or state.current is None else state.current.n
        if stop:
            why = required_text(why, "--why", "say why you stop the campaign (out of time, goal changed, ...): "
                                              "the reason is recorded and rendered in the logs and the report.")
            data = {**stopping.declared_stop(why).to_dict(), "exhausted": False, "phase": None, "why": why,
                    "cumulative_speedup": state.cumulative}
            ctx.record_event("decide", data, n)
            return {"ok": True, "step": "decide", "iteration": n, **data, "next": ctx.next_step()}
        if exhausted:
            why = required_text(why, "--why", "say why the current bottleneck is exhausted (a future agent may find a way).")
        phase = _phase(state, between, phase)
        done = list(state.exhausted) + list(state.skipped) + ([phase] if exhausted and phase else [])
        data = {**_rules(ctx, state, done).to_dict(), "exhausted": bool(exhausted), "phase": phase if exhausted else None,
                "why": why if exhausted else None, "cumulative_speedup": state.cumulative}
        ctx.record_event("decide", data, n)
        return {"ok": True, "step": "decide", "iteration": n, **data, "next": ctx.next_step()}


def skip(ctx: CampaignContext, why: str) -> dict[str, Any]:
    with ctx.step("skip") as state:
        why = required_text(why, "--why", "write why you are stuck on this bottleneck (a future agent may find a solution).")
        it = state.current
        phase = it.phase if it else None
        failed = stopping.failed_attempts_on(state.attempts(), phase) if phase else 0
        if not phase or failed < stopping.SKIP_AFTER:
            raise RuleError(
                f"skip is allowed only after {stopping.SKIP_AFTER} failed attempts on one bottleneck; "
                f"phase {phase!r} has {failed}. Keep trying a different approach (run the step due: "
                f"{ctx.command_for(state)})."
            )
        data = {"bottleneck": phase, "why": why, "failed_attempts": failed}
        ctx.record_event("skip", data, it.n)
        return {"ok": True, "step": "skip", "iteration": it.n, **data, "next": ctx.next_step()}
