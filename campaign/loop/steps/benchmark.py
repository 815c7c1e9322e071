"""BENCHMARK: is the change faster? The candidate vs the last kept commit and vs the baseline.

Runs interleaved, in separate processes, each reference checked out in its
own worktree (``measure/bench.py`` does the statistics: ratio of medians with
a confidence interval, warm and cold apart). Every ``FULL_EVERY``-th kept
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
    base = _result_dict(results["baseline"])
    wall = last.get("wall") or {}
    data = {
        "case": case,
        "verdict": last["verdict"],
        "speedup": last["speedup"],
        "ci": list(last["ci"]),
        "ci_level": last.get("ci_level"),
        "ci_kind": last.get("ci_kind"),
        "vs_baseline": {"speedup": base["speedup"], "ci": list(base["ci"]), "verdict": base["verdict"],
                        "ci_level": base.get("ci_level"), "ci_kind": base.get("ci_kind"),
                        "samples": base.get("samples")},  # `try --more` pools with its blocks
        "cumulative_speedup": base["speedup"],
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
        flast, fbase = _result_dict(full["last"]), _result_dict(full["baseline"])
        data["full"] = {"case": full_case, "verdict": flast["verdict"], "speedup": flast["speedup"],
                        "ci": list(flast["ci"]), "ci_level": flast.get("ci_level"), "ci_kind": flast.get("ci_kind"),
                        "vs_baseline": {"speedup": fbase["speedup"], "ci": list(fbase["ci"]),
                                        "verdict": fbase["verdict"], "ci_level": fbase.get("ci_level")},
                        "candidate": flast.get("candidate"), "blocks": flast.get("blocks"),
                        "metric": flast.get("metric"), "integrity": flast.get("integrity") or {}}
    return data


def _busy_note(notes: list[str]) -> str | None:
    return next((n for n in notes if n.startswith("machine busy")), None)


def benchmark_change(target, workspace: Path, last_commit: str, base_commit: str, cases: list[str],
                     say: Callable[[str], None], exclude: tuple[str, ...] = (),
                     run_dir: Path | None = None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """BENCHMARK: the working tree vs the last kept commit and vs the baseline, interleaved in one session.

    Each distinct tree is measured once: ``exclude`` names paths that do not
    change what runs (the campaign's record, AGENTS.md, SKILL.md), so "last kept" and
    the baseline share one checkout and one measurement until a change is kept.
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
        variants = {"last": Path(last), "baseline": Path(base), "candidate": Path(run_dir or workspace)}
        per_case = {}
        for case in cases:
            say(f"  case {case}")
            per_case[case] = benchmark(target, case, variants, "candidate", progress=say, keys=keys,
                                       watch=run_dir is not None, **budget)
    return bench_event(per_case[cases[0]], cases[0], per_case.get(cases[1]) if len(cases) > 1 else None,
                       cases[1] if len(cases) > 1 else None)


def benchmark_campaign_change(ctx: CampaignContext, state: machine.State, cases: list[str],
                              say: Callable[[str], None], run_dir: Path | None = None) -> dict[str, Any]:
    """BENCHMARK of ``ctx``'s working tree (run in ``run_dir``) against its last kept commit and its baseline commit."""
    from campaign.loop.framework_files import measurement_excludes

    return benchmark_change(ctx.target, ctx.workspace, state.last_kept_commit, state.init["base_commit"], cases, say,
                            exclude=measurement_excludes(ctx.record_rel), run_dir=run_dir)
