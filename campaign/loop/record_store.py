"""Where a finished campaign's record lives: in git, not in the user's branch.

FINISH merges only the code change into the branch the campaign started
from (``finish.py``): a record folder merged into it would ship in the
user's sdist (hatchling packs every file under the project root that the
root ``.gitignore`` does not exclude, setuptools-scm every tracked file).
The record stays where it was made, on the campaign branch
``optimization/<name>``, and the ref ``refs/campaign/<name>/record`` names
the commit that holds it (it survives a deleted branch; ``git describe``,
setuptools-scm and hatch-vcs read only ``refs/tags/``).

``record_commit`` finds that commit, ``export_record`` writes the record's
files from it into any folder (``campaign export-record``, and the copy that
``review``/``report``/``replay`` read under ``<git dir>/campaign/<name>/record``
when ``optim/<name>`` is gone from the tree: ``.../record/optim/<name>``, named as
in the tree), ``resolve_record_dir`` turns a
record path that names a finished campaign into that copy.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from campaign.loop.record_place import RECORD_ROOTS

EXPORT_FOLDER = "record"  # <git dir>/campaign/<name>/record/optim/<name>: the readable copy of a finished record


def record_ref(name: str) -> str:
    """The full ref that names the commit holding campaign ``name``'s record."""
    return f"refs/campaign/{name}/record"


def mark_record(repo, name: str, commit: str) -> None:
    """Point ``refs/campaign/<name>/record`` at ``commit`` (created or moved)."""
    repo.git.update_ref(record_ref(name), commit)


def _resolve(repo, rev: str) -> str | None:
    try:
        return repo.git.rev_parse("--verify", "--quiet", f"{rev}^{{commit}}") or None
    except Exception:  # noqa: BLE001 - a missing ref is an answer, not an error
        return None


def record_commit(repo, name: str) -> str | None:
    """The commit holding the record: the record ref, else the campaign branch's tip; None when neither exists."""
    return _resolve(repo, record_ref(name)) or _resolve(repo, f"refs/heads/optimization/{name}")


def record_path_in(repo, commit: str, name: str) -> str | None:
    """``optim/<name>`` or ``optim-records/<name>``: the folder of ``commit`` that holds the journal."""
    listed = repo.git.ls_tree("--name-only", commit, "--", *(f"{root}/{name}/journal.jsonl" for root in RECORD_ROOTS))
    return next((f"{root}/{name}" for root in RECORD_ROOTS if f"{root}/{name}/journal.jsonl" in listed.split()), None)


def export_record(repo, name: str, dest: Path) -> Path:
    """Write campaign ``name``'s record, as its record commit holds it, into ``dest`` (replaced); returns ``dest``.

    Raises ``UserError`` when the repository holds no record of that name.
    """
    from campaign.errors import UserError

    commit = record_commit(repo, name)
    rel = record_path_in(repo, commit, name) if commit else None
    if rel is None:
        raise UserError(f"no record of a campaign named {name!r} in git here (no {record_ref(name)} and no branch "
                        f"optimization/{name} holding optim/{name}/journal.jsonl); `git fetch origin "
                        f"'refs/campaign/*:refs/campaign/*'` brings the records of another clone.")
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    tree = repo.commit(commit).tree / rel
    for item in tree.traverse():
        if item.type != "blob":
            continue
        out = dest / Path(item.path).relative_to(rel)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(item.data_stream.read())
        if item.mode & 0o111:
            out.chmod(0o755)
    return dest


def _has_record_ref(git_dir: Path, name: str) -> bool:
    from campaign.loop.journal_ref import common_dir

    root = common_dir(git_dir)
    if (root / record_ref(name)).is_file():
        return True
    try:
        return f" {record_ref(name)}\n" in (root / "packed-refs").read_text()
    except OSError:
        return False


def readable_copy(workspace: Path, name: str, finished_only: bool = False) -> Path | None:
    """The copy of a record merged out of the tree, refreshed from git: ``<git dir>/campaign/<name>/record``.

    ``finished_only``: only from the record ref FINISH sets (never from the branch of a running campaign).
    """
    from campaign import vcs
    from campaign.loop.record_guard import copy_dir

    folder = copy_dir(Path(workspace), name)
    if folder is None or (finished_only and not _has_record_ref(folder.parent.parent, name)):
        return None  # (a cheap look at the ref first: ``status`` does not import GitPython for nothing)
    try:
        repo = vcs.open_repo(Path(workspace))
    except Exception:  # noqa: BLE001 - not a repository: nothing to read from
        return None
    commit = _resolve(repo, record_ref(name)) if finished_only else record_commit(repo, name)
    rel = record_path_in(repo, commit, name) if commit else None
    if rel is None or commit is None:
        return None
    top, stamp = folder / EXPORT_FOLDER, folder / f"{EXPORT_FOLDER}.commit"
    dest = top / rel  # <git dir>/campaign/<name>/record/optim/<name>: named as in the tree
    try:
        if dest.is_dir() and stamp.read_text().strip() == commit:
            return dest  # already this commit's record (a reader never sees it half written: see below)
    except OSError:
        pass
    import os

    fresh = folder / f".{EXPORT_FOLDER}.{os.getpid()}.tmp"
    export_record(repo, name, fresh / rel)
    old = folder / f".{EXPORT_FOLDER}.{os.getpid()}.old"
    if top.exists():
        os.replace(top, old)
    os.replace(fresh, top)
    shutil.rmtree(old, ignore_errors=True)
    shutil.rmtree(fresh, ignore_errors=True)
    stamp.write_text(commit + "\n")
    return dest


def resolve_record_dir(path: Path) -> Path:
    """``path`` itself when it exists; else, for ``[...]/optim/<name>`` of a repository that holds that record in
    git (a finished campaign, merged without its record), its readable copy. Unchanged otherwise."""
    path = Path(path)
    if path.exists() or path.parent.name not in RECORD_ROOTS:
        return path
    workspace = path.parent.parent if str(path.parent.parent) else Path(".")
    try:
        copy = readable_copy(workspace.resolve(), path.name)
    except Exception:  # noqa: BLE001 - the caller's own "not found" message is the clearer one
        return path
    return copy or path


def _tree_without(repo, tree: str, drop: list[str]) -> str:
    """``tree`` with the paths ``drop`` removed (a temporary index; nothing staged)."""
    import os
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": os.path.join(tmp, "index")}
        repo.git.read_tree(tree, env=env)
        repo.git.rm("--cached", "-r", "-q", "--ignore-unmatch", "--", *drop, env=env)
        return repo.git.write_tree(env=env)


def _merged_tree(repo, ours: str, theirs: str, branch: str, into: str) -> str:
    """The tree of merging ``theirs`` into ``ours`` (``git merge-tree``: the work tree is not touched)."""
    import git

    from campaign import vcs
    from campaign.errors import VcsError

    if vcs.is_ancestor(repo, ours, theirs):
        return repo.git.rev_parse(f"{theirs}^{{tree}}")
    try:
        return repo.git.merge_tree("--write-tree", "--no-messages", ours, theirs).splitlines()[0]
    except git.GitCommandError as exc:
        raise VcsError(f"{into} moved on since the campaign started and merging {branch} into it conflicts "
                       f"({' '.join(str(exc.stdout or '').split()[1:6])} ...). Nothing was merged; merge it by hand "
                       f"(`git switch {into} && git merge {branch}`, then `git rm -r` the record folder) or rebase "
                       f"{into}'s new commits, then run `campaign finish` again.") from None


def merge_code_only(repo, branch: str, into: str, message: str, record_rel: str) -> str:
    """Merge ``branch`` into ``into`` without the record folder ``record_rel``; returns ``into``'s new HEAD.

    The merge commit has both tips as parents (``git branch --merged`` and
    ``finish_missing`` see the campaign branch merged, its history stays
    reachable) and the tree of the merge minus the record: the user's branch
    gains the code change only. It is built in git's object store first; the
    checkout then fast-forwards to it. A no-op when already merged. The
    record's leftovers on disk (git-ignored files) are removed with its folder.
    """
    from campaign import vcs

    ours, theirs = repo.git.rev_parse(f"refs/heads/{into}"), repo.git.rev_parse(f"refs/heads/{branch}")
    if not vcs.is_ancestor(repo, theirs, ours):
        tree = _tree_without(repo, _merged_tree(repo, ours, theirs, branch, into), [record_rel])
        merge = repo.git.commit_tree(tree, "-p", ours, "-p", theirs, "-m", message, env=vcs.identity_env(repo))
        head = vcs.merge_into(repo, into, into, message)  # the checkout (with its clear error when it is not free)
        if head != merge:
            repo.git.merge("--ff-only", "-q", merge)
    else:
        vcs.merge_into(repo, branch, into, message)
    _remove_leftovers(repo, record_rel)
    return repo.head.commit.hexsha


def _remove_leftovers(repo, record_rel: str) -> None:
    """The record's folder off the disk once git no longer tracks it on this branch (ignored leftovers, caches)."""
    folder = Path(repo.working_tree_dir, record_rel)
    if folder.is_dir() and not repo.git.ls_files("--", record_rel).strip():
        shutil.rmtree(folder, ignore_errors=True)
        root = folder.parent
        if root.is_dir() and not any(root.iterdir()):
            root.rmdir()


def project_of(record_dir: Path) -> Path:
    """The project a record folder belongs to: ``<project>/optim/<name>``, or for the readable copy of a finished
    record (``<project>/.git/campaign/<name>/record/optim/<name>``) the project whose git folder holds it."""
    record_dir = Path(record_dir)
    up = record_dir.parents
    if len(up) >= 5 and up[1].name == EXPORT_FOLDER and up[2].name == record_dir.name and up[3].name == "campaign":
        git_dir = up[4]
        return git_dir.parent if git_dir.name == ".git" else git_dir
    return record_dir.parent.parent
