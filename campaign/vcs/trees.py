"""Trees and patches: an attempt's diff, reverting it, the tested tree, and the files of a commit."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterable

from campaign.vcs.paths import Changes, in_scope, is_junk, split_nul
from campaign.vcs.repo import changes

def diff_patch(repo, paths: Iterable[str]) -> bytes:
    """The binary diff of ``paths`` (working tree vs HEAD, new files included) without touching the index."""
    paths = list(paths)
    if not paths:
        return b""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        repo.git.read_tree("HEAD", env=env)
        repo.git.add("-A", "--", *paths, env=env)
        return repo.git.diff("--cached", "--binary", "HEAD", env=env, stdout_as_string=False, strip_newline_in_stdout=False)


def write_patch(repo, paths: Iterable[str], dest: Path) -> str:
    """Write the diff of ``paths`` to ``dest``; returns its sha256."""
    data = diff_patch(repo, paths)
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def restore(repo, found: Changes) -> None:
    """Put every changed path back as it is at HEAD; delete new untracked files. Nothing else."""
    root = Path(repo.working_tree_dir)
    if found.tracked:
        in_head = set(split_nul(repo.git.ls_tree("-r", "--name-only", "-z", "HEAD", "--", *found.tracked)))
        repo.git.reset("-q", "HEAD", "--", *found.tracked)  # unstage (index only, these paths only)
        if in_head:
            repo.git.checkout("HEAD", "--", *sorted(in_head))
        for path in set(found.tracked) - in_head:  # staged-new files
            _remove(root, path)
    for path in found.untracked:
        _remove(root, path)


def restore_missing(repo, prefix: str) -> list[str]:
    """Check out again the files under ``prefix`` that git tracks but the working tree lost; their paths."""
    missing = split_nul(repo.git.ls_files("--deleted", "-z", "--", prefix))
    if missing:
        repo.git.checkout("--", *missing)
    return missing


def _remove(root: Path, rel: str) -> None:
    path = root / rel
    try:
        path.unlink()
    except FileNotFoundError:
        return
    parent = path.parent
    while parent != root:
        try:
            parent.rmdir()  # only when empty
        except OSError:
            break
        parent = parent.parent


def files_at(repo, commit: str) -> list[str]:
    """The files (blobs) of ``commit``: submodules (gitlinks) are not files of this repository and are left out."""
    files = []
    for entry in split_nul(repo.git.ls_tree("-r", "-z", commit)):
        meta, _, path = entry.partition("\t")
        if meta.split(" ")[1:2] == ["blob"]:
            files.append(path)
    return files


def worktree_tree(repo, paths: Iterable[str]) -> str:
    """The git tree of HEAD with ``paths`` as they are in the working tree (a temporary index; nothing staged).

    ``campaign try`` records it as the tree it tested, so LOG can later tell
    the tested change from anything that changed since.
    """
    paths = list(paths)
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        repo.git.read_tree("HEAD", env=env)
        if paths:
            repo.git.add("-A", "--", *paths, env=env)
        return repo.git.write_tree(env=env)


def tree_diff(repo, a: str, b: str) -> list[str]:
    """Paths that differ between two trees (or commits)."""
    return sorted(split_nul(repo.git.diff_tree("-r", "--name-only", "-z", "--no-renames", a, b)))


def untested_changes(repo, tested_tree: str, exclude: Iterable[str] = (), partial_revert: bool = False) -> list[str]:
    """Paths whose working-tree state is not the ``tested_tree`` (without the record folder and caches).

    With ``partial_revert`` a path already back at HEAD counts as tested (a
    revert interrupted halfway restored it); anything else - an edit to
    another file, a new file, a further edit to a tested file - is the
    user's work, which LOG must neither commit nor revert.
    """
    found = changes(repo, exclude)
    now = worktree_tree(repo, found.files)
    differing = [p for p in tree_diff(repo, tested_tree, now) if not is_junk(p)]
    if partial_revert:
        moved = set(tree_diff(repo, "HEAD", now))
        differing = [p for p in differing if p in moved]
    return differing


def snapshot_scope(repo, commit: str, dest: Path, scope: Iterable[str], exclude: Iterable[str] = ()) -> list[str]:
    """Copy the files in ``scope`` as they are at ``commit`` into ``dest``; returns their paths.

    ``exclude`` holds path prefixes left out (the record folders under optim/).
    """
    scope, exclude = list(scope), tuple(exclude)
    copied = []
    for path in files_at(repo, commit):
        if not in_scope(path, scope) or path.startswith(exclude):
            continue
        data = repo.git.show(f"{commit}:{path}", stdout_as_string=False, strip_newline_in_stdout=False)
        out = Path(dest) / path
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
        copied.append(path)
    return copied


def blobs_at(repo, commit: str, exclude: Iterable[str] = ()) -> list[tuple[str, bytes, int]]:
    """Every file at ``commit`` as ``(path, bytes, git mode)``, sorted; ``exclude``: path prefixes left out.

    Submodules are left out (their files are not in this repository); a
    symbolic link keeps git's mode 0o120000, its bytes being the link's target.
    """
    exclude = tuple(exclude)
    out = []
    for item in repo.commit(commit).tree.traverse():
        if item.type != "blob" or item.path.startswith(exclude):
            continue
        out.append((item.path, item.data_stream.read(), item.mode))
    return sorted(out)

