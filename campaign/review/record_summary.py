"""What a reviewer reads first: one row per iteration, and the campaign's summary (pure, over the journal's events).

``iteration_rows`` and ``summary`` are what ``campaign review`` prints and the
HTML report shows (``campaign.review.report``).
"""

from __future__ import annotations

from statistics import median
from typing import Any

from campaign.loop.record import cumulative_speedup, load_data
from campaign.review.record_events import (Event, data_of, first_of, is_kept, iteration_events, iterations, last_of,
                                           of_type, prediction_of, speedup_of)


def iteration_rows(events: list[Event]) -> list[dict[str, Any]]:
    """One row per iteration: what a reviewer reads first."""
    rows = []
    for n in iterations(events):
        own = iteration_events(events, n)
        think, plan, bench, log = first_of(own, "think"), last_of(own, "plan"), last_of(own, "benchmark"), last_of(own, "log")
        test, revert, commit = last_of(own, "test"), last_of(own, "revert"), last_of(own, "commit")
        bd = data_of(bench)
        vs_base = bd.get("vs_baseline") or {}
        rows.append(
            {
                "iteration": n,
                "phase": data_of(plan).get("phase"),
                "change": data_of(plan).get("change"),
                "bottleneck": data_of(plan).get("bottleneck"),
                "predicted": prediction_of(think),
                "measured": speedup_of(bench),
                "ci": bd.get("ci"),
                "ci_level": bd.get("ci_level"),
                "ci_kind": bd.get("ci_kind"),
                "machine_busy": load_data("benchmark", bd).load.note,
                "verdict": bd.get("verdict"),
                "cumulative": cumulative_speedup(bd),  # the one definition (campaign.loop.record)
                "cumulative_ci": vs_base.get("ci"),
                "full": bd.get("full"),
                "test_passed": data_of(test).get("passed") if test else None,
                "test_failure": _first_failure(data_of(test)) if test and not data_of(test).get("passed") else None,
                "kept": is_kept(own),
                "revert_reason": data_of(revert).get("reason") if revert else None,
                "commit": data_of(commit).get("commit") if commit else None,
                "surprise": data_of(log).get("surprise") if log else None,
                "postmortem": data_of(log).get("postmortem") if log else None,
                "patch": data_of(last_of(own, "implement")).get("patch"),
                # docs/integrity.md: which guards ran on the attempt, and the mark of a claim big enough to suspect
                "guards": bd.get("guards"),
                "suspicion": bd.get("suspicion"),
                "memory": _memory(bd, data_of(log)),  # peak RSS before -> after (campaign.measure.memory), or None
                "bench_cost": _bench_cost(bd) if bench else None,
            }
        )
    return rows


def _bench_cost(bench: dict[str, Any]) -> dict[str, Any]:
    """What BENCHMARK spent: blocks and about how many seconds (blocks x median block + calibration)."""
    cost = bench.get("block_cost") or {}
    blocks = bench.get("blocks")
    seconds = None
    if isinstance(blocks, int) and isinstance(cost.get("block_s"), (int, float)):
        seconds = blocks * cost["block_s"] + (cost.get("calibration_s") or 0)
    return {"blocks": blocks, "seconds": seconds}


def _memory(bench: dict[str, Any], log: dict[str, Any]) -> dict[str, Any] | None:
    """Peak memory as LOG judged it (limit, accept), else as BENCHMARK measured it; None on older records."""
    from campaign.measure import memory

    return log.get("memory") or memory.change(bench, None)


def _first_failure(test: dict[str, Any]) -> str | None:
    """The first reason a TEST failed, in one line."""
    for failure in test.get("failures") or []:
        text = failure.get("message") or failure.get("output")
        if text:
            return " ".join(str(text).split())
    if test.get("out_of_scope"):
        return "edits outside the scope: " + ", ".join(test["out_of_scope"])
    cmd = test.get("test_command") or {}
    if cmd and not cmd.get("passed"):
        names = [t.get("name") for t in cmd.get("failed_tests") or [] if t.get("name")]
        return f"test command `{cmd.get('cmd')}` exited {cmd.get('rc')}" + (f": failed {', '.join(names[:5])}" if names else "")
    return None


def full_case_result(events: list[Event]) -> dict[str, Any] | None:
    """The headline: the final tree vs the baseline on the full case (FINISH), and whether its outputs were checked."""
    finish = data_of(last_of(events, "finish"))
    check = data_of(last_of(events, "validate"))
    if not finish and not check:
        return None
    full = finish.get("full") or {}
    validation = finish.get("validation") or (check if not finish else {})
    return {
        "case": full.get("case") or check.get("case"),
        "speedup": full.get("speedup"),
        "ci": full.get("ci"),
        "verdict": full.get("verdict"),
        "outputs_checked": bool(validation),
        "outputs_match": validation.get("passed") if validation else None,
        "failure": _first_failure(check) if check and not check.get("passed") and not finish else None,
    }


def _decisions(events: list[Event]) -> list[str]:
    """Every written decision (stop, exhausted, skip) as the logs render it."""
    from campaign.loop.render import decision_views

    return [d["text"] for d in decision_views(events)]


def _dominant(events: list[Event]) -> str | None:
    """The largest phase of the latest profile: where the time goes now (exhausted or not)."""
    shares = data_of(last_of(events, "profile")).get("shares") or {}
    shares = {k: v for k, v in shares.items() if isinstance(v, (int, float))}
    return max(shares, key=lambda k: shares[k]) if shares else None


def summary(events: list[Event]) -> dict[str, Any]:
    init, finish, baseline = data_of(first_of(events, "init")), data_of(last_of(events, "finish")), data_of(first_of(events, "baseline"))
    rows = iteration_rows(events)
    kept = [r for r in rows if r["kept"]]
    final = finish.get("final_speedup")
    if final is None and kept:
        final = kept[-1]["cumulative"]
    target = init.get("target") or {}
    return {
        "name": init.get("name"),
        "target": target.get("name") if isinstance(target, dict) else target,
        "goal_speedup": init.get("goal_speedup"),
        "iterations": len(rows),
        "kept": len(kept),
        "reverted": len(rows) - len(kept),
        "final_speedup": final,
        "final_ci": finish.get("ci"),
        "finished": bool(finish),
        "baseline_commit": baseline.get("commit") or init.get("base_commit"),
        "dominant_phase": _dominant(events) or finish.get("dominant_phase"),
        "full_case": full_case_result(events),
        "stop_reason": next((data_of(e).get("reason") for e in reversed(of_type(events, "decide")) if data_of(e).get("stop")), None),
        "decisions": _decisions(events),
        "median_gain": median([r["measured"] for r in kept if r["measured"]]) if kept and any(r["measured"] for r in kept) else None,
    }
