"""An attempt's patch that conflicts with the kept code is named in words, not by git's "U file'" line."""

from __future__ import annotations

import subprocess
from pathlib import Path

import git

from campaign.agents.worktree_implement import apply_patch


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def test_a_conflicting_patch_names_the_file_in_words(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    (repo / "f.txt").write_text("a\nb\nc\nd\n")
    _git(repo, "add", "f.txt")
    _git(repo, "commit", "-qm", "base")
    (repo / "f.txt").write_text("a\nB\nc\nd\n")  # the attempt's change
    patch = tmp_path / "a1.patch"
    patch.write_text(_git(repo, "diff"))
    (repo / "f.txt").write_text("a\nb2\nc\nd\n")  # another attempt, kept meanwhile, changed the same line
    _git(repo, "commit", "-qam", "kept")
    reason = apply_patch(git.Repo(repo), patch, None)
    assert reason == "it conflicts with the kept code in f.txt"


def _conflicting_repo(tmp_path: Path, names: list[str]) -> tuple[Path, Path]:
    """A repo whose ``names`` were each changed on one line by a kept commit after ``patch`` (same line) was taken."""
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    for name in names:
        (repo / name).write_text("a\nb\nc\nd\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "base")
    for name in names:
        (repo / name).write_text("a\nB\nc\nd\n")
    patch = tmp_path / "a1.patch"
    patch.write_text(_git(repo, "diff"))
    for name in names:
        (repo / name).write_text("a\nb2\nc\nd\n")
    _git(repo, "commit", "-qam", "kept")
    return repo, patch


def test_the_conflicted_paths_come_from_the_index_not_from_gits_text(tmp_path):
    """Names git's stderr cannot carry as they are: a trailing quote (GitPython wraps stderr in quotes), a leading
    space (a stripped line), a non-ASCII name; the index names them exactly. The caller's restore cleans up."""
    from campaign import vcs

    names = ["notes'", " lead.txt", "caf\u00e9.txt"]
    repo, patch = _conflicting_repo(tmp_path, names)
    handle = git.Repo(repo)
    reason = apply_patch(handle, patch, None)
    assert reason == f"it conflicts with the kept code in {', '.join(sorted(names))}"
    vcs.restore(handle, vcs.changes(handle))  # what ParallelRunner._apply does with a refused patch
    assert _git(repo, "status", "--porcelain") == ""
    assert (repo / "notes'").read_text() == "a\nb2\nc\nd\n"


def test_other_refusals_keep_gits_last_line_without_quotes():
    from campaign.agents.worktree_implement import conflict_reason

    assert conflict_reason("\n  stderr: 'error: corrupt patch at line 3'") == "error: corrupt patch at line 3"
    assert conflict_reason("") == "git apply refused it"
    assert conflict_reason("error: x", ["b.py", "a.py"]) == "it conflicts with the kept code in b.py, a.py"
