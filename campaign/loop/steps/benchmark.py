"""BENCHMARK: is the change faster? The candidate vs the last kept commit, and a faster one vs the baseline.

Runs interleaved, in separate processes, each reference checked out in its
own worktree. Until a change is kept the two references are the same code and
are measured once; after that the decision (vs the last kept) runs alone and
a ``faster`` candidate is then measured against the baseline at the first look
(the campaign's cumulative speedup); an attempt not faster has no
``vs_baseline``. ``measure/bench.py`` does the statistics. Every ``FULL_EVERY``-th kept
iteration also measures the full-scale case. Refuses nothing itself: the
verdict (faster / same / inconclusive / slower) it records decides at LOG,
which never keeps a slower change and keeps "same" only with a reason.

Budgets and levels come from ``campaign.measure.settings``: ``[measure]`` in
campaign.toml, ``[tool.campaign.measure]`` in pyproject.toml, or the
environment (``CAMPAIGN_BENCH_*``). "Last kept" and the baseline are
identified by content (their git trees without the campaign's record and
AGENTS.md): when they hold the same code they are measured once.

An undecided result is not silently a revert: ``INCONCLUSIVE_POLICY`` is
recorded in every benchmark event and shown in the log; ``campaign try
--more`` measures more blocks for it before LOG (``steps/more_blocks.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from campaign.loop import machine
from campaign.loop.steps.context import CampaignContext

FULL_EVERY = 3  # every 3rd kept iteration also benchmarks the full-scale case


INCONCLUSIVE_POLICY = ("same / inconclusive -> revert unless `campaign log --keep REASON` "
                       "(keep only demonstrated wins)")


def bench_budget(workspace: Path | None = None) -> dict[str, Any]:
    """The keyword arguments of ``bench.benchmark`` in force for ``workspace`` (files, then the environment)."""
    from campaign.errors import UserError
    from campaign.measure.settings import SettingsError, load_settings

    try:
        return load_settings(workspace).bench_kwargs()
    except SettingsError as exc:
        raise UserError(f"measurement settings: {exc}") from None


def bench_summary(bench: dict[str, Any]) -> dict[str, Any]:
    return {k: bench.get(k) for k in ("case", "verdict", "speedup", "ci", "ci_level", "ci_kind", "vs_baseline",
                                       "cumulative_speedup", "candidate", "reference", "blocks", "metric", "full", "policy", "integrity")}


def _result_dict(res) -> dict[str, Any]:
    return res.to_dict() if hasattr(res, "to_dict") else dict(res)


def bench_event(results: dict[str, Any], case: str, full: dict[str, Any] | None, full_case: str | None) -> dict[str, Any]:
    """The ``benchmark`` event data from ``bench.benchmark`` results (references ``last`` and ``baseline``)."""
    last = _result_dict(results["last"])
    base = _result_dict(results["baseline"]) if results.get("baseline") is not None else None
    wall = last.get("wall") or {}
    data = {
        "case": case,
        "verdict": last["verdict"],
        "speedup": last["speedup"],
        "ci": list(last["ci"]),
        "ci_level": last.get("ci_level"),
        "ci_kind": last.get("ci_kind"),
        "vs_baseline": _vs_baseline(base),  # None: not measured (not faster than the last kept)
        "cumulative_speedup": base["speedup"] if base else None,
        "phases": last.get("phases"),
        "candidate": last.get("candidate"),
        "reference": last.get("reference"),
        "metric": last.get("metric"),
        "metric_choice": last.get("metric_choice"),
        "other_metric": last.get("other_metric"),
        "blocks": last.get("blocks"),
        "samples": last.get("samples"),
        "noise_floor": last.get("noise_floor"),
        "min_effect": last.get("min_effect"),
        "notes": last.get("notes") or [],
        "full": None,
        "environment": last.get("environment"),
        "noise": {"run_noise": wall.get("run_noise"), "block_sd": wall.get("block_sd"), "drift": wall.get("drift")},
        "load": {"blocks": last.get("load") or [], "note": _busy_note(last.get("notes") or [])},
        "stop_reason": last.get("stop_reason"),
        "needed": next((n for n in last.get("notes") or [] if n.startswith("undecided")), None),
        "blocks_needed": last.get("blocks_needed"),
        "seconds_needed": last.get("seconds_needed"),
        "block_cost": last.get("block_cost"),
        "policy": INCONCLUSIVE_POLICY,
        "integrity": last.get("integrity") or {},
    }
    if full is not None:
        flast = _result_dict(full["last"])
        fbase = _result_dict(full["baseline"]) if full.get("baseline") is not None else None
        data["full"] = {"case": full_case, "verdict": flast["verdict"], "speedup": flast["speedup"],
                        "ci": list(flast["ci"]), "ci_level": flast.get("ci_level"), "ci_kind": flast.get("ci_kind"),
                        "vs_baseline": _vs_baseline(fbase, samples=False),
                        "candidate": flast.get("candidate"), "blocks": flast.get("blocks"),
                        "metric": flast.get("metric"), "integrity": flast.get("integrity") or {}}
    return data


def _vs_baseline(base: dict[str, Any] | None, samples: bool = True) -> dict[str, Any] | None:
    if base is None:
        return None
    out = {"speedup": base["speedup"], "ci": list(base["ci"]), "verdict": base["verdict"],
           "ci_level": base.get("ci_level"), "ci_kind": base.get("ci_kind"), "blocks": base.get("blocks"),
           "metric": base.get("metric")}
    if samples:
        out["samples"] = base.get("samples")  # `try --more` pools with its blocks
    return out


def _busy_note(notes: list[str]) -> str | None:
    return next((n for n in notes if n.startswith("machine busy")), None)


def benchmark_change(target, workspace: Path, last_commit: str, base_commit: str, cases: list[str],
                     say: Callable[[str], None], exclude: tuple[str, ...] = (),
                     run_dir: Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """BENCHMARK: the working tree vs the last kept commit and (for a faster one) vs the baseline.

    Each distinct tree is measured once: ``exclude`` names paths that do not
    change what runs (the campaign's record, AGENTS.md, SKILL.md), so "last kept" and
    the baseline share one checkout and one measurement until a change is kept.
    After that, the decision against the last kept runs without the baseline, and
    a ``faster`` candidate is then measured against the baseline at the first look
    (``_decision_then_baseline``).
    ``run_dir``: the candidate's pristine copy (``campaign.measure.seal``); the
    references' checkouts lose the record too, and a file any process writes
    into its folder fails the benchmark. ``overrides``: keyword arguments of
    ``bench.benchmark`` over the settings (``try --more``: the metric, the blocks).
    """
    from contextlib import ExitStack

    from campaign.measure.bench import benchmark
    from campaign.measure.seal import strip_record
    from campaign.measure.workload import build
    from campaign.measure.worktrees import content_key, worktree

    budget = {**bench_budget(workspace), **(overrides or {})}
    keys = {"last": content_key(workspace, last_commit, exclude), "baseline": content_key(workspace, base_commit, exclude)}
    with ExitStack() as stack:
        last = stack.enter_context(worktree(workspace, last_commit))
        strip_record(last)
        build(target, last)
        if keys["last"] == keys["baseline"]:  # same code: one checkout, one measurement, both roles
            base = last
        else:
            base = stack.enter_context(worktree(workspace, base_commit))
            strip_record(base)
            build(target, base)
        candidate = Path(run_dir or workspace)
        per_case = {}
        for case in cases:
            say(f"  case {case}")
            if base is last:
                per_case[case] = benchmark(target, case, {"last": Path(last), "baseline": Path(base),
                                                          "candidate": candidate}, "candidate", progress=say,
                                           keys=keys, watch=run_dir is not None, **budget)
            else:
                per_case[case] = _decision_then_baseline(target, case, Path(last), Path(base), candidate, keys,
                                                         run_dir is not None, budget, say)
    return bench_event(per_case[cases[0]], cases[0], per_case.get(cases[1]) if len(cases) > 1 else None,
                       cases[1] if len(cases) > 1 else None)


def _decision_then_baseline(target, case: str, last: Path, base: Path, candidate: Path, keys: dict[str, str],
                            watch: bool, budget: dict[str, Any], say: Callable[[str], None]) -> dict[str, Any]:
    """The candidate vs the last kept change (the decision), then, for a ``faster`` one only, vs the baseline
    at the first look (``min_blocks`` blocks): ``{"last": result, "baseline": result or None}``. The
    baseline's look is not held for the clock guard: the decision's comparison carries the guards LOG reads,
    and beside six burners the hold added 6 blocks (43 s) to a number whose guard entry was never kept.

    Why apart: once a change is kept the baseline is the slowest code by far, and in every block it ran twice
    beside the two it does not decide between. Under 6 burners the naive kernel's two runs (~1.9 s each) were
    most of a 10 s block, and its time capped the warm repeats of all three at one. Only a change that may be
    kept needs its standing against the baseline (the campaign's cumulative speedup); FINISH's headline and
    every full-case check measure it pooled, with a bounded interval.
    """
    from campaign.measure.bench import benchmark

    results: dict[str, Any] = dict(benchmark(target, case, {"last": last, "candidate": candidate}, "candidate",
                                             progress=say, keys=keys, watch=watch, **budget))
    results["baseline"] = None
    if results["last"].verdict == "faster":
        say(f"  case {case}: faster than the last kept; against the baseline, at the first look")
        look = {**budget, "max_blocks": budget["min_blocks"]}
        results["baseline"] = benchmark(target, case, {"baseline": base, "candidate": candidate}, "candidate",
                                        progress=say, keys=keys, watch=watch, hold=False, **look)["baseline"]
    return results


def benchmark_campaign_change(ctx: CampaignContext, state: machine.State, cases: list[str],
                              say: Callable[[str], None], run_dir: Path | None = None) -> dict[str, Any]:
    """BENCHMARK of ``ctx``'s working tree (run in ``run_dir``) against its last kept commit and its baseline commit."""
    from campaign.loop.framework_files import measurement_excludes

    return benchmark_change(ctx.target, ctx.workspace, state.last_kept_commit, state.init["base_commit"], cases, say,
                            exclude=measurement_excludes(ctx.record_rel), run_dir=run_dir)
