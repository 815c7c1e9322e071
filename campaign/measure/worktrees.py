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
from typing import Any, Iterator, cast


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


OWNER_FILE = "owner.pid"


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale(repo) -> list[str]:
    """Remove our worktrees whose owning process is gone (a ``kill -9`` mid-benchmark).

    ``git worktree prune`` cannot: the directory still exists. Each worktree's
    parent directory holds the owner's pid; a dead owner means nobody uses it.
    """
    import git

    removed: list[str] = []
    try:
        listing = repo.git.worktree("list", "--porcelain")
    except git.GitCommandError:
        return removed
    for line in listing.splitlines():
        if not line.startswith("worktree ") or "campaign-wt-" not in line:
            continue
        path = Path(line[len("worktree "):])
        owner = path.parent / OWNER_FILE
        try:
            pid = int(owner.read_text().strip())
        except (OSError, ValueError):
            continue  # not ours, or still being created
        if _alive(pid):
            continue
        for args in (("unlock", str(path)), ("remove", "--force", "--force", str(path))):
            try:
                repo.git.worktree(*args)
            except git.GitCommandError:
                pass
        shutil.rmtree(path.parent, ignore_errors=True)
        removed.append(str(path))
    if removed:
        try:
            repo.git.worktree("prune")
        except git.GitCommandError:
            pass
    return removed


@contextmanager
def worktree(repo_dir: Path, commit: str) -> Iterator[Path]:
    """Check ``commit`` out in a detached temporary worktree; yield its path; always remove it."""
    import os

    import git

    sha = resolve_commit(repo_dir, commit)
    repo = git.Repo(repo_dir, search_parent_directories=True)
    remove_stale(repo)
    parent = Path(tempfile.mkdtemp(prefix=f"campaign-wt-{sha[:8]}-"))
    (parent / OWNER_FILE).write_text(str(os.getpid()))
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


def content_key(repo_dir: Path, commit: str, exclude: list[str] | tuple[str, ...] = ()) -> str:
    """What a measurement of ``commit`` depends on: its git tree, minus the paths in ``exclude``.

    Two commits with the same key hold the same code (a campaign's own record
    and AGENTS.md, say, do not change what runs), so one measurement serves
    both. Without exclusions the key is the commit's tree id; otherwise a
    hash of the remaining (path, blob id, mode) entries.
    """
    import hashlib

    import git

    try:
        repo = git.Repo(repo_dir, search_parent_directories=True)
        tree = repo.commit(commit).tree
    except (git.InvalidGitRepositoryError, git.NoSuchPathError, git.BadName, ValueError) as exc:
        raise WorktreeError(f"cannot read the tree of {commit!r} in {repo_dir}: {exc}") from None
    skip = [p.strip("/") for p in exclude if p and p.strip("/")]
    if not skip:
        return f"tree:{tree.hexsha}"
    digest = hashlib.sha256()
    for item in tree.traverse():
        item = cast(Any, item)  # a Blob, Tree or Submodule (GitPython's union includes tuples)
        path = item.path
        if any(path == s or path.startswith(s + "/") for s in skip) or item.type == "tree":
            continue
        digest.update(f"{path}\0{item.hexsha}\0{item.mode:o}\n".encode())
    return f"content:{digest.hexdigest()}"
