"""What a reviewer reads first: one row per iteration, and the campaign's summary (pure, over the journal's events).

``iteration_rows`` and ``summary`` are what ``campaign review`` prints and the
HTML report shows (``campaign.review.report``). Each event's data is read as
its typed class (``campaign.loop.record``); a value the rows show is the
recorded one, as it is in the journal.
"""

from __future__ import annotations

from statistics import median
from typing import Any

from campaign.loop.record import (Baseline, Benchmark, Commit, Decide, Finish, FullCase, Implement, Init, Log, Plan,
                                  Profile, Revert, Test, Validate)
from campaign.review.record_events import (Event, first_of, is_kept, iteration_events, iterations, last_of, of_type,
                                           prediction_of, speedup_of, typed)


def iteration_rows(events: list[Event]) -> list[dict[str, Any]]:
    """One row per iteration: what a reviewer reads first."""
    rows = []
    for n in iterations(events):
        own = iteration_events(events, n)
        think, plan, bench, log = first_of(own, "think"), last_of(own, "plan"), last_of(own, "benchmark"), last_of(own, "log")
        test, revert, commit = last_of(own, "test"), last_of(own, "revert"), last_of(own, "commit")
        bd, tested, logged = typed(bench, Benchmark), typed(test, Test), typed(log, Log)
        planned = typed(plan, Plan)
        rows.append(
            {
                "iteration": n,
                "phase": planned.phase,
                "change": planned.change,
                "bottleneck": planned.bottleneck,
                "predicted": prediction_of(think),
                "measured": speedup_of(bench),
                "ci": bd.ci,
                "ci_level": bd.ci_level,
                "ci_kind": bd.ci_kind,
                "machine_busy": bd.load.note,
                "verdict": bd.verdict,
                "cumulative": bd.cumulative,  # the one definition (campaign.loop.record.cumulative_speedup)
                "cumulative_ci": bd.vs_baseline.ci,
                "full": bd.full,
                "test_passed": tested.passed if test else None,
                "test_failure": _first_failure(tested) if test and not tested.passed else None,
                "kept": is_kept(own),
                "revert_reason": typed(revert, Revert).reason if revert else None,
                "commit": typed(commit, Commit).commit if commit else None,
                "surprise": logged.surprise if log else None,
                "postmortem": logged.postmortem if log else None,
                "patch": typed(last_of(own, "implement"), Implement).patch,
                # docs/integrity.md: which guards ran on the attempt, and the mark of a claim big enough to suspect
                "guards": bd.guards,
                "suspicion": bd.suspicion,
                "memory": _memory(bd, logged),  # peak RSS before -> after (campaign.measure.memory), or None
                "bench_cost": _bench_cost(bd) if bench else None,
            }
        )
    return rows


def _bench_cost(bench: Benchmark) -> dict[str, Any]:
    """What BENCHMARK spent: blocks and about how many seconds (blocks x median block + calibration)."""
    cost = bench.block_cost or {}
    blocks = bench.blocks
    seconds = None
    if isinstance(blocks, int) and isinstance(cost.get("block_s"), (int, float)):
        seconds = blocks * cost["block_s"] + (cost.get("calibration_s") or 0)
    return {"blocks": blocks, "seconds": seconds}


def _memory(bench: Benchmark, log: Log) -> dict[str, Any] | None:
    """Peak memory as LOG judged it (limit, accept), else as BENCHMARK measured it; None on older records."""
    from campaign.measure import memory

    return log.memory or memory.change(bench, None)


def _first_failure(test: Test | Validate) -> str | None:
    """The first reason a TEST failed, in one line."""
    for failure in test.failures:
        text = failure.message or failure.output
        if text:
            return " ".join(str(text).split())
    if test.out_of_scope:
        return "edits outside the scope: " + ", ".join(test.out_of_scope)
    cmd = test.test_command
    if cmd and not cmd.passed:
        names = [t["name"] for t in cmd.failed_tests or [] if t.get("name")]
        return f"test command `{cmd.cmd}` exited {cmd.rc}" + (f": failed {', '.join(names[:5])}" if names else "")
    return None


def full_case_result(events: list[Event]) -> dict[str, Any] | None:
    """The headline: the final tree vs the baseline on the full case (FINISH), and whether its outputs were checked."""
    finish = typed(last_of(events, "finish"), Finish)
    check = typed(last_of(events, "validate"), Validate)
    if not finish and not check:
        return None
    full = finish.full or FullCase()
    validation = finish.validation or (check if not finish else None)
    return {
        "case": full.case or check.case,
        "speedup": full.speedup,
        "ci": full.ci,
        "verdict": full.verdict,
        "outputs_checked": bool(validation),
        "outputs_match": validation.passed if validation else None,
        "failure": _first_failure(check) if check and not check.passed and not finish else None,
    }


def _decisions(events: list[Event]) -> list[str]:
    """Every written decision (stop, exhausted, skip) as the logs render it."""
    from campaign.loop.render import decision_views

    return [d["text"] for d in decision_views(events)]


def _dominant(events: list[Event]) -> str | None:
    """The largest phase of the latest profile: where the time goes now (exhausted or not)."""
    shares = typed(last_of(events, "profile"), Profile).shares or {}
    shares = {k: v for k, v in shares.items() if isinstance(v, (int, float))}
    return max(shares, key=lambda k: shares[k]) if shares else None


def summary(events: list[Event]) -> dict[str, Any]:
    init, finish = typed(first_of(events, "init"), Init), typed(last_of(events, "finish"), Finish)
    baseline = typed(first_of(events, "baseline"), Baseline)
    rows = iteration_rows(events)
    kept = [r for r in rows if r["kept"]]
    final = finish.final_speedup
    if final is None and kept:
        final = kept[-1]["cumulative"]
    return {
        "name": init.name,
        "target": init.target_name if init.target else None,
        "goal_speedup": init.goal_speedup,
        "iterations": len(rows),
        "kept": len(kept),
        "reverted": len(rows) - len(kept),
        "final_speedup": final,
        "final_ci": finish.ci,
        "finished": bool(finish),
        "baseline_commit": baseline.commit or init.base_commit,
        "dominant_phase": _dominant(events) or finish.dominant_phase,
        "full_case": full_case_result(events),
        "stop_reason": next((d.reason for d in (typed(e, Decide) for e in reversed(of_type(events, "decide")))
                             if d.stop), None),
        "decisions": _decisions(events),
        "median_gain": median([r["measured"] for r in kept if r["measured"]]) if kept and any(r["measured"] for r in kept) else None,
    }
