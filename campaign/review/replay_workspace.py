"""The git side of ``campaign replay`` (and ``finalize``'s rebuild): a workspace made from the record alone.

``build_workspace`` unpacks the baseline snapshot into a fresh repository;
``verified_patch`` finds an attempt's patch in the record and checks its
digest; ``apply_patch``, ``commit_all`` and ``revert_changes`` move the tree.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from campaign.review.replay_compare import Attempt, ReplayError


def _git(repo_dir: Path):
    import git

    repo = git.Repo.init(repo_dir)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "campaign replay")
        cfg.set_value("user", "email", "replay@campaign.invalid")
    return repo


def commit_all(repo, message: str) -> str:
    """Commit everything in the tree (empty allowed); the new commit's sha."""
    repo.git.add("-A")
    repo.git.commit("-q", "--allow-empty", "-m", message)
    return repo.head.commit.hexsha


def build_workspace(record_dir: Path, dest: Path) -> Any:
    """A fresh git repository holding the record's baseline snapshot, committed."""
    snapshot = record_dir / "baseline_snapshot"
    if snapshot.is_dir():  # an older record's loose folder (the archive's tarfile filter refuses such links itself)
        from campaign.loop.tree_checks import symlinks_leaving

        leaving = symlinks_leaving(snapshot, [p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*")])
        if leaving:  # their targets are not in the record, so neither its manifest nor the user's trust covers them
            raise ReplayError(f"the baseline snapshot holds symlinks that leave it ({', '.join(leaving[:5])}): "
                              f"replay would run code the record does not hold. Replace them with the files themselves.")
    from campaign.measure.baseline import BaselineError, extract_snapshot

    try:
        extract_snapshot(record_dir, dest)
    except BaselineError as exc:
        raise ReplayError(f"{exc} It cannot be rebuilt.") from None
    repo = _git(dest)
    commit_all(repo, "replay: baseline snapshot")
    return repo


def verified_patch(record_dir: Path, attempt: Attempt) -> Path:
    """The attempt's patch in the record, its sha256 as recorded; ``ReplayError`` when missing or altered."""
    if not attempt.patch:
        raise ReplayError(f"iteration {attempt.iteration}: the journal names no patch; the record cannot be replayed.")
    path = record_dir / attempt.patch
    if not path.exists():
        raise ReplayError(f"iteration {attempt.iteration}: its patch {attempt.patch} is missing from the record; "
                          f"replay stops here.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if attempt.patch_sha256 and digest != attempt.patch_sha256:
        raise ReplayError(f"iteration {attempt.iteration}: its patch {attempt.patch} was altered (sha256 "
                          f"{digest[:12]} != recorded {attempt.patch_sha256[:12]}); replay stops here.")
    return path


def apply_patch(repo, patch: Path) -> None:
    """``git apply`` the patch to the tree (an empty patch changes nothing)."""
    if patch.stat().st_size == 0:
        return
    repo.git.apply("--whitespace=nowarn", str(patch))


def revert_changes(repo) -> None:
    """Back to HEAD: the tree's changes and new files gone."""
    repo.git.reset("-q", "--hard", "HEAD")
    repo.git.clean("-qfd")


def out_of_scope(repo, target) -> list[str]:
    """The tree's changed files outside the target's scope (what TEST refuses)."""
    from campaign import vcs

    return vcs.changes(repo).outside(target.scope)
