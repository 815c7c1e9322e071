"""TRY (``campaign try``): IMPLEMENT captured, then TEST, then BENCHMARK - one command, three steps.

IMPLEMENT is the agent's edit of the working tree; this step captures its
diff into ``patches/iter-NN.patch`` and the files it touched. Refuses: a
working tree equal to the last kept commit (nothing to try), a commit made
by hand (HEAD is not the last kept commit), a repository off the campaign
branch. Edits outside the target's scope are recorded and fail TEST
(``steps/testing.py``); only a passing TEST goes on to BENCHMARK
(``steps/benchmark.py``). TEST and BENCHMARK include the full-scale case at
every ``FULL_EVERY``-th kept iteration, with ``--full``, and after FINISH
found the full case wrong. ``fail_attempt`` records an IMPLEMENT that failed
(the agent crashed, hung or changed nothing); ``record_tune`` journals a tune
as this iteration's measurement. An interrupted ``try`` is simply run again.
"""

from __future__ import annotations

from typing import Any, Callable

from campaign.errors import NoChangeError, UserError, VcsError
from campaign.loop import git_guard
from campaign.loop.steps.benchmark import FULL_EVERY, bench_summary, benchmark_campaign_change
from campaign.loop.steps.context import CampaignContext, Progress
from campaign.loop.steps.claim_checks import check_claim
from campaign.loop.steps.testing import heldout_campaign_check, test_campaign_change
from campaign.measure.integrity import with_heldout
from campaign.loop.harness import harness_failures
from campaign.loop.record_commits import code_head
from campaign.loop.tested_tree import tested_tree
from campaign.measure.seal import pristine_copy


def try_change(ctx: CampaignContext, full: bool = False, progress: Progress = None, agent: str = "cli") -> dict[str, Any]:
    from campaign import vcs

    say = progress or (lambda line: None)
    with ctx.step("try") as state:
        it = state.current
        target = ctx.target
        repo = ctx.repo
        ctx.require_branch(state)
        head = code_head(repo, ctx.name, ctx.record_rel) or vcs.head_commit(repo)  # the record's commits hold no code
        if head != state.last_kept_commit:
            raise VcsError(
                f"HEAD ({head[:10]}) is not the last kept commit ({(state.last_kept_commit or '?')[:10]}): a "
                f"commit was made by hand. The campaign commits kept changes itself; undo yours, keeping the "
                f"edits (`git reset --soft {(state.last_kept_commit or '')[:10]}`), then run `campaign try`."
            )
        found = vcs.changes(repo, exclude=[ctx.record_rel])
        if not found.files:
            raise NoChangeError(
                f"there is no change to try: the working tree equals the last kept commit. IMPLEMENT first: "
                f"edit files in the target's scope ({', '.join(target.scope)}), then run `campaign try`."
            )
        patch_rel = f"patches/iter-{it.n:02d}.patch"
        sha = vcs.write_patch(repo, found.files, ctx.record_dir / patch_rel)
        out_of_scope = found.outside(target.scope)
        ctx.record_event("implement", {"files": found.files, "patch": patch_rel, "patch_sha256": sha,
                                  "tree": tested_tree(repo, found.files),
                                  "out_of_scope": out_of_scope, "agent": agent}, it.n)
        cases = cases_due(state, target.fast_case, target.full_case, full)
        last = state.last_kept_commit if state.kept_count else None  # held-out speed against the last kept change
        with pristine_copy(ctx.workspace) as run_dir:  # sealed runs: no record beside the code, no state kept
            say(f"TEST: {', '.join(cases)} case(s) against the baseline outputs...")
            frozen = harness_failures(ctx.workspace, state.init.get("harness"), found.files, target)
            with git_guard.unmoved(ctx, state, "TEST"):
                test = ({"passed": False, "failures": frozen, "test_command": None, "out_of_scope": out_of_scope,
                         "cases": cases} if frozen else test_campaign_change(ctx, cases, out_of_scope, say, run_dir))
                if test["passed"] and getattr(target, "heldout", False):
                    say(f"TEST: held-out inputs (fresh seeds), baseline vs candidate, case {target.fast_case}...")
                    test.update(with_heldout(test, ctx.measure(lambda: heldout_campaign_check(
                        ctx, state.init["base_commit"], run_dir, target.fast_case, last))))
            ctx.record_event("test", test, it.n)
            if not test["passed"]:
                return {"ok": False, "step": "try", "iteration": it.n, "files": found.files, "patch": patch_rel,
                        "test": test, "benchmark": None, "next": ctx.next_step()}
            say("BENCHMARK: candidate vs last kept, interleaved (a faster one then vs the baseline)...")
            with git_guard.unmoved(ctx, state, "BENCHMARK"):
                bench = ctx.measure(lambda: benchmark_campaign_change(ctx, state, cases, say, run_dir))
                check_claim(ctx, state, test, bench, run_dir, say)
        ctx.record_event("benchmark", bench, it.n)
        return {"ok": True, "step": "try", "iteration": it.n, "files": found.files, "patch": patch_rel,
                "test": test, "benchmark": bench_summary(bench), "next": ctx.next_step()}


def cases_due(state, fast_case: str, full_case: str, full: bool = False) -> list[str]:
    """The workload cases this attempt's TEST and BENCHMARK run. Pure.

    The fast case always; the full case too with ``--full``, when this attempt
    would be the ``FULL_EVERY``-th kept change (3rd, 6th, ...), and while
    FINISH's full-case check stands failed.
    """
    due = bool(full) or (state.kept_count + 1) % FULL_EVERY == 0 or state.full_case_failed
    return [fast_case] + ([full_case] if due and full_case != fast_case else [])


def record_tune(ctx: CampaignContext, spec: str, run_tune: Callable[[float | None], dict[str, Any]]) -> dict[str, Any]:
    """A tune as the measurement of this iteration (``campaign tune --record``), while TRY is due.

    ``run_tune(predicted_speedup)`` returns the ``tune`` event data; it is
    journaled in the current iteration. The chosen values still go through
    IMPLEMENT (set as the defaults in the scope), TEST and BENCHMARK.
    """
    with ctx.step("try") as state:
        it = state.current
        if spec != state.init["target_spec"]:
            raise UserError(f"this campaign optimizes target {state.init['target_spec']!r}; tune that one "
                            f"(`campaign tune {state.init['target_spec']} --record ...`), not {spec!r}.")
        data = run_tune(it.predicted)
        ctx.record_event("tune", data, it.n)
        return {"step": "tune", "iteration": it.n, **data, "next": ctx.next_step()}


def fail_attempt(ctx: CampaignContext, reason: str, agent: str = "cli") -> dict[str, Any]:
    """Record an IMPLEMENT that failed (the agent crashed, hung or changed nothing) as a failed TEST.

    The iteration then goes through LOG like any failure: its Surprise is
    written, whatever it left in the tree is reverted and its diff kept.
    """
    from campaign import vcs

    with ctx.step("try") as state:
        it = state.current
        repo = ctx.repo
        found = vcs.changes(repo, exclude=[ctx.record_rel])
        patch_rel = f"patches/iter-{it.n:02d}.patch"
        sha = vcs.write_patch(repo, found.files, ctx.record_dir / patch_rel)
        ctx.record_event("implement", {"files": found.files, "patch": patch_rel, "patch_sha256": sha,
                                  "tree": tested_tree(repo, found.files),
                                  "out_of_scope": found.outside(ctx.target.scope), "agent": agent}, it.n)
        test = {"passed": False, "cases": [], "test_command": None, "out_of_scope": [],
                "failures": [{"output": "(agent)", "expected": None, "actual": None, "tolerance": None,
                              "message": reason}]}
        ctx.record_event("test", test, it.n)
        return {"ok": False, "step": "try", "iteration": it.n, "test": test, "next": ctx.next_step()}
