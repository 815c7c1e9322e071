"""DECIDE: continue, re-profile or stop - and SKIP, giving up on a bottleneck with a reason.

The stopping rules themselves are pure (``loop/stopping.py``): target
speedup reached; 3 consecutive iterations each under the minimum gain; the
iteration cap; every phase exhausted or skipped. DECIDE refuses, between
iterations, anything but ``--exhausted --why T`` on an open phase of the
latest profile. SKIP refuses a bottleneck with fewer than 3 failed attempts,
and a skip without ``--why``.
"""

from __future__ import annotations

from typing import Any

from campaign.errors import RuleError, StepError
from campaign.loop import machine as loop
from campaign.loop import stopping
from campaign.loop.machine import Step
from campaign.loop.steps.context import CampaignContext, required_text


def decide(ctx: CampaignContext, exhausted: bool = False, why: str | None = None,
           phase: str | None = None) -> dict[str, Any]:
    with ctx._step("decide") as state:
        between = state.step in (Step.PROFILE, Step.THINK)
        if between and not exhausted:
            due = ctx.command_for(state)
            raise StepError(
                f"`campaign decide` may not come next: the step due is {loop.DESCRIPTIONS[state.step]}. "
                f"Between iterations only `campaign decide --exhausted --why T` (no idea left for a phase) "
                f"is allowed. Run: {due}", state.step.value, due)
        if exhausted:
            why = required_text(why, "--why", "say why the current bottleneck is exhausted (a future agent may find a way).")
        it = state.current
        if between:  # no attempt in progress: the named phase, or the largest open one
            open_phases = state.open_phases()
            phase = phase or (open_phases[0] if open_phases else None)
            if phase is None or phase not in open_phases:
                raise RuleError(f"phase {phase!r} is not an open phase of the latest profile "
                                f"(open: {', '.join(open_phases) or 'none'}); name one with --phase.")
        else:
            phase = (it.skip or {}).get("bottleneck") or it.phase
        done = list(state.exhausted) + list(state.skipped) + ([phase] if exhausted and phase else [])
        shares = (state.last_profile or {}).get("shares") or {}
        init = state.init or {}
        decision = stopping.decide(
            state.attempts(), state.cumulative, init.get("goal_speedup") or float("inf"),
            init.get("max_iterations") or stopping.DEFAULT_MAX_ITERATIONS, shares, done,
            min_gain=init.get("min_gain") or stopping.MIN_GAIN,
        )
        data = {**decision.to_dict(), "exhausted": bool(exhausted), "phase": phase if exhausted else None,
                "why": why if exhausted else None, "cumulative_speedup": state.cumulative}
        n = None if between or it is None else it.n
        ctx._record("decide", data, n)
        return {"ok": True, "step": "decide", "iteration": n, **data, "next": ctx._next()}


def skip(ctx: CampaignContext, why: str) -> dict[str, Any]:
    with ctx._step("skip") as state:
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
        ctx._record("skip", data, it.n)
        return {"ok": True, "step": "skip", "iteration": it.n, **data, "next": ctx._next()}
