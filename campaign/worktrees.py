"""Side-by-side checkouts: a commit in a temporary, detached git worktree.

``campaign compare`` and replays measure two commits at once without
touching the user's working tree: each commit gets its own detached worktree
in a temporary directory, always removed afterwards (also on errors).
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


class WorktreeError(Exception):
    """A commit could not be checked out (unknown revision, not a git repository)."""


def resolve_commit(repo_dir: Path, rev: str) -> str:
    """The full hex of ``rev`` in ``repo_dir`` (``WorktreeError`` when it does not exist)."""
    import git

    try:
        repo = git.Repo(repo_dir, search_parent_directories=True)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise WorktreeError(f"{repo_dir} is not inside a git repository") from exc
    try:
        return repo.commit(rev).hexsha
    except (git.BadName, ValueError, git.GitCommandError) as exc:
        raise WorktreeError(f"unknown commit {rev!r} in {repo_dir}: {exc}") from None


@contextmanager
def worktree(repo_dir: Path, commit: str) -> Iterator[Path]:
    """Check ``commit`` out in a detached temporary worktree; yield its path; always remove it."""
    import git

    sha = resolve_commit(repo_dir, commit)
    repo = git.Repo(repo_dir, search_parent_directories=True)
    parent = Path(tempfile.mkdtemp(prefix=f"campaign-wt-{sha[:8]}-"))
    path = parent / "tree"
    try:
        repo.git.worktree("add", "--detach", str(path), sha)
    except git.GitCommandError as exc:
        shutil.rmtree(parent, ignore_errors=True)
        raise WorktreeError(f"cannot check out {commit!r} into a worktree: {exc.stderr.strip() or exc}") from None
    try:
        yield path
    finally:
        try:
            repo.git.worktree("remove", "--force", str(path))
        except git.GitCommandError:
            pass
        shutil.rmtree(parent, ignore_errors=True)
        try:
            repo.git.worktree("prune")
        except git.GitCommandError:
            pass
