"""PROFILE: where the time goes - phase timings, cProfile top functions, line profiles.

Runs the target's fast case under the profilers (``measure/profiling.py``)
and records phase timings, each phase's share of the runtime and its Amdahl
bound (the whole-run speedup if that phase took no time at all). Refuses
nothing itself (only a step that is not due); the Amdahl rule is enforced
at PLAN (``steps/plan.py``), and the warnings here say early when no open
phase can reach the goal.
"""

from __future__ import annotations

from typing import Any

from campaign.loop import machine
from campaign.loop import stopping
from campaign.loop.steps.context import CampaignContext, Progress, jsonable_bound


def profile(ctx: CampaignContext, lines: list[str] | tuple[str, ...] = (), progress: Progress = None) -> dict[str, Any]:
    say = progress or (lambda line: None)
    with ctx.step("profile") as state:
        from campaign import vcs
        from campaign.measure.profiling import profile_workload

        target = ctx.target
        lines = list(lines) or list(getattr(target, "hot_functions", []) or [])
        say(f"PROFILE: phase timings and top functions of case {target.fast_case!r}"
            + (f", line timings of {', '.join(lines)}" if lines else "") + "...")
        data = ctx.measure(lambda: profile_workload(
            target, ctx.workspace, target.fast_case, lines=lines, timeout_s=target.timeout_s))
        data = dict(data)
        data.setdefault("commit", vcs.head_commit(ctx.repo))
        data.setdefault("case", target.fast_case)
        shares = data.get("shares") or {}
        amdahl = {p: jsonable_bound(stopping.amdahl_bound(s)) for p, s in shares.items() if s is not None}
        data["amdahl"] = {**amdahl, **{k: jsonable_bound(v) for k, v in (data.get("amdahl") or {}).items()}}
        iteration = len(state.iterations) + 1
        ctx.record_event("profile", data, iteration)
        return {
            "ok": True, "step": "profile", "iteration": iteration,
            "phases": data.get("phases"), "shares": shares, "amdahl": data["amdahl"],
            "total_s": data.get("total_s"), "top_functions": (data.get("top_functions") or [])[:10],
            "lines": data.get("lines") or {}, "notes": data.get("notes") or [], "method": data.get("method"),
            "share_spread": data.get("share_spread") or {},
            "warnings": amdahl_warnings(ctx.state()),
            "next": ctx.next_step(),
        }


def needed_speedup(state: machine.State) -> float | None:
    """The speedup still needed for the goal, over what the kept iterations reached (pure)."""
    goal = state.init.goal_speedup if state.init else None
    if not goal:
        return None
    return goal / (state.cumulative or 1.0)


def amdahl_warnings(state: machine.State) -> list[str]:
    """A warning when even the largest open phase cannot reach the goal (pure)."""
    profile: dict[str, Any] = state.last_profile or {}
    shares = profile.get("shares") or {}
    needed = needed_speedup(state)
    if not shares or needed is None or needed <= 1:
        return []
    open_phases = state.open_phases()
    if not open_phases:
        return []
    best = open_phases[0]
    bound = stopping.amdahl_bound(shares[best] or 0)
    if bound < needed:
        return [f"Amdahl: the largest open phase {best!r} ({shares[best]:.0%}) caps the whole-run speedup "
                f"at {bound:.2f}x, short of the {needed:.2f}x still needed for the goal, for a change to that phase "
                f"alone (one that speeds up several: `plan --phase \"a+b\"`, or a function that runs in several: "
                f"`plan --function NAME`, bounded by its cumulative share)."]
    return []
