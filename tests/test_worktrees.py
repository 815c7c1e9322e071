"""Temporary worktrees: always removed, and a killed owner's leftovers cleaned on the next use."""

import subprocess
import sys

from campaign.measure.worktrees import OWNER_FILE, remove_stale, worktree


def _git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _repo(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    (repo / "a.txt").write_text("one\n")
    _git(repo, "add", "a.txt")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one")
    return repo


def _listed(repo):
    return [l[9:] for l in _git(repo, "worktree", "list", "--porcelain").splitlines() if l.startswith("worktree ")]


def test_worktree_is_removed_after_use(tmp_path):
    repo = _repo(tmp_path)
    with worktree(repo, "HEAD") as path:
        assert (path / "a.txt").read_text() == "one\n"
    assert not path.exists() and len(_listed(repo)) == 1


def test_leftover_of_a_killed_owner_is_removed(tmp_path):
    repo = _repo(tmp_path)
    # a process that dies (as under kill -9) while holding a worktree
    code = (
        "import os, sys\n"
        "from campaign.measure.worktrees import worktree\n"
        f"cm = worktree({str(repo)!r}, 'HEAD')\n"
        "path = cm.__enter__()\n"
        "print(path, flush=True)\n"
        "os._exit(0)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out and len(_listed(repo)) == 2 and (tmp_path / out).exists()
    import git

    removed = remove_stale(git.Repo(repo))
    assert removed == [out] and len(_listed(repo)) == 1


def test_a_live_owners_worktree_is_kept(tmp_path):
    import git

    repo = _repo(tmp_path)
    with worktree(repo, "HEAD") as path:
        assert (path.parent / OWNER_FILE).exists()
        assert remove_stale(git.Repo(repo)) == []
        assert path.exists()
