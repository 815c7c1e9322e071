"""TRY ``--more``: more blocks for the current attempt's inconclusive benchmark, pooled with those it measured.

An undecided BENCHMARK left two ways out, revert or ``log --keep REASON``.
``campaign try --more [--blocks N]`` is the third, while LOG is due and the
attempt's benchmark is ``inconclusive``: it measures N more interleaved
blocks of the same trees (the tested working tree, the last kept commit, the
baseline) on the metric that benchmark chose (never mixed), pools their
block ratios and A/A pairs with the earlier ones and decides once more. The
pooled look is taken at the per-look level of a plan that had included the
extra blocks from the start (alpha spread over more looks: stricter than the
first benchmark's looks), and an attempt may be extended ``MORE_LIMIT``
times, each by at most the settings' ``max_blocks``: the stated cap that
keeps "measure until it says faster" from being a way to win. The result
replaces the attempt's benchmark (a new ``benchmark`` event with
``extended``: the blocks before and added, and the new blocks' own verdict);
LOG then decides on it as on any benchmark. The fast case only: a full-case
result recorded beside it is kept as it was.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from campaign.errors import RuleError, StepError, VcsError
from campaign.loop import machine, record
from campaign.loop.steps.context import CampaignContext, Progress

MORE_LIMIT = 2  # extensions of one attempt's benchmark


def more_problem(state: machine.State) -> str | None:
    """Why the current attempt's benchmark cannot be extended now (pure), or None."""
    it = state.current
    bench = it.benchmark if it is not None else None
    if state.step is not machine.Step.LOG or it is None or not bench:
        return (f"`campaign try --more` extends the benchmark of an attempt whose LOG is due; now "
                f"{machine.DESCRIPTIONS[state.step]} is due.")
    if bench.verdict != "inconclusive":
        return (f"the benchmark of iteration {it.n} is decided ({bench.verdict}): more blocks are for an "
                f"inconclusive one. Run `campaign log`.")
    if bench.extended.count >= MORE_LIMIT:
        return (f"the benchmark of iteration {it.n} was extended {MORE_LIMIT} times already (the cap): log it "
                f"(`campaign log`, reverted, or kept with --keep REASON).")
    samples = bench.samples or {}
    if bench.metric not in ("wall", "cpu") or not samples.get("ratios") or "pairs_a" not in samples:
        return (f"the benchmark of iteration {it.n} was decided on {bench.metric!r} or recorded without its "
                f"block pairs (an older campaign version): its blocks cannot be pooled. Log it, or run a fresh "
                f"attempt.")
    return None


def pooled_decision(old: dict[str, Any], new: dict[str, Any], *, min_blocks: int, max_blocks: int,
                    min_effect: float, alpha: float):
    """One decision on the blocks of two benchmark samples of the same comparison and metric (pure)."""
    from campaign.measure import stats

    ratios = list(old["ratios"]) + list(new["ratios"])
    pairs = [tuple(p) for p in list(old["pairs_a"]) + list(new["pairs_a"]) + list(old["pairs_b"]) + list(new["pairs_b"])]
    return stats.decide(ratios, pairs=pairs, min_blocks=min_blocks, max_blocks=max(max_blocks, len(ratios)),
                        min_effect=min_effect, alpha=alpha, at_look=True)


def _samples(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(new)
    for key in ("a", "b", "block_a", "block_b", "ratios", "pairs_a", "pairs_b"):
        out[key] = list(old.get(key) or []) + list(new.get(key) or [])
    out["ratio_range"] = [min(out["ratios"]), max(out["ratios"])] if out["ratios"] else None
    return out


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def extended_event(old: Mapping[str, Any], new: Mapping[str, Any], budget: Mapping[str, Any]) -> dict[str, Any]:
    """The attempt's benchmark after ``--more``: ``old``'s blocks and ``new``'s pooled, decided once (pure)."""
    prior, fresh = record.load_data("benchmark", old), record.load_data("benchmark", new)
    total_cap = int(old.get("blocks") or 0) + int(budget["max_blocks"])
    kw: dict[str, Any] = {"min_blocks": int(budget["min_blocks"]), "max_blocks": total_cap, "min_effect": float(budget["min_effect"]),
          "alpha": float(budget["alpha"])}
    last = pooled_decision(old["samples"], new["samples"], **kw)
    data = {**new, "samples": _samples(old["samples"], new["samples"]), "verdict": last.verdict,
            "speedup": _finite(last.speedup), "ci": [_finite(x) for x in last.ci], "ci_level": last.confidence,
            "ci_kind": "range" if last.overwhelming else "ci", "blocks": last.blocks,
            "blocks_needed": None if last.blocks_needed is None else max(0, last.blocks_needed - last.blocks)}
    base_old, base_new = prior.vs_baseline, fresh.vs_baseline
    if base_old.samples and base_new.samples:
        base = pooled_decision(base_old.samples, base_new.samples, **kw)
        data["vs_baseline"] = {**base_new, "samples": _samples(base_old.samples, base_new.samples),
                               "speedup": _finite(base.speedup), "ci": [_finite(x) for x in base.ci],
                               "verdict": base.verdict, "ci_level": base.confidence,
                               "ci_kind": "range" if base.overwhelming else "ci"}
    data["cumulative_speedup"] = record.load_data("benchmark", data).vs_baseline.speedup
    history = list(prior.extended.history or [])
    history.append({"blocks_before": old.get("blocks"), "blocks_added": new.get("blocks"),
                    "new_blocks_alone": {k: new.get(k) for k in ("verdict", "speedup", "ci", "ci_level")}})
    data["extended"] = {"history": history, "metric": old.get("metric"), "level": last.confidence}
    data["full"] = old.get("full")
    note = (f"extended by `campaign try --more`: {new.get('blocks')} more blocks on {old.get('metric')} time, "
            f"pooled with the {old.get('blocks')} measured before (one look at the level of a plan of up to "
            f"{total_cap} blocks)")
    data["notes"] = [note, *last.notes, *(new.get("notes") or [])]
    return data


def _more_blocks(bench: Mapping[str, Any], budget: Mapping[str, Any], blocks: int | None) -> int:
    cap = int(budget["max_blocks"])
    if blocks is not None and not 1 <= int(blocks) <= cap:
        raise RuleError(f"--blocks {blocks}: one extension adds 1 to {cap} blocks (max_blocks of the measurement "
                        f"settings).")
    wanted = blocks or bench.get("blocks_needed") or cap
    return max(int(budget["min_blocks"]) if blocks is None else 1, min(cap, int(wanted)))


def try_more(ctx: CampaignContext, blocks: int | None = None, progress: Progress = None) -> dict[str, Any]:
    """Extend the current attempt's inconclusive benchmark (``campaign try --more``)."""
    from campaign import vcs
    from campaign.loop import git_guard
    from campaign.loop.framework_files import measurement_excludes
    from campaign.loop.steps.benchmark import (
        bench_budget,
        bench_summary,
        benchmark_change,
    )
    from campaign.loop.steps.claim_checks import check_claim
    from campaign.measure.seal import pristine_copy

    say = progress or (lambda line: None)
    with ctx.locked(guard_git=True):
        state = ctx.complete_pending(ctx.state())
        problem = more_problem(state)
        it = state.current
        old = it.benchmark if it is not None else None
        if problem and (state.step is not machine.Step.LOG or not old):
            raise StepError(f"{problem} Run: {ctx.command_for(state)}", state.step.value, ctx.command_for(state))
        if problem or it is None or old is None:  # no problem means an attempt with a benchmark
            raise RuleError(problem or "no benchmark to extend")
        ctx.require_branch(state)
        implement = it.implement or record.Implement()
        moved = vcs.untested_changes(ctx.repo, implement.tree or "HEAD", exclude=[ctx.record_rel])
        if moved:
            raise VcsError(f"the working tree changed since `campaign try` tested it ({', '.join(moved[:5])}): more "
                           f"blocks measure the tested tree only. Put it back (its diff is "
                           f"{ctx.record_rel}/{implement.patch}), then run `campaign try --more`.")
        budget = bench_budget(ctx.workspace)
        n = _more_blocks(old, budget, blocks)
        say(f"BENCHMARK --more: {n} more blocks on {old['metric']} time, pooled with the {old.get('blocks')} measured...")
        overrides = {"metric": old.metric, "min_blocks": n, "max_blocks": n, "budget_s": 1e9, "extend_s": 0.0,
                     "precision": None}
        last_kept, base = state.last_kept_commit, state.init.base_commit if state.init else None
        if last_kept is None or base is None:  # derive sets both once init and its start commit are journaled
            raise RuleError("the journal names no baseline or last kept commit to measure against: run `campaign "
                            "status`.")
        with pristine_copy(ctx.workspace) as run_dir, git_guard.unmoved(ctx, state, "BENCHMARK"):
            new = ctx.measure(lambda: benchmark_change(
                ctx.target, ctx.workspace, last_kept, base, [old["case"]], say,
                exclude=measurement_excludes(ctx.record_rel), run_dir=run_dir, overrides=overrides))
            data = extended_event(old, new, budget)
            check_claim(ctx, state, it.test or {}, data, run_dir, say, earlier=old)
        ctx.record_event("benchmark", data, it.n)
        return {"ok": True, "step": "try", "iteration": it.n, "more": True, "files": implement.files,
                "patch": implement.patch, "test": it.test, "benchmark": bench_summary(data),
                "extended": data["extended"], "next": ctx.next_step()}
