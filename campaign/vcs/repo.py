"""The repository itself (GitPython): opening it, its working tree's changes, HEAD, commits and the identity."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from campaign.errors import VcsError
from campaign.vcs.paths import Changes, is_agent_config, is_junk, split_nul

FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "campaign",
    "GIT_AUTHOR_EMAIL": "campaign@localhost",
    "GIT_COMMITTER_NAME": "campaign",
    "GIT_COMMITTER_EMAIL": "campaign@localhost",
}


def open_repo(workspace: Path):
    """The git repository whose root is ``workspace``; ``VcsError`` when there is none."""
    import git

    try:
        repo = git.Repo(str(workspace))
    except (git.InvalidGitRepositoryError, git.NoSuchPathError):
        raise VcsError(
            f"{workspace} is not a git repository. A campaign works on a git repo (it tags, branches, "
            f"commits and reverts): run `git init && git add -A && git commit -m baseline` there first, "
            f"or pass --dir pointing at the repository."
        ) from None
    if repo.bare or repo.working_tree_dir is None:
        raise VcsError(
            f"{workspace} is a bare git repository (no working tree): a campaign edits, tests and measures files, "
            f"so it needs a checkout. Clone it (`git clone {workspace} work`) and run campaign in the clone."
        )
    if Path(repo.working_tree_dir).resolve() != Path(workspace).resolve():
        raise VcsError(
            f"{workspace} is inside the git repository {repo.working_tree_dir} but is not its root. "
            f"Run campaign with --dir {repo.working_tree_dir} (scope globs are relative to the root)."
        )
    return repo



def changes(repo, exclude: Iterable[str] = (), agent_config: bool = False) -> Changes:
    """Tracked and untracked changes vs HEAD, minus paths under the ``exclude`` prefixes, junk and (unless
    ``agent_config``) agent configuration."""
    prefixes = tuple(p.rstrip("/") + "/" for p in exclude)

    def keep(path: str) -> bool:
        return not is_junk(path) and not path.startswith(prefixes) and (agent_config or not is_agent_config(path))

    tracked = split_nul(repo.git.diff("HEAD", "--name-only", "-z", "--no-renames"))
    untracked = split_nul(repo.git.ls_files("--others", "--exclude-standard", "-z"))
    return Changes(sorted(p for p in tracked if keep(p)), sorted(p for p in untracked if keep(p)))


def require_clean(repo, exclude: Iterable[str] = ()) -> None:
    found = changes(repo, exclude)
    if found.files:
        listed = ", ".join(found.files[:8]) + (" ..." if len(found.files) > 8 else "")
        raise VcsError(
            f"the working tree of {repo.working_tree_dir} has uncommitted changes ({listed}). A campaign "
            f"reverts failed attempts and must never destroy your work: commit them (or add them to "
            f".gitignore) and run the command again."
        )


def ref_name_problem(*refs: str) -> str | None:
    """The first of ``refs`` (full names, ``refs/heads/...``) that git rejects, with git's rules; None if all pass.

    ``git check-ref-format`` is git's own judge (``..``, a trailing ``.``, ``.lock``, control characters, ...).
    """
    import subprocess

    for ref in refs:
        result = subprocess.run(["git", "check-ref-format", ref], capture_output=True, check=False)
        if result.returncode != 0:
            return ref
    return None


def current_branch(repo) -> str:
    if repo.head.is_detached:
        raise VcsError(
            f"{repo.working_tree_dir} has a detached HEAD. Check out the branch the campaign should "
            f"start from (`git switch main`) and run the command again."
        )
    return repo.active_branch.name


def head_commit(repo) -> str:
    try:
        return repo.head.commit.hexsha
    except ValueError:
        raise VcsError(
            f"{repo.working_tree_dir} has no commits yet. Commit the code to optimize first "
            f"(`git add -A && git commit -m baseline`)."
        ) from None


def head_message(repo) -> str:
    return repo.head.commit.message


def identity_env(repo) -> dict[str, str]:
    reader = repo.config_reader()
    try:
        reader.get_value("user", "email")
        reader.get_value("user", "name")
        return {}
    except Exception:  # noqa: BLE001 - an unreadable config is an unset identity
        return {k: v for k, v in FALLBACK_IDENTITY.items() if k not in os.environ}


def commit_paths(repo, paths: Iterable[str], message: str) -> str:
    """Stage exactly ``paths`` (additions, edits, deletions) and commit them; returns the hash."""
    paths = list(paths)
    if paths:
        repo.git.add("-A", "--", *paths)
    repo.git.commit("-m", message, "--allow-empty", env=identity_env(repo))
    return repo.head.commit.hexsha



def commit_with_message(repo, prefix: str, since: str | None) -> str | None:
    """The commit on HEAD's first-parent line after ``since`` whose message starts with ``prefix``."""
    for commit in repo.iter_commits("HEAD", first_parent=True, max_count=50):
        if since and commit.hexsha == since:
            return None
        if commit.message.startswith(prefix):
            return commit.hexsha
    return None
