"""FINISH: the full-scale case vs the baseline, the post-optimization mark, the merge of the code change.

Due only when DECIDE stopped the campaign. First TEST of the final tree on
the full case: its outputs against the baseline's full-case outputs, within
the target's tolerances, and the target's test command (a ``validate``
event). A difference refuses FINISH (``FullCaseError``, exit code 3): nothing
is tagged or merged, THINK is due, and the fix is a new iteration whose TEST
includes the full case. Then measures the full case of the final tree
against the pre-optimization commit, writes the ``finish`` event first, then
writes the record's manifest (``campaign.loop.manifest``: the hashes of every
file a replay executes), commits the record, marks ``campaign/<name>/post-optimization`` and
``refs/campaign/<name>/record`` and merges the campaign branch into the branch the campaign started from
without the record folder (``loop/record_store.py``: the user's branch gains the code change only, so
their sdist and wheel do too; the record stays on the campaign branch and under its ref). Running ``campaign
finish`` again completes whatever an interruption left out (``status`` says
FINISHED only once the tag and the merge exist); refuses to complete off the
campaign branch, with uncommitted work in the tree (the merge would carry it
onto the start branch, and the full-case TEST would check code it does not
merge), and says plainly when the start branch cannot be checked out (e.g.
it is checked out in another worktree).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from campaign.errors import FullCaseError, VcsError
from campaign.loop import git_guard
from campaign.loop import machine
from campaign.loop.manifest import write_manifest
from campaign.loop.record_store import mark_record, merge_code_only, record_commit
from campaign.loop.render import full_case_failure  # re-exported: the text lives with the logs that show it
from campaign.loop.steps.benchmark import bench_budget
from campaign.loop.steps.context import CampaignContext, Progress


def finish(ctx: CampaignContext, progress: Progress = None) -> dict[str, Any]:
    from campaign.measure.environment import hostname_hash

    say = progress or (lambda line: None)
    with ctx.step("finish") as state:
        require_clean_for_finish(ctx)
        if state.finish is None:
            init = state.init
            validation = validate_full_case(ctx, state, say)
            full = full_from_last_kept(state.iterations, state.last_kept_commit, ctx.target.full_case,
                                       hostname_hash())
            if full is not None:
                say(f"FINISH: the full case {ctx.target.full_case!r} vs {init['pre_tag']}: "
                    f"{full['speedup']:.4g}x, as iteration {full['measured_at_iteration']}'s BENCHMARK measured "
                    f"the same two trees on this machine")
            else:
                say(f"FINISH: benchmark of the full case {ctx.target.full_case!r} vs {init['pre_tag']}...")
                full = ctx.measure(lambda: full_vs_baseline(ctx, state, say))
            say(f"FINISH: the headline, the fast case {ctx.target.fast_case!r} vs {init['pre_tag']}, measured "
                f"to +-{HEADLINE_PRECISION:.0%}...")
            headline = ctx.measure(lambda: full_vs_baseline(ctx, state, say, ctx.target.fast_case,
                                                             HEADLINE_PRECISION))
            profiled = (state.last_profile.shares if state.last_profile else None) or {}
            shares = {k: v for k, v in profiled.items() if v is not None}
            data = {"post_tag": _post_mark(ctx, init), "merged_into": init["start_branch"],
                    "final_speedup": headline["speedup"], "ci": headline["ci"], "ci_level": headline["ci_level"],
                    "ci_kind": headline["ci_kind"], "headline": headline,
                    "last_iteration_cumulative": {"speedup": state.cumulative, "ci": state.cumulative_ci},
                    "full": full,
                    "dominant_phase": max(shares, key=shares.get) if shares else None,
                    "validation": {k: validation.get(k) for k in ("case", "commit", "passed")}}
            ctx.record_event("finish", data)
            state = ctx.state()
        complete_finish(ctx, state)
        return {"ok": True, "step": "finish", **state.finish, "next": ctx.next_step()}


def validate_full_case(ctx: CampaignContext, state: machine.State, say: Callable[[str], None]) -> dict[str, Any]:
    """TEST of the final tree on the full case before anything is tagged or merged (a ``validate`` event).

    A passing check of the same commit already in the journal (an interrupted
    FINISH) is reused. A failing one is recorded, then refused with the output
    that differs.
    """
    from campaign.loop.steps.testing import test_campaign_change

    previous = state.validation
    if previous and previous.get("passed") and previous.get("commit") == state.last_kept_commit:
        return previous
    ctx.require_branch(state)  # the tree is clean (require_clean_for_finish): it is the last kept commit
    case = ctx.target.full_case
    say(f"FINISH: TEST of the full case {case!r} against the baseline's outputs...")
    test = test_campaign_change(ctx, [case], [], say)
    data = {"case": case, "commit": state.last_kept_commit, "passed": test["passed"],
            "failures": test["failures"], "test_command": test["test_command"]}
    ctx.record_event("validate", data)
    if not data["passed"]:
        raise FullCaseError(f"FINISH refused: {full_case_failure(data)}. Nothing was tagged or merged. Fix it "
                            f"in a new iteration (THINK is due: `campaign status` gives the command); its TEST "
                            f"includes the full case, then `campaign decide` and `campaign finish` again.",
                            {"validation": data})
    return data


HEADLINE_PRECISION = 0.10  # the headline's interval: within +-10% of its estimate, or as close as the budget gets


def full_vs_baseline(ctx: CampaignContext, state: machine.State, say: Callable[[str], None], case: str | None = None,
                     precision: float | None = None) -> dict[str, Any]:
    """The final tree vs the baseline commit, measured directly (never a product of iterations): the full-scale
    case, or ``case`` - the fast one for the headline, with ``precision`` bounding its interval's width.

    Not held for the clock guard (``bench.benchmark(hold=False)``): the final tree is the last kept change, and
    every kept change passed the guard in its own BENCHMARK; FINISH records numbers, not a verdict the guard
    could refuse. Beside six burners the hold added 5 blocks (~40 s) to a headline already within +-10%, for a
    guard whose entry FINISH never read (2026-12-06).
    """
    from campaign.measure.bench import benchmark
    from campaign.measure.workload import build
    from campaign.measure.worktrees import worktree

    target = ctx.target
    with worktree(ctx.workspace, state.init["base_commit"]) as base:
        build(target, base)
        results = benchmark(target, case or target.full_case, {"baseline": Path(base), "candidate": ctx.workspace},
                            "candidate", progress=say, precision=precision, hold=False,
                            **bench_budget(ctx.workspace))
    res = results["baseline"]
    return {"case": case or target.full_case, "verdict": res.verdict, "speedup": res.speedup, "ci": list(res.ci),
            "ci_level": res.ci_level, "ci_kind": res.ci_kind,
            "blocks": res.blocks, "metric": res.metric, "stop_reason": res.stop_reason}


def full_from_last_kept(iterations: list, last_kept_commit: str | None, full_case: str | None,
                        host: str) -> dict[str, Any] | None:
    """The full case against the baseline as the last kept change's BENCHMARK measured it, or None. Pure.

    FINISH's full-case measurement compares the final tree (the last kept commit) with the baseline; where
    the iteration that kept it measured exactly that (its full-scale check, ``FULL_EVERY``: the candidate
    it tested is the commit LOG made, ``tested_tree``) on this machine, FINISH takes that number instead of
    measuring it again. Beside six burners the naive kernel's full case runs 2.1 s a call, and measuring it
    twice cost the demo ~40 s (2026-12-06). Another machine, an older kept change, or no full-scale check:
    FINISH measures.
    """
    kept = next((it for it in reversed(iterations) if it.kept), None)
    if kept is None or kept.benchmark is None or kept.commit is None or kept.commit.commit != last_kept_commit:
        return None
    full = kept.benchmark.full
    env = kept.benchmark.get("environment") or {}
    if full is None or full.case != full_case or env.get("hostname_hash") != host:
        return None
    vs = full.vs_baseline
    if vs.speedup is None or not vs.verdict or not vs.ci:
        return None
    return {"case": full_case, "verdict": vs.verdict, "speedup": vs.speedup, "ci": list(vs.ci),
            "ci_level": vs.ci_level, "ci_kind": vs.ci_kind, "blocks": vs.get("blocks"), "metric": vs.get("metric"),
            "stop_reason": None, "measured_at_iteration": kept.n}


def _post_mark(ctx: CampaignContext, init: dict[str, Any]) -> str:
    """``campaign/<name>/post-optimization`` (a ref, not a tag); a record begun with real tags keeps them."""
    from campaign import vcs

    old_style = not str(init.get("pre_tag") or "").startswith(vcs.CAMPAIGN_REFS)
    return f"{ctx.name}/post-optimization" if old_style else vcs.campaign_ref(ctx.name, "post-optimization")


def _fmt_x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def finish_missing(ctx: CampaignContext, state: machine.State) -> list[str]:
    """What git still lacks after the ``finish`` event (the post tag, the merge); empty when finished."""
    if state.finish is None:
        return []
    from campaign.loop import record_guard

    return record_guard.finish_missing(ctx.repo, state.init or {}, state.finish)


def require_clean_for_finish(ctx: CampaignContext) -> None:
    """FINISH merges the campaign branch: uncommitted work would be carried onto the start branch."""
    from campaign import vcs

    found = vcs.changes(ctx.repo, exclude=[ctx.record_rel])
    if found.files:
        listed = ", ".join(found.files[:8]) + (" ..." if len(found.files) > 8 else "")
        raise VcsError(
            f"the working tree has uncommitted changes ({listed}); FINISH commits only the record and merges "
            f"the campaign branch, so it would carry them onto the start branch. Commit them elsewhere or "
            f"stash them (`git stash push -u`), then run `campaign finish` again; nothing was changed.",
            {"files": found.files},
        )


def complete_finish(ctx: CampaignContext, state: machine.State) -> None:
    """Commit the record, tag, merge: whatever of them is missing (idempotent)."""
    from campaign import vcs

    init, finish = state.init, state.finish
    repo = ctx.repo
    require_clean_for_finish(ctx)
    git_guard.require_accounted(ctx, state)
    message = f"campaign {ctx.name}: finish ({_fmt_x(finish.get('final_speedup'))} over baseline)"
    on_branch = not repo.head.is_detached and repo.active_branch.name == init["branch"]
    if on_branch:  # off it (stopped between checkout and merge) the record is not in the tree: the merge brings it
        ctx.render_files()
        write_manifest(ctx.record_dir)  # committed with the record: what a replay of it would execute
        earlier = vcs.commit_with_message(repo, message, state.last_kept_commit)
        if earlier is None:
            vcs.commit_paths(repo, [ctx.record_rel], message)
        elif vcs.diff_patch(repo, [ctx.record_rel]):
            # a retried finish: what was recorded since (a resumed run's event, the manifest of the longer
            # journal) is committed too, or checking out the start branch would refuse the dirty record;
            # the post tag this finish put on its earlier record commit moves along with it
            vcs.commit_paths(repo, [ctx.record_rel], f"campaign {ctx.name}: the record after an interrupted finish")
            if vcs.tag_commit(repo, finish["post_tag"]) == earlier:
                vcs.move_tag(repo, finish["post_tag"], vcs.head_commit(repo))
        from campaign.loop.framework_files import retire

        retire(repo, init["base_commit"], ctx.name)  # AGENTS.md/SKILL.md: the campaign is over (idempotent)
        vcs.ensure_tag(repo, finish["post_tag"], vcs.head_commit(repo))
        mark_record(repo, ctx.name, vcs.head_commit(repo))
    elif vcs.tag_commit(repo, finish["post_tag"]) is None:
        raise VcsError(
            f"finish was interrupted and HEAD is not on {init['branch']}; check out {init['branch']} "
            f"(`git switch {init['branch']}`) and run `campaign finish` again."
        )
    git_guard.require_accounted(ctx, state)
    if record_commit(repo, ctx.name) is None:  # a finish begun before the record ref existed
        mark_record(repo, ctx.name, vcs.tag_commit(repo, finish["post_tag"]))
    merge_code_only(repo, init["branch"], init["start_branch"],
                    f"Merge {init['branch']}: campaign {ctx.name} ({_fmt_x(finish.get('final_speedup'))})",
                    ctx.record_rel)
    _read_record_from_git(ctx)


def _read_record_from_git(ctx: CampaignContext) -> None:
    """The record left the tree with the merge: this context reads it (status, a run's summary) from git now."""
    from campaign.loop import record_guard
    from campaign.loop.record_store import readable_copy

    copy = readable_copy(ctx.workspace, ctx.name, finished_only=True)
    if copy is not None and not (ctx.workspace / ctx.record_rel / "journal.jsonl").exists():
        ctx.record_dir = copy
        ctx.journal = record_guard.campaign_journal(ctx.workspace, ctx.name, copy)
