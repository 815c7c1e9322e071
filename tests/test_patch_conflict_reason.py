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


def test_other_refusals_keep_gits_last_line_without_quotes():
    from campaign.agents.worktree_implement import conflict_reason

    assert conflict_reason("\n  stderr: 'error: corrupt patch at line 3'") == "error: corrupt patch at line 3"
    assert conflict_reason("") == "git apply refused it"
