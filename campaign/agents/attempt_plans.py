"""The pure parts of ``campaign run --parallel K``: THINK's extra rules, its plans, the live view's lines.

Apart from ``parallel`` (the driver) so that they are read and tested
without threads, git or an agent.
"""

from __future__ import annotations

from typing import Any

from campaign.agents.runner import plan_problem
from campaign.loop import attempts as att


def parallel_problem(state, answer: dict[str, Any], wanted: int) -> str | None:
    """The extra THINK rules with ``--parallel``: at least ``wanted`` options, each a plan the rules allow (pure)."""
    if answer.get("action") != "optimize":
        return None
    plans = answer.get("attempts") or []
    if wanted > 1 and len(plans) < wanted:
        return (f"attempts: give at least {wanted} options to try at once (`campaign run --parallel`): a list of "
                f"objects with title, chosen, predicted_speedup, phase and change (and hypothesis, risk, key)")
    for index, plan in enumerate(plans):
        problem = plan_problem(state, {"action": "optimize", **plan})
        if problem:
            return f"attempts/{index}/{problem}"
    return None


def attempt_plans(answer: dict[str, Any], wanted: int) -> list[dict[str, Any]]:
    """The plans of a THINK answer, the answer's own hypothesis, risk and options filled in (pure)."""
    shared = {k: answer.get(k) for k in ("hypothesis", "risk", "bottleneck", "override_amdahl", "key")}
    plans = answer.get("attempts") or [{k: answer.get(k) for k in ("title", "chosen", "predicted_speedup", "phase",
                                                                   "change")}]
    out = []
    for plan in plans[:wanted]:
        full = {**shared, **{k: v for k, v in plan.items() if v is not None}}
        full["options"] = list(answer.get("options") or [full["chosen"]])
        out.append(full)
    return out


def live_rows(attempts: list[att.Attempt], now: float, since: dict[str, float]) -> list[dict[str, Any]]:
    """Each attempt's step, host and elapsed seconds (in this run), for the progress lines (pure)."""
    return [{"attempt": a.id, "title": a.plan.get("title"),
             "step": "test+benchmark" if a.status == "measuring" else att.LIVE_STEPS.get(a.status, a.status),
             "host": a.host, "elapsed_s": round(now - since.get(a.id, now), 1)} for a in attempts]


def live_line(rows: list[dict[str, Any]]) -> str:
    return "attempts: " + "; ".join(f"{r['attempt']} {r['step']}" + (f" on {r['host']}" if r["host"] else "")
                                    + f" {r['elapsed_s']:.0f} s" for r in rows)
