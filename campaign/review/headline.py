"""What a reviewer reads first: who the agent was, the absolute times per case, and what the level means.

Pure functions over the journal's events. The summary of a report used to
say "91.4x [40.8, 205]; goal 1e+06x": which case, from what to what, at which
level, and who made it were left for the reader to dig out. Here each case
gets its baseline time, its time after, the speedup and the interval that was
measured (never multiplied); the agent is named (and a scripted one is called
a script); the level gets its one-line meaning; a goal set out of reach on
purpose says so.
"""

from __future__ import annotations

from typing import Any

from campaign.loop.record import Baseline, Benchmark, Finish, Implement, Init, Run, Timings
from campaign.review.record_events import Event, first_of, last_of, of_type, typed
from campaign.review.record_summary import iteration_rows

SCRIPTED = {
    "playbook": ("a script: the target's playbook, a fixed catalogue of optimizations tried in order "
                 "(deterministic, no language model); its predictions and Surprises are the catalogue's, not an AI "
                 "agent's judgement"),
    "command": "a program speaking campaign's JSON protocol",
    "claude": "Claude Code (an AI coding agent)",
    "codex": "Codex CLI (an AI coding agent)",
    "aider": "aider (an AI coding agent)",
    "prompt": "a coding CLI driven by a prompt",
}


def agent(events: list[Event]) -> dict[str, Any]:
    """Who thought, implemented and logged: the recorded ``campaign run`` agent, else whoever ran the steps."""
    run = typed(last_of(events, "run"), Run)
    kind = run.agent
    if kind is None:
        implements = (typed(e, Implement) for e in of_type(events, "implement"))
        kind = next((i.agent for i in implements if i.agent), None)
    if kind is None:
        return {"kind": None, "command": None, "scripted": False,
                "text": "not recorded: the loop was driven step by step through the CLI (a person or an agent)"}
    command = run.agent_cmd
    text = SCRIPTED.get(kind, f"{kind}")
    if command:
        text += f" (`{command}`)"
    return {"kind": kind, "command": command, "scripted": kind == "playbook", "text": text}


def _last_kept_bench(events: list[Event]) -> Benchmark:
    """The last kept iteration's BENCHMARK (empty, and false, when none was kept)."""
    kept = [r["iteration"] for r in iteration_rows(events) if r["kept"]]
    for e in reversed(of_type(events, "benchmark")):
        if e.get("iteration") in kept:
            return typed(e, Benchmark)
    return Benchmark()


def _warm(side: Timings) -> float | None:
    value = side.warm_s or side.block_s
    return value if isinstance(value, (int, float)) else None


def cases(events: list[Event]) -> list[dict[str, Any]]:
    """Per case: the baseline's time, the time after the last kept change, the speedup and its measured interval."""
    baseline = typed(first_of(events, "baseline"), Baseline)
    per_case = baseline.cases or {baseline.case or "fast": {"warm_s": baseline.warm_s}}
    bench = _last_kept_bench(events)
    finish = typed(last_of(events, "finish"), Finish)
    rows = []
    for case, data in per_case.items():
        before = data.get("warm_s") if data else None
        row = {"case": case, "before_s": before, "after_s": None, "after_derived": False, "speedup": None, "ci": None,
               "ci_level": None, "measured_at": None}
        if bench and bench.case == case and bench.cumulative is not None:
            vs = bench.vs_baseline
            row.update(after_s=_warm(bench.candidate), speedup=bench.cumulative, ci=vs.ci, ci_level=vs.ci_level,
                       measured_at="the last kept iteration, against the baseline")
        else:
            at_finish = finish.full
            fulls = [at_finish] + [typed(e, Benchmark).full for e in reversed(of_type(events, "benchmark"))]
            full = next((f for f in fulls if f is not None and f.case == case), None)
            if full:
                row.update(speedup=full.speedup, ci=full.ci, ci_level=full.ci_level, after_s=_warm(full.candidate),
                           measured_at=(("FINISH, against the baseline" if not full.measured_at_iteration else
                                         f"iteration {full.measured_at_iteration}'s full-scale check, against the "
                                         f"baseline (the final tree)") if full is at_finish else
                                        "a full-scale check, against the baseline"))
        if row["after_s"] is None and before and row["speedup"]:
            row.update(after_s=before / row["speedup"], after_derived=True)
        rows.append(row)
    return rows


def level_line(level: float | None) -> str | None:
    """One line on what the intervals' level means (``1 - alpha / looks``, see ``campaign.measure.stats``)."""
    if not level:
        return None
    from campaign.measure.stats import format_level

    miss = 1 - level
    return (f"{format_level(level)} is the confidence of each interval: the chance that it misses the true speedup "
            f"is at most {miss:.3%}, because the benchmark's 1% chance of a wrong verdict is split over every "
            f"look it may take at the data.")


def headline(events: list[Event]) -> dict[str, Any]:
    """Agent, cases, the level's meaning and the goal in words, for the report's first screen."""
    from campaign.measure.humane import OUT_OF_REACH, goal

    rows = cases(events)
    level = next((r["ci_level"] for r in rows if r.get("ci_level")), None)
    if level is None:
        levels = (typed(e, Benchmark).ci_level for e in of_type(events, "benchmark"))
        level = next((lv for lv in levels if lv), None)
    target_goal = typed(first_of(events, "init"), Init).goal_speedup
    return {"agent": agent(events), "cases": rows, "level": level, "level_line": level_line(level),
            "goal": goal(target_goal),
            "goal_sentinel": isinstance(target_goal, (int, float)) and target_goal >= OUT_OF_REACH}
