"""The git side of ``campaign finalize``: where the kept commits come from, how they group, how the branches merge.

The commits are the repository's own when it still has the pre-optimization
tag and every kept commit (``from_repository``), else the campaign rebuilt
from the record (``rebuild``, with replay's workspace). ``group_changes``
cherry-picks each kept change alone onto the pre-optimization commit and
puts one that conflicts with an earlier one in that one's group;
``merge_check`` merges the branches one after another.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from campaign.errors import UserError

Progress = Callable[[str], None]


class FinalizeError(UserError):
    """The record cannot be finalized (no kept change, a missing patch, an unusable workspace)."""


def _identity(repo) -> dict[str, str]:
    from campaign.vcs import identity_env

    return identity_env(repo)


def rebuild(record_dir: Path, state, changes: list[dict[str, Any]], dest: Path, say: Progress):
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
    start = (state.init.start_branch if state.init else None) or "main"
    chain = (state.init.branch if state.init else None) or "optimization"
    repo.git.branch("-f", chain, repo.head.commit.hexsha)
    repo.git.checkout("-q", "-B", start, base)
    return dest, base, shas


def from_repository(record_dir: Path, state, changes: list[dict[str, Any]], repo_dir: Path | None):
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
    return Path(repo.working_tree_dir), base, shas  # type: ignore[arg-type]  # a bare repository fails as before


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
