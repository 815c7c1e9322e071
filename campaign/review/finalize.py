"""``campaign finalize``: one reviewable branch per kept change, each re-tested and re-measured alone.

A campaign ends in one merge of everything; a reviewer would rather merge
change by change. For every kept iteration this cherry-picks its commit onto
the pre-optimization commit, alone. A change whose cherry-pick conflicts
touches the same lines as an earlier one: it joins that change's group (the
smallest earlier group it applies with), and the group says so. Each group
becomes a branch; each branch is re-TESTed (outputs against the recorded
baseline, the target's test command) with the loop's own TEST
(``campaign.loop.steps.testing``) and re-measured against the
pre-optimization commit with ``campaign compare``'s engine
(``campaign.measure.compare.compare_commits``). Each gets a pull-request
text (``campaign.review.pr_text``) and the ``gh pr create`` line to open it.

Where the commits come from: the repository holding the record when it still
has the pre-optimization tag and every kept commit; otherwise (a record
exported without its tags or history, as ``optim/weight_search``) the
campaign is rebuilt replay-style from the baseline snapshot and the recorded
patches (``campaign.review.replay_workspace.build_workspace``) in a workspace that is
kept, since the branches live there.
"""

from __future__ import annotations

import functools
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from campaign.review import pr_text
from campaign.review.finalize_git import (FinalizeError, from_repository, group_changes, merge_check,
                                          rebuild)

Progress = Callable[[str], None]


# -- what the journal says about each kept change (pure) ---------------------------------------------------------


def kept_changes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every kept iteration, in order: its patch, claim, prediction, Surprise and tests (plain dicts)."""
    from campaign.loop import machine

    changes = []
    for it in machine.derive(events).iterations:
        if not it.kept or it.implement is None:
            continue
        bench, summary = it.benchmark, it.summary()
        changes.append({
            "iteration": it.n, "title": it.title, "phase": it.phase,
            "patch": (it.commit.patch if it.commit else None) or it.implement.patch,
            "patch_sha256": it.implement.patch_sha256,
            "files": list(it.implement.files or []),
            "commit": summary.commit,
            "hypothesis": it.think.hypothesis if it.think else None,
            "predicted": summary.predicted,
            "speedup": summary.speedup, "ci": summary.ci, "ci_level": summary.ci_level,
            "verdict": summary.verdict, "case": bench.case if bench else None,
            "vs_baseline": (bench.vs_baseline or None) if bench else None,  # None where the record has none
            "surprise": summary.surprise,
            "cases": list((it.test.cases if it.test else None) or []),
        })
    return changes


def recorded_claim(members: list[dict[str, Any]], all_kept: list[dict[str, Any]]) -> dict[str, Any]:
    """What the record claims for a group measured alone against the baseline (pure).

    One change: its own measured speedup and interval (vs the state before it).
    The first k kept changes together: the last one's measured interval vs the
    baseline. Any other group: the product of the members' numbers, labelled so.
    """
    its = [c["iteration"] for c in members]
    if its == [c["iteration"] for c in all_kept[:len(its)]] and members[-1].get("vs_baseline"):
        vb = members[-1]["vs_baseline"]
        if len(members) > 1 or not members[0].get("ci"):
            return {"speedup": vb.get("speedup"), "ci": vb.get("ci"), "ci_level": vb.get("ci_level"), "kind": "ci",
                    "what": f"iteration {its[-1]} measured against the baseline in the campaign"}
    if len(members) == 1:
        c = members[0]
        return {"speedup": c.get("speedup"), "ci": c.get("ci"), "ci_level": c.get("ci_level"), "kind": "ci",
                "what": f"iteration {c['iteration']} measured against the state before it in the campaign"}
    speedup, lo, hi = 1.0, 1.0, 1.0
    for c in members:
        if c.get("speedup") is None or not c.get("ci"):
            return {"speedup": None, "ci": None, "ci_level": None, "kind": None, "what": "no recorded interval"}
        speedup, lo, hi = speedup * c["speedup"], lo * c["ci"][0], hi * c["ci"][1]
    return {"speedup": speedup, "ci": [lo, hi], "ci_level": None, "kind": "product",
            "what": f"iterations {', '.join(map(str, its))} multiplied"}


def within(claim: dict[str, Any], remeasured: dict[str, Any] | None) -> bool | None:
    """Is the re-measured speedup inside the recorded interval? None when either is missing (pure)."""
    if not remeasured or remeasured.get("speedup") is None or not claim.get("ci"):
        return None
    return claim["ci"][0] <= remeasured["speedup"] <= claim["ci"][1]


# -- TEST and BENCHMARK of one branch ----------------------------------------------------------------------------


def retest(target, repo_dir: Path, tip: str, cases: list[str], record_dir: Path) -> dict[str, Any]:
    """The loop's TEST on the branch tip, in a scratch worktree: outputs vs the recorded baseline, test command."""
    from campaign.loop.steps.testing import test_change
    from campaign.measure.baseline import baseline_outputs
    from campaign.measure.worktrees import worktree

    with worktree(repo_dir, tip) as wt:
        return test_change(target, wt, cases, functools.partial(baseline_outputs, record_dir), [])


def remeasure(repo_dir: Path, base: str, tip: str, case: str, spec: str, say: Progress,
              max_blocks: int | None, budget_s: float | None) -> dict[str, Any]:
    """The branch against the pre-optimization commit, with ``campaign compare``'s engine."""
    from campaign.measure.compare import CompareError, compare_commits

    try:
        r = compare_commits(repo_dir, base, tip, case=case, target_spec=spec, progress=say, max_blocks=max_blocks,
                            budget_s=budget_s)
    except CompareError as exc:
        return {"error": str(exc), "case": case}
    return {"speedup": r["speedup"], "ci": r["ci"], "ci_level": r["ci_level"], "verdict": r["verdict"],
            "case": case, "metric": r["metric"], "total": {"old_s": r["total"]["old_s"], "new_s": r["total"]["new_s"]}}


# -- the command -------------------------------------------------------------------------------------------------


def _check_record(record_dir: Path, measure: bool, trust: bool) -> None:
    """A record, and one this machine trusts when finalize is to run its code."""
    if not (record_dir / "journal.jsonl").exists():
        raise FinalizeError(f"{record_dir} is not a campaign record (no journal.jsonl).")
    if measure and not trust:
        from campaign.review.trust import is_trusted, untrusted_reason

        if not is_trusted(record_dir):
            raise FinalizeError(f"{untrusted_reason(record_dir)}. finalize re-runs its code: read it first, then "
                                f"run again with --trust (or --no-measure to only build the branches).")


def _source(record_dir: Path, state, changes: list[dict[str, Any]], repo_dir: Path | None,
            workspace: Path | None, name: str, say: Progress):
    """Where the commits are: ("repository" or "rebuilt", (repo dir, base sha, {iteration: sha}))."""
    source = None if workspace else from_repository(record_dir, state, changes, repo_dir)
    if source is not None:
        return "repository", source
    dest = Path(workspace) if workspace else Path(tempfile.mkdtemp(prefix=f"campaign-finalize-{name}-"))
    return "rebuilt", rebuild(record_dir, state, changes, dest.resolve(), say)


def _load_target(spec: str, repo_path: Path, base: str):
    from campaign.measure.worktrees import worktree
    from campaign.plugins.loading import load_target
    from campaign.plugins.target import TargetError

    try:
        with worktree(repo_path, base) as wt:
            return load_target(spec, wt)
    except TargetError as exc:
        raise FinalizeError(str(exc)) from None


@dataclass
class _Branches:
    """What every branch of one finalize shares: the repository, the base, where the texts go, the target."""

    record_dir: Path
    name: str
    init: Any  # the record's typed init event
    repo: Any
    repo_path: Path
    base: str
    out_dir: Path
    agent: str
    target: Any  # None: --no-measure
    say: Progress
    max_blocks: int | None
    budget_s: float | None

    def branch(self, n: int, g: dict[str, Any], changes: list[dict[str, Any]]) -> dict[str, Any]:
        """Group ``n`` as a branch: created, re-tested and re-measured (when measuring), with its PR text."""
        first = g["changes"][0]
        branch = f"finalize/{self.name}/{n:02d}-iter-{first['iteration']:02d}-{pr_text.slug(first['title'])}"
        self.repo.git.branch("-f", branch, g["tip"])
        group = {"branch": branch, "tip": g["tip"], "base": self.base, "changes": g["changes"],
                 "iterations": [c["iteration"] for c in g["changes"]], "together": g["together"],
                 "claim": recorded_claim(g["changes"], changes), "test": None, "remeasured": None}
        if self.target is not None:
            self._measure(group, first.get("case"))
        group["within_recorded_interval"] = within(group["claim"], group["remeasured"])
        self._write(n, group)
        return group

    def _measure(self, group: dict[str, Any], recorded_case: str | None) -> None:
        branch, tip = group["branch"], group["tip"]
        cases = sorted({case for c in group["changes"] for case in c["cases"]}) or [self.target.fast_case]
        self.say(f"[{branch}] TEST on {', '.join(cases)}")
        group["test"] = retest(self.target, self.repo_path, tip, cases, self.record_dir)
        if group["test"]["passed"]:
            case = recorded_case or self.target.fast_case
            self.say(f"[{branch}] BENCHMARK against the pre-optimization commit, case {case}")

            def progress(line: str) -> None:
                self.say(f"[{branch}] {line}")

            group["remeasured"] = remeasure(self.repo_path, self.base, tip, case, self.init["target_spec"],
                                            progress, self.max_blocks, self.budget_s)

    def _write(self, n: int, group: dict[str, Any]) -> None:
        """The branch's diff and PR text beside the repository, and the ``gh`` line that opens the PR."""
        diff_file = self.out_dir / f"{n:02d}.patch"
        diff_file.write_text(self.repo.git.diff("--binary", self.base, group["tip"]) + "\n")
        body_file = self.out_dir / f"{n:02d}.md"
        body_file.write_text(pr_text.body(group, self.name, self.agent))
        group.update(title=pr_text.title(group), pr_body=str(body_file), patch=str(diff_file),
                     gh=pr_text.gh_line(group["branch"], self.start_branch, pr_text.title(group), str(body_file)))

    @property
    def start_branch(self) -> str:
        return self.init.start_branch or "main"


def finalize(record_dir: Path, *, repo_dir: Path | None = None, workspace: Path | None = None,
             measure: bool = True, trust: bool = False, max_blocks: int | None = None,
             budget_s: float | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Branches, tests, measurements and pull-request texts for every kept change of a record (see the module)."""
    import git

    from campaign.loop import machine
    from campaign.loop.journal import Journal
    from campaign.review.headline import agent as agent_of

    say = progress or (lambda line: None)
    record_dir = Path(record_dir).resolve()
    _check_record(record_dir, measure, trust)
    events = Journal(record_dir).events()
    state = machine.derive(events)
    changes = kept_changes(events)
    if state.init is None or not changes:
        raise FinalizeError(f"{record_dir}: the record holds no kept change; there is nothing to finalize.")
    name = state.init.name or record_dir.name
    agent = agent_of(events)["text"]
    mode, (repo_path, base, shas) = _source(record_dir, state, changes, repo_dir, workspace, name, say)
    repo = git.Repo(repo_path)
    groups = group_changes(repo_path, base, changes, shas, say)
    out_dir = Path(repo.git_dir) / "campaign-finalize" / name
    out_dir.mkdir(parents=True, exist_ok=True)
    target = _load_target(state.init["target_spec"], repo_path, base) if measure else None
    branches = _Branches(record_dir, name, state.init, repo, repo_path, base, out_dir, agent, target, say,
                         max_blocks, budget_s)
    results = [branches.branch(n, g, changes) for n, g in enumerate(groups, start=1)]
    merges = merge_check(repo_path, base, [g["tip"] for g in results], shas[changes[-1]["iteration"]])
    passed = all(g["test"] is None or g["test"]["passed"] for g in results)
    return {
        "record": str(record_dir), "name": name, "mode": mode, "repository": str(repo_path), "base": base,
        "base_branch": branches.start_branch, "out_dir": str(out_dir), "measured": measure, "groups": results,
        "independent": sum(1 for g in results if len(g["changes"]) == 1), **merges, "tests_passed": passed,
    }


def format_text(result: dict[str, Any]) -> str:
    """The human view: one block per branch, the claim against the re-measurement, the gh line."""
    how = ("rebuilt from the record's baseline snapshot and patches" if result["mode"] == "rebuilt"
           else "from the repository's own commits")
    lines = [f"finalize {result['name']}: {len(result['groups'])} branch(es) on the pre-optimization commit "
             f"{result['base'][:12]} in {result['repository']} ({how})", ""]
    for g in result["groups"]:
        lines.append(f"{g['branch']}  (iteration{'s' if len(g['iterations']) > 1 else ''} "
                     f"{', '.join(map(str, g['iterations']))})")
        if g["together"]:
            lines.append(f"  only together: {g['together']}")
        claim = g["claim"]
        lines.append(f"  recorded: {pr_text.times(claim['speedup'])} "
                     f"{pr_text.interval(claim['ci'], claim.get('ci_level'), claim.get('kind'))}")
        if g["test"] is not None:
            lines.append(f"  TEST: {'PASS' if g['test']['passed'] else 'FAIL'} ({', '.join(g['test']['cases'])})")
        r = g["remeasured"]
        if r and not r.get("error"):
            inside = {True: "inside", False: "OUTSIDE", None: "-"}[g["within_recorded_interval"]]
            lines.append(f"  alone vs baseline: {pr_text.times(r['speedup'])} "
                         f"{pr_text.interval(r['ci'], r.get('ci_level'))} {r['verdict']}; {inside} the recorded interval")
        elif r:
            lines.append(f"  alone vs baseline: not measured: {r['error']}")
        lines.append(f"  PR text: {g['pr_body']}")
        lines.append(f"  open it: {g['gh']}")
        lines.append("")
    merged = ("every branch merges cleanly one after another"
              if result["merges_cleanly"] else f"merging branch {result['failed_at']} onto the others conflicts")
    lines.append(merged + ("; together they are the campaign's final code" if result["reproduces_campaign"] else ""))
    if result["mode"] == "rebuilt":
        lines.append(f"the branches live in the rebuilt repository {result['repository']}; each branch's diff is also "
                     f"in {result['out_dir']}/NN.patch, to `git apply` on your own pre-optimization commit")
    return "\n".join(lines)
