"""PLAN: the phase (or function) to attack and the change, checked against the latest profile.

A change may attack several phases at once (``--phase "parse+render"``, or
commas): their shares add up, and the Amdahl bound is that of the sum (one
function change that sped up three phases measured 1.53x where one phase
capped it at 1.43x). Refuses (``plan_violation``, pure) a phase the latest
profile did not measure, a phase declared exhausted or skipped, and (Amdahl) a phase under
5% of the runtime unless ``--override-amdahl REASON`` says why (the reason is
logged); refuses an empty ``--change`` or ``--phase``. Warns when even an
infinitely fast phase falls short of the speedup the goal still needs.

A plan may name a function instead (``--function pkg.mod:func``, or beside
``--phase``): the Amdahl share is then the function's cumulative time in the
profiled run (all it can remove, in whatever phases it runs), and a function
the profile's top functions do not list is refused.
"""

from __future__ import annotations

from typing import Any

from campaign.errors import RuleError
from campaign.loop import machine
from campaign.loop import record, stopping
from campaign.loop.step_fields import PLAN, as_reason
from campaign.loop.steps.context import CampaignContext, jsonable_bound, required_text
from campaign.loop.steps.profile import needed_speedup


def plan(ctx: CampaignContext, phase: str | None, change: str, bottleneck: str | None = None,
         override_amdahl: str | None = None, function: str | None = None) -> dict[str, Any]:
    with ctx.step("plan") as state:
        change = required_text(change, "--change", as_reason(PLAN["change"]))
        function = (function or "").strip() or None
        if function is None:
            phase = required_text(phase, "--phase", "the profiled phase the change attacks (or --function).")
        override = override_amdahl.strip() if override_amdahl and override_amdahl.strip() else None
        problem = plan_violation(state, phase, override, function)
        if problem:
            raise RuleError(problem)
        profile = state.last_profile or {}
        names = plan_phases(phase) if phase and phase.strip() else []
        phase = "+".join(names) if names else function_key(function)
        share, bound = combined_share(profile, names) if names else (None, None)
        phase_share = share
        fn = function_share(profile, function) if function else None
        if fn is not None:
            share, bound = fn["share"], stopping.amdahl_bound(fn["share"])
        needed = needed_speedup(state)
        warnings = []
        what = f"function {function!r}" if fn is not None else f"phase {phase!r}"
        if bound is not None and needed is not None and bound < needed:
            warnings.append(
                f"Amdahl: {what} is {share:.0%} of the runtime, so even making it infinitely fast gives "
                f"at most {bound:.2f}x, short of the {needed:.2f}x still needed for the goal: the goal needs "
                f"more than this {'function' if fn is not None else 'phase'}."
            )
        data = {"phase": phase, "change": change, "bottleneck": (bottleneck or "").strip() or None,
                "phase_share": share, "amdahl_bound": jsonable_bound(bound), "override": override,
                "warnings": warnings}
        if fn is not None:
            data.update(function=function, function_row={k: fn["row"].get(k) for k in ("file", "line", "function")},
                        function_share_basis=fn["basis"], phases_share=phase_share)
        ctx.record_event("plan", data, state.current.n)
        return {"ok": True, "step": "plan", "iteration": state.current.n, "phase": phase,
                "phase_share": share, "amdahl_bound": jsonable_bound(bound), "override": override,
                "function": function, "warnings": warnings,
                "scope": list(ctx.target.scope), "next": ctx.next_step()}


def function_key(function: str | None) -> str:
    """What a plan on a function alone records as its bottleneck key (``phase``): ``<spec>()``. Pure."""
    return f"{function}()" if function else ""


def _file_matches(file: str, where: str) -> bool:
    """Does a profile row's ``file`` (relative path) match ``where`` (``pkg.mod`` or ``path/mod.py``)? Pure."""
    path = where if where.endswith(".py") else where.replace(".", "/") + ".py"
    file = file.replace("\\", "/")
    candidates = (path, path[:-3] + "/__init__.py")
    return any(file == c or file.endswith("/" + c) for c in candidates)


def find_function(rows: list[dict[str, Any]], spec: str) -> tuple[list[dict[str, Any]], str]:
    """The profile rows ``spec`` names (``func``, ``Class.method``, ``pkg.mod:func``, ``path/mod.py:func``). Pure."""
    where, _, name = spec.rpartition(":")
    leaf = name.split(".")[-1]
    found = [r for r in rows if r.get("function") in (name, leaf) and (not where or _file_matches(str(r.get("file")), where))]
    return found, name


def function_share(profile: dict[str, Any], spec: str) -> dict[str, Any] | None:
    """The share of the profiled run spent in ``spec`` and below it (cProfile's cumulative time), or None. Pure.

    The denominator is the profiled run's own time (``cprofile_total_s``); a
    profile without it uses the largest lower bound the rows give (the largest
    cumulative time, the sum of own times), so the share can only be too high
    and the Amdahl bound too kind, never a false refusal (``basis`` says which).
    """
    rows = profile.get("top_functions") or []
    found, _ = find_function(rows, spec)
    if len(found) != 1:
        return None
    row = found[0]
    total, basis = profile.get("cprofile_total_s"), "profiled run"
    if not total:
        total = max([float(r.get("cumtime") or 0) for r in rows] + [sum(float(r.get("tottime") or 0) for r in rows)])
        basis = "estimate from the listed functions (an upper bound of the share)"
    if not total:
        return None
    return {"share": min(1.0, float(row.get("cumtime") or 0) / total), "row": row, "basis": basis}


def function_problem(profile: dict[str, Any], spec: str) -> str | None:
    """Why ``spec`` cannot be planned on (not in the latest profile's top functions, or ambiguous), or None. Pure."""
    rows = profile.get("top_functions") or []
    found, name = find_function(rows, spec)
    listed = ", ".join(f"{r.get('file')}:{r.get('function')}" for r in rows[:8]) or "none"
    if not found:
        return (f"function {spec!r} is not among the latest profile's top functions ({listed}); name one the "
                f"profile lists (`campaign profile` prints them; a module or file narrows it: pkg.mod:{name}), "
                f"or plan a phase.")
    if len(found) > 1:
        where = ", ".join(f"{r.get('file')}:{r.get('line')}" for r in found)
        return (f"function {spec!r} names {len(found)} profiled functions ({where}); add its module or file "
                f"(e.g. pkg.mod:{name} or path/mod.py:{name}).")
    if function_share(profile, spec) is None:
        return f"the latest profile has no timing for function {spec!r}; run `campaign profile` again."
    return None


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


def plan_violation(state: machine.State, phase: str | None, override: str | None,
                   function: str | None = None) -> str | None:
    """The PLAN rules (pure): the message of the first one ``phase`` (and ``function``) breaks, or None.

    The phase must be one the latest profile measured, a function one of its
    top functions (``function_problem``); neither exhausted or skipped; and
    (Amdahl) not under 5% of the runtime unless ``override`` gives a reason -
    the function's share when one is named (a change in one function may
    speed up several phases: its cumulative time is what it can remove).
    ``campaign plan`` raises it; ``campaign run`` sends it back to the agent
    before anything is recorded.
    """
    profile = state.last_profile or {}
    names = plan_phases(phase) if phase and phase.strip() else []
    key = "+".join(names) if names else function_key(function)
    problem = (_unmeasured(profile, names) or (function_problem(profile, function) if function else None)
               or _closed(state, key, names))
    if problem:
        return problem
    if function:
        share, what = function_share(profile, function)["share"], f"function {function!r}"
    else:
        (share, _), what = combined_share(profile, names), f"phase {key!r}"
    if share is not None and share < stopping.SIGNIFICANT_SHARE and not override:
        return (f"Amdahl: {what} is only {share:.0%} of the runtime, so even making it infinitely fast "
                f"gives at most {stopping.amdahl_bound(share):.2f}x overall. Plan a bigger phase "
                f"({', '.join([p for p in state.open_phases() if p != key][:3]) or 'none'}), or pass "
                f"--override-amdahl REASON (an agent: override_amdahl) to attack it anyway (the reason is logged).")
    return None


def _unmeasured(profile: dict[str, Any], names: list[str]) -> str | None:
    measured = sorted(set(profile.get("shares") or {}) | set(profile.get("phases") or {}))
    for name in names:
        if name not in measured:
            return (f"phase {name!r} was not measured by the latest profile (phases: {', '.join(measured) or 'none'}). "
                    f"PLAN attacks a phase the profile showed; pick one of those (several: --phase \"a+b\"; a "
                    f"function: --function NAME).")
    return None


def _closed(state: machine.State, key: str, names: list[str]) -> str | None:
    closed = set(state.exhausted) | set(state.skipped)
    if key in closed or (len(names) == 1 and names[0] in closed):
        return (f"{'phase' if names else 'function'} {key!r} was declared exhausted or skipped earlier in this "
                f"campaign; pick another phase ({', '.join(state.open_phases()) or 'none left'}).")
    return None
