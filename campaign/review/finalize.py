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
from pathlib import Path
from typing import Any, Callable

from campaign.errors import UserError
from campaign.review import pr_text

Progress = Callable[[str], None]


class FinalizeError(UserError):
    """The record cannot be finalized (no kept change, a missing patch, an unusable workspace)."""


# -- what the journal says about each kept change (pure) ---------------------------------------------------------


def kept_changes(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every kept iteration, in order: its patch, claim, prediction, Surprise and tests (plain dicts)."""
    from campaign.loop import machine

    changes = []
    for it in machine.derive(events).iterations:
        if not it.kept or it.implement is None:
            continue
        bench, summary = it.benchmark or {}, it.summary()
        changes.append({
            "iteration": it.n, "title": it.title, "phase": it.phase,
            "patch": (it.commit.patch if it.commit else None) or it.implement.patch,
            "patch_sha256": it.implement.patch_sha256,
            "files": list(it.implement.files or []),
            "commit": summary.commit,
            "hypothesis": it.think.hypothesis if it.think else None,
            "predicted": summary.predicted,
            "speedup": summary.speedup, "ci": summary.ci, "ci_level": summary.ci_level,
            "verdict": summary.verdict, "case": bench.get("case"), "vs_baseline": bench.get("vs_baseline"),
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


# -- git: the source of the commits, the cherry-picks, the merge check -------------------------------------------


def _identity(repo) -> dict[str, str]:
    from campaign.vcs import _identity_env

    return _identity_env(repo)


def _rebuild(record_dir: Path, state, changes: list[dict[str, Any]], dest: Path, say: Progress):
    """The campaign rebuilt from the snapshot and the kept patches: (repo dir, base sha, {iteration: sha})."""
    from campaign.review.replay_compare import Attempt, ReplayError
    from campaign.review.replay_workspace import apply_patch, build_workspace, commit_all, verified_patch

    if dest.exists() and any(dest.iterdir()):
        raise FinalizeError(f"the workspace {dest} is not empty; name an empty or new folder with --workspace.")
    say(f"rebuilding the campaign from the record in {dest} (baseline snapshot + {len(changes)} kept patch(es))")
    try:
        repo = build_workspace(record_dir, dest)
    except ReplayError as exc:
        raise FinalizeError(exc.message) from None
    base = repo.head.commit.hexsha
    shas = {}
    for c in changes:
        attempt = Attempt(c["iteration"], c["title"], c["patch"], c["patch_sha256"], [], True, None, None, None, True)
        try:
            patch = verified_patch(record_dir, attempt)
            apply_patch(repo, patch)
        except ReplayError as exc:
            raise FinalizeError(exc.message) from None
        shas[c["iteration"]] = commit_all(repo, f"{c['title']} (campaign iteration {c['iteration']})")
    init = state.init or {}
    start = init.get("start_branch") or "main"
    chain = init.get("branch") or "optimization"
    repo.git.branch("-f", chain, repo.head.commit.hexsha)
    repo.git.checkout("-q", "-B", start, base)
    return dest, base, shas


def _from_repository(record_dir: Path, state, changes: list[dict[str, Any]], repo_dir: Path | None):
    """The repository's own commits, when it still has the pre-optimization tag and every kept commit."""
    import git

    pre_tag = state.init.pre_tag if state.init else None
    try:
        repo = git.Repo(repo_dir or record_dir, search_parent_directories=True)
        base = repo.commit(pre_tag).hexsha if pre_tag else None
        shas = {c["iteration"]: repo.commit(c["commit"]).hexsha for c in changes}
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.BadName, ValueError, TypeError,
            git.GitCommandError):
        return None
    if base is None:
        return None
    return Path(repo.working_tree_dir), base, shas


def try_picks(repo_dir: Path, base: str, shas: list[str]) -> tuple[bool, str | None, list[str]]:
    """Cherry-pick ``shas`` in order onto ``base`` in a scratch worktree: (applied, tip, conflicting files)."""
    import git

    from campaign.measure.worktrees import worktree

    with worktree(repo_dir, base) as wt:
        r = git.Repo(wt)
        env = _identity(r)
        for sha in shas:
            try:
                r.git.cherry_pick("--allow-empty", "--keep-redundant-commits", sha, env=env)
            except git.GitCommandError:
                files = r.git.diff("--name-only", "--diff-filter=U").split()
                try:
                    r.git.cherry_pick("--abort")
                except git.GitCommandError:
                    pass
                return False, None, files
        return True, r.head.commit.hexsha, []


def group_changes(repo_dir: Path, base: str, changes: list[dict[str, Any]], shas: dict[int, str],
                  say: Progress) -> list[dict[str, Any]]:
    """Kept changes in groups that each apply alone on ``base``; a conflicting change joins an earlier group."""
    groups: list[dict[str, Any]] = []
    for c in changes:
        sha = shas[c["iteration"]]
        applied, tip, files = try_picks(repo_dir, base, [sha])
        if applied:
            groups.append({"changes": [c], "shas": [sha], "tip": tip, "together": None})
            say(f"iteration {c['iteration']}: applies alone on the pre-optimization commit")
            continue
        for g in reversed(groups):
            applied, tip, _ = try_picks(repo_dir, base, g["shas"] + [sha])
            if applied:
                break
        else:  # it needs several earlier groups: all of them become one
            merged = {"changes": [m for g in groups for m in g["changes"]], "shas": [s for g in groups for s in g["shas"]]}
            order = sorted(range(len(merged["changes"])), key=lambda i: merged["changes"][i]["iteration"])
            g = {"changes": [merged["changes"][i] for i in order], "shas": [merged["shas"][i] for i in order],
                 "together": None}
            applied, tip, _ = try_picks(repo_dir, base, g["shas"] + [sha])
            if not applied:
                raise FinalizeError(f"iteration {c['iteration']} does not apply even on all the kept changes before "
                                    f"it; the record's commits are not a chain.")
            groups = [g]
        before = ", ".join(str(m["iteration"]) for m in g["changes"])
        g["changes"].append(c)
        g["shas"].append(sha)
        g["tip"] = tip
        why = (f"iteration {c['iteration']} touches the same lines as iteration(s) {before} "
               f"(its cherry-pick alone conflicts in {', '.join(files) or 'the same files'})")
        g["together"] = f"{g['together']}; {why}" if g.get("together") else why
        say(f"iteration {c['iteration']}: only applies together with iteration(s) {before}")
    return groups


def merge_check(repo_dir: Path, base: str, tips: list[str], campaign_tip: str) -> dict[str, Any]:
    """Merge every branch one by one onto ``base``: does each merge cleanly, and is the result the campaign's code?"""
    import git

    from campaign.measure.worktrees import worktree

    with worktree(repo_dir, base) as wt:
        r = git.Repo(wt)
        env = _identity(r)
        for n, tip in enumerate(tips, start=1):
            try:
                r.git.merge("--no-ff", "--no-edit", "-q", tip, env=env)
            except git.GitCommandError:
                return {"merges_cleanly": False, "failed_at": n, "reproduces_campaign": False}
        same = r.git.rev_parse("HEAD^{tree}") == r.git.rev_parse(f"{campaign_tip}^{{tree}}")
    return {"merges_cleanly": True, "failed_at": None, "reproduces_campaign": same}


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


def finalize(record_dir: Path, *, repo_dir: Path | None = None, workspace: Path | None = None,
             measure: bool = True, trust: bool = False, max_blocks: int | None = None,
             budget_s: float | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """Branches, tests, measurements and pull-request texts for every kept change of a record (see the module)."""
    from campaign.loop import machine
    from campaign.loop.journal import Journal
    from campaign.plugins.loading import load_target
    from campaign.plugins.target import TargetError

    say = progress or (lambda line: None)
    record_dir = Path(record_dir).resolve()
    if not (record_dir / "journal.jsonl").exists():
        raise FinalizeError(f"{record_dir} is not a campaign record (no journal.jsonl).")
    if measure and not trust:
        from campaign.review.trust import is_trusted, untrusted_reason

        if not is_trusted(record_dir):
            raise FinalizeError(f"{untrusted_reason(record_dir)}. finalize re-runs its code: read it first, then "
                                f"run again with --trust (or --no-measure to only build the branches).")
    events = Journal(record_dir).events()
    state = machine.derive(events)
    changes = kept_changes(events)
    if state.init is None or not changes:
        raise FinalizeError(f"{record_dir}: the record holds no kept change; there is nothing to finalize.")
    name = state.init.get("name") or record_dir.name
    from campaign.review.headline import agent as agent_of

    agent = agent_of(events)["text"]
    source = None if workspace else _from_repository(record_dir, state, changes, repo_dir)
    if source is None:
        dest = Path(workspace) if workspace else Path(tempfile.mkdtemp(prefix=f"campaign-finalize-{name}-"))
        source = _rebuild(record_dir, state, changes, dest.resolve(), say)
        mode = "rebuilt"
    else:
        mode = "repository"
    repo_path, base, shas = source
    import git

    repo = git.Repo(repo_path)
    groups = group_changes(repo_path, base, changes, shas, say)
    out_dir = Path(repo.git_dir) / "campaign-finalize" / name
    out_dir.mkdir(parents=True, exist_ok=True)
    start_branch = state.init.get("start_branch") or "main"
    target = None
    if measure:
        from campaign.measure.worktrees import worktree

        try:
            with worktree(repo_path, base) as wt:
                target = load_target(state.init["target_spec"], wt)
        except TargetError as exc:
            raise FinalizeError(str(exc)) from None
    results = []
    for n, g in enumerate(groups, start=1):
        first = g["changes"][0]
        branch = f"finalize/{name}/{n:02d}-iter-{first['iteration']:02d}-{pr_text.slug(first['title'])}"
        repo.git.branch("-f", branch, g["tip"])
        group = {"branch": branch, "tip": g["tip"], "base": base, "changes": g["changes"],
                 "iterations": [c["iteration"] for c in g["changes"]], "together": g["together"],
                 "claim": recorded_claim(g["changes"], changes), "test": None, "remeasured": None}
        if measure:
            cases = sorted({case for c in g["changes"] for case in c["cases"]}) or [target.fast_case]
            say(f"[{branch}] TEST on {', '.join(cases)}")
            group["test"] = retest(target, repo_path, g["tip"], cases, record_dir)
            if group["test"]["passed"]:
                case = first.get("case") or target.fast_case
                say(f"[{branch}] BENCHMARK against the pre-optimization commit, case {case}")
                group["remeasured"] = remeasure(repo_path, base, g["tip"], case, state.init["target_spec"],
                                                lambda line, b=branch: say(f"[{b}] {line}"), max_blocks, budget_s)
        group["within_recorded_interval"] = within(group["claim"], group["remeasured"])
        diff_file = out_dir / f"{n:02d}.patch"
        diff_file.write_text(repo.git.diff("--binary", base, g["tip"]) + "\n")
        body_file = out_dir / f"{n:02d}.md"
        body_file.write_text(pr_text.body(group, name, agent))
        group.update(title=pr_text.title(group), pr_body=str(body_file), patch=str(diff_file),
                     gh=pr_text.gh_line(branch, start_branch, pr_text.title(group), str(body_file)))
        results.append(group)
    merges = merge_check(repo_path, base, [g["tip"] for g in results], shas[changes[-1]["iteration"]])
    passed = all(g["test"] is None or g["test"]["passed"] for g in results)
    return {
        "record": str(record_dir), "name": name, "mode": mode, "repository": str(repo_path), "base": base,
        "base_branch": start_branch, "out_dir": str(out_dir), "measured": measure, "groups": results,
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
