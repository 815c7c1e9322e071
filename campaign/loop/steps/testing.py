"""TEST: is the change still correct? Its outputs vs the baseline's, plus the target's own tests.

Each case runs in a fresh process; its outputs are compared with the
baseline's under the target's per-output tolerances, then the target's test
command runs. Refuses (a failed TEST, never kept) edits outside the target's
scope, a changed file that is a symlink leaving the repository, a workload that fails, an output outside its tolerance and a failing
test command; LOG then reverts the change and keeps its diff.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any, Callable

from campaign.errors import UserError
from campaign.loop.steps.context import CampaignContext
from campaign.loop.tree_checks import symlink_failures


def test_change(target, workspace: Path, cases: list[str], expected_for: Callable[[str], dict[str, Any]],
                out_of_scope: list[str], progress: Callable[[str], None] | None = None,
                run_dir: Path | None = None) -> dict[str, Any]:
    """TEST: run each case in a fresh process and compare its outputs with the baseline's (the ``test`` event data).

    ``progress`` hears when the target's test command starts: it may run for minutes (a pytest suite).
    ``run_dir``: the pristine copy of ``workspace`` the processes run in (``campaign.measure.seal``); a
    file a workload writes there fails TEST. The test command runs in a copy of its own.
    """
    from campaign.measure.correctness import compare_outputs, run_test_command
    from campaign.measure.seal import Watch, pristine_copy
    from campaign.measure.workload import WorkloadError, build, run_workload

    result = {"passed": False, "failures": [], "test_command": None, "out_of_scope": out_of_scope, "cases": cases}
    if out_of_scope:
        result["failures"].append({
            "output": "(scope)", "expected": None, "actual": out_of_scope, "tolerance": None,
            "message": f"edits outside the target's scope ({', '.join(target.scope)}): {', '.join(out_of_scope)}",
        })
        return result
    links = symlink_failures(workspace, _changed_files(workspace))
    if links:  # the code a link points to outside the repository is neither tested here nor committed
        result["failures"].extend(links)
        return result
    run_dir = Path(run_dir or workspace)
    watch = Watch(run_dir) if run_dir != Path(workspace) else None
    try:
        build(target, run_dir)
        for case in cases:
            run = run_workload(target, case, run_dir, repeat=1, watch=watch)
            report = compare_outputs(expected_for(case), run.outputs, target.tolerances)
            for failure in report.to_dict().get("failures", []):
                result["failures"].append({**failure, "case": case})
    except WorkloadError as exc:
        result["failures"].append({"output": "(workload)", "expected": None, "actual": None, "tolerance": None,
                                   "message": str(exc)})
        return result
    if target.test_command:
        if progress is not None:
            progress(f"TEST: running the test command ({target.test_command})...")
        with (pristine_copy(workspace) if watch else contextlib.nullcontext(workspace)) as test_dir:
            if watch:
                build(target, test_dir)
            result["test_command"] = run_test_command(target.test_command, test_dir, target.timeout_s,
                                                        getattr(target, "junit_xml", None), target=target)
    result["passed"] = not result["failures"] and (result["test_command"] is None or result["test_command"]["passed"])
    return result


def _changed_files(workspace: Path) -> list[str]:
    from campaign import vcs

    return vcs.changes(vcs.open_repo(workspace)).files


def baseline_outputs_of(ctx: CampaignContext, case: str) -> dict[str, Any]:
    """The outputs the baseline recorded for ``case`` (what TEST compares against)."""
    from campaign.measure.baseline import BaselineError, baseline_outputs

    try:
        return baseline_outputs(ctx.record_dir, case)
    except BaselineError as exc:
        raise UserError(f"{exc} The baseline is recorded once, at `campaign init`; restore "
                        f"{ctx.record_rel}/baseline.json from git.") from None


def test_campaign_change(ctx: CampaignContext, cases: list[str], out_of_scope: list[str],
                         progress: Callable[[str], None] | None = None, run_dir: Path | None = None) -> dict[str, Any]:
    """TEST of the working tree of ``ctx``'s workspace (run in ``run_dir``, its pristine copy) against its baseline."""
    return test_change(ctx.target, ctx.workspace, cases, lambda case: baseline_outputs_of(ctx, case), out_of_scope,
                       progress, run_dir)


def heldout_campaign_check(ctx: CampaignContext, base_commit: str, run_dir: Path, case: str,
                           last_commit: str | None = None, n_seeds: int | None = None) -> dict[str, Any]:
    """Held-out inputs (``campaign.measure.heldout``): the baseline at ``base_commit`` vs the candidate in ``run_dir``
    (its speed against ``last_commit``, the last kept change, when that is not the baseline)."""
    from contextlib import nullcontext

    from campaign.measure.heldout import N_SEEDS, draw_seeds, heldout_check
    from campaign.measure.seal import Watch, strip_record
    from campaign.measure.workload import build
    from campaign.measure.worktrees import worktree

    other = last_commit not in (None, base_commit)
    with worktree(ctx.workspace, base_commit) as base, \
            (worktree(ctx.workspace, last_commit) if other else nullcontext(None)) as last:
        for tree in (base, last) if other else (base,):
            strip_record(tree)
            build(ctx.target, tree)
        return heldout_check(ctx.target, case, Path(base), Path(run_dir), draw_seeds(n_seeds or N_SEEDS),
                             Watch(Path(run_dir)),
                             Path(last) if other else None)
