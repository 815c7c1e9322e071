"""PLAN: the phase to attack and the change, checked against the latest profile.

A change may attack several phases at once (``--phase "parse+render"``, or
commas): their shares add up, and the Amdahl bound is that of the sum (one
function change that sped up three phases measured 1.53x where one phase
capped it at 1.43x). Refuses (``plan_violation``, pure) a phase the latest
profile did not measure, a phase declared exhausted or skipped, and (Amdahl) a phase under
5% of the runtime unless ``--override-amdahl REASON`` says why (the reason is
logged); refuses an empty ``--change`` or ``--phase``. Warns when even an
infinitely fast phase falls short of the speedup the goal still needs.
"""

from __future__ import annotations

from typing import Any

from campaign.errors import RuleError
from campaign.loop import machine as loop
from campaign.loop import record, stopping
from campaign.loop.steps.context import CampaignContext, jsonable_bound, required_text
from campaign.loop.steps.profile import needed_speedup


def plan(ctx: CampaignContext, phase: str, change: str, bottleneck: str | None = None,
         override_amdahl: str | None = None) -> dict[str, Any]:
    with ctx._step("plan") as state:
        change = required_text(change, "--change", "what you will change.")
        phase = required_text(phase, "--phase", "the profiled phase the change attacks.")
        override = override_amdahl.strip() if override_amdahl and override_amdahl.strip() else None
        problem = plan_violation(state, phase, override)
        if problem:
            raise RuleError(problem)
        profile = state.last_profile or {}
        names = plan_phases(phase)
        phase = "+".join(names)
        share, bound = combined_share(profile, names)
        needed = needed_speedup(state)
        warnings = []
        if bound is not None and needed is not None and bound < needed:
            warnings.append(
                f"Amdahl: phase {phase!r} is {share:.0%} of the runtime, so even making it infinitely fast gives "
                f"at most {bound:.2f}x, short of the {needed:.2f}x still needed for the goal: the goal needs "
                f"more than this phase."
            )
        data = {"phase": phase, "change": change, "bottleneck": (bottleneck or "").strip() or None,
                "phase_share": share, "amdahl_bound": jsonable_bound(bound), "override": override,
                "warnings": warnings}
        ctx._record("plan", data, state.current.n)
        return {"ok": True, "step": "plan", "iteration": state.current.n, "phase": phase,
                "phase_share": share, "amdahl_bound": jsonable_bound(bound), "override": override,
                "warnings": warnings,
                "scope": list(ctx.target.scope), "next": ctx._next()}


def plan_phases(phase: str) -> list[str]:
    """The phases one ``--phase`` names: ``a``, ``a+b`` or ``a,b`` (order kept, duplicates dropped). Pure."""
    names = [p.strip() for p in phase.replace(",", "+").split("+") if p.strip()]
    return list(dict.fromkeys(names)) or [phase.strip()]


def combined_share(profile: dict[str, Any], names: list[str]) -> tuple[float | None, float | None]:
    """The share of the runtime the named phases take together (capped at 1), and its Amdahl bound. Pure."""
    shares = profile.get("shares") or {}
    if len(names) == 1:
        share, bound = shares.get(names[0]), record.load_data("profile", profile).bound(names[0])
        return share, (stopping.amdahl_bound(share) if bound is None and share is not None else bound)
    values = [shares.get(n) for n in names]
    if any(v is None for v in values):
        return None, None
    share = min(1.0, sum(values))
    return share, stopping.amdahl_bound(share)


def plan_violation(state: loop.State, phase: str, override: str | None) -> str | None:
    """The PLAN rules (pure): the message of the first one ``phase`` breaks, or None.

    The phase must be one the latest profile measured, not exhausted or
    skipped, and (Amdahl) not under 5% of the runtime unless ``override``
    gives a reason. ``campaign plan`` raises it; ``campaign run`` sends it
    back to the agent before anything is recorded.
    """
    profile = state.last_profile or {}
    shares = profile.get("shares") or {}
    measured = sorted(set(shares) | set(profile.get("phases") or {}))
    names = plan_phases(phase)
    for name in names:
        if name not in measured:
            return (f"phase {name!r} was not measured by the latest profile (phases: {', '.join(measured) or 'none'}). "
                    f"PLAN attacks a phase the profile showed; pick one of those (several: --phase \"a+b\").")
    phase = "+".join(names)
    if phase in state.exhausted or phase in state.skipped or (len(names) == 1 and (
            names[0] in state.exhausted or names[0] in state.skipped)):
        return (f"phase {phase!r} was declared exhausted or skipped earlier in this campaign; pick another "
                f"phase ({', '.join(state.open_phases()) or 'none left'}).")
    share, _ = combined_share(profile, names)
    if share is not None and share < stopping.SIGNIFICANT_SHARE and not override:
        return (f"Amdahl: phase {phase!r} is only {share:.0%} of the runtime, so even making it infinitely fast "
                f"gives at most {stopping.amdahl_bound(share):.2f}x overall. Plan a bigger phase "
                f"({', '.join([p for p in state.open_phases() if p != phase][:3]) or 'none'}), or pass "
                f"--override-amdahl REASON (an agent: override_amdahl) to attack it anyway (the reason is logged).")
    return None
