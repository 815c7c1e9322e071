"""BENCHMARK: is the change faster? The candidate vs the last kept commit and vs the baseline.

Runs interleaved, in separate processes, each reference checked out in its
own worktree (``measure/bench.py`` does the statistics: ratio of medians with
a confidence interval, warm and cold apart). Every ``FULL_EVERY``-th kept
iteration also measures the full-scale case. Refuses nothing itself: the
verdict (faster / same / inconclusive / slower) it records decides at LOG,
which never keeps a slower change and keeps "same" only with a reason.

Budgets come from the environment (for tests and quick trials):
``CAMPAIGN_BENCH_MAX_BLOCKS`` (default 30), ``CAMPAIGN_BENCH_MIN_BLOCKS`` (3),
``CAMPAIGN_BENCH_BUDGET_S`` (120), ``CAMPAIGN_BENCH_PROCESS_S`` (0.1: seconds
of warm work per measured process).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from campaign.loop import machine as loop
from campaign.loop.steps.context import CampaignContext, env_number

FULL_EVERY = 3  # every 3rd kept iteration also benchmarks the full-scale case


def bench_budget() -> dict[str, Any]:
    budget = {
        "max_blocks": int(env_number("CAMPAIGN_BENCH_MAX_BLOCKS", 30)),
        "min_blocks": int(env_number("CAMPAIGN_BENCH_MIN_BLOCKS", 3)),
        "budget_s": env_number("CAMPAIGN_BENCH_BUDGET_S", 120),
    }
    if os.environ.get("CAMPAIGN_BENCH_PROCESS_S"):  # warm work per measured process (bench.TARGET_PROCESS_S)
        budget["process_s"] = env_number("CAMPAIGN_BENCH_PROCESS_S", 0.1)
    return budget


def bench_summary(bench: dict[str, Any]) -> dict[str, Any]:
    return {k: bench.get(k) for k in ("case", "verdict", "speedup", "ci", "vs_baseline", "cumulative_speedup",
                                       "candidate", "blocks", "metric", "full")}


def _result_dict(res) -> dict[str, Any]:
    return res.to_dict() if hasattr(res, "to_dict") else dict(res)


def bench_event(results: dict[str, Any], case: str, full: dict[str, Any] | None, full_case: str | None) -> dict[str, Any]:
    """The ``benchmark`` event data from ``bench.benchmark`` results (references ``last`` and ``baseline``)."""
    last = _result_dict(results["last"])
    base = _result_dict(results["baseline"])
    data = {
        "case": case,
        "verdict": last["verdict"],
        "speedup": last["speedup"],
        "ci": list(last["ci"]),
        "vs_baseline": {"speedup": base["speedup"], "ci": list(base["ci"]), "verdict": base["verdict"]},
        "cumulative_speedup": base["speedup"],
        "phases": last.get("phases"),
        "candidate": last.get("candidate"),
        "reference": last.get("reference"),
        "metric": last.get("metric"),
        "blocks": last.get("blocks"),
        "samples": last.get("samples"),
        "noise_floor": last.get("noise_floor"),
        "min_effect": last.get("min_effect"),
        "notes": last.get("notes") or [],
        "full": None,
        "environment": last.get("environment"),
    }
    if full is not None:
        flast, fbase = _result_dict(full["last"]), _result_dict(full["baseline"])
        data["full"] = {"case": full_case, "verdict": flast["verdict"], "speedup": flast["speedup"],
                        "ci": list(flast["ci"]), "vs_baseline": {"speedup": fbase["speedup"], "ci": list(fbase["ci"]),
                                                                 "verdict": fbase["verdict"]},
                        "candidate": flast.get("candidate"), "blocks": flast.get("blocks")}
    return data


def benchmark_change(target, workspace: Path, last_commit: str, base_commit: str, cases: list[str],
                     say: Callable[[str], None]) -> dict[str, Any]:
    """BENCHMARK: the working tree vs the last kept commit and vs the baseline, interleaved in one session."""
    from campaign.measure.bench import benchmark
    from campaign.measure.workload import build
    from campaign.measure.worktrees import worktree

    budget = bench_budget()
    with worktree(workspace, last_commit) as last, worktree(workspace, base_commit) as base:
        build(target, last)
        if base_commit == last_commit:  # the first iteration: one checkout serves both references
            base = last
        else:
            build(target, base)
        variants = {"last": Path(last), "baseline": Path(base), "candidate": Path(workspace)}
        per_case = {}
        for case in cases:
            say(f"  case {case}")
            per_case[case] = benchmark(target, case, variants, "candidate", progress=say, **budget)
    return bench_event(per_case[cases[0]], cases[0], per_case.get(cases[1]) if len(cases) > 1 else None,
                       cases[1] if len(cases) > 1 else None)


def benchmark_campaign_change(ctx: CampaignContext, state: loop.State, cases: list[str],
                              say: Callable[[str], None]) -> dict[str, Any]:
    """BENCHMARK of ``ctx``'s working tree against its last kept commit and its baseline commit."""
    return benchmark_change(ctx.target, ctx.workspace, state.last_kept_commit, state.init["base_commit"], cases, say)
