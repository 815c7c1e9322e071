"""FINISH merges the code change only; the record stays in git and is read from there (issue 21 item 3).

Plain git, no measurement: the merge without the record (also when the start branch moved on since the
campaign began), the record ref, the export, and a record path that names a finished campaign.
"""

from __future__ import annotations

import pytest
from loop_fixtures import git

from campaign import vcs
from campaign.errors import UserError
from campaign.loop.record_store import (
    export_record,
    mark_record,
    merge_code_only,
    project_of,
    readable_copy,
    record_commit,
    resolve_record_dir,
)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "proj"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    (root / "code.py").write_text("x = 1\n")
    (root / "README.md").write_text("readme\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "base")
    git(root, "checkout", "-q", "-b", "optimization/c")
    (root / "optim" / "c" / "patches").mkdir(parents=True)
    (root / "optim" / "c" / "journal.jsonl").write_text('{"type": "init"}\n')
    (root / "optim" / "c" / "patches" / "iter-01-kept.patch").write_text("diff\n")
    (root / "code.py").write_text("x = 2\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "campaign c iter 1")
    (root / "optim" / "c" / ".lock").write_text("")  # an ignored leftover (older records kept the lock here)
    (root / "optim" / "c" / ".gitignore").write_text(".lock\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "campaign c: finish")
    return root


def test_the_merge_carries_the_code_change_and_not_the_record(repo):
    r = vcs.open_repo(repo)
    mark_record(r, "c", r.head.commit.hexsha)
    merge_code_only(r, "optimization/c", "main", "Merge optimization/c", "optim/c")
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert (repo / "code.py").read_text() == "x = 2\n"
    assert not (repo / "optim").exists() and git(repo, "status", "--porcelain", "--ignored") == ""
    assert sorted(git(repo, "ls-files").split()) == ["README.md", "code.py"]
    assert vcs.is_ancestor(r, "optimization/c", "main")  # merged: a real merge commit, both tips its parents
    assert len(r.head.commit.parents) == 2
    head = git(repo, "rev-parse", "HEAD")
    merge_code_only(r, "optimization/c", "main", "again", "optim/c")  # idempotent
    assert git(repo, "rev-parse", "HEAD") == head


def test_a_start_branch_that_moved_on_keeps_its_commits(repo):
    git(repo, "checkout", "-q", "main")
    (repo / "README.md").write_text("readme, edited meanwhile\n")
    git(repo, "commit", "-qam", "a colleague's commit")
    git(repo, "checkout", "-q", "optimization/c")
    r = vcs.open_repo(repo)
    merge_code_only(r, "optimization/c", "main", "Merge optimization/c", "optim/c")
    assert (repo / "README.md").read_text() == "readme, edited meanwhile\n" and (repo / "code.py").read_text() == "x = 2\n"
    assert "optim/c/journal.jsonl" not in git(repo, "ls-files")


def test_the_record_is_exported_and_found_from_its_path(repo, tmp_path):
    r = vcs.open_repo(repo)
    mark_record(r, "c", r.head.commit.hexsha)
    merge_code_only(r, "optimization/c", "main", "Merge", "optim/c")
    git(repo, "branch", "-D", "optimization/c")  # the ref alone keeps it
    assert record_commit(r, "c") is not None
    out = export_record(r, "c", tmp_path / "out")
    assert (out / "journal.jsonl").read_text() == '{"type": "init"}\n' and (out / "patches" / "iter-01-kept.patch").exists()
    copy = resolve_record_dir(repo / "optim" / "c")
    assert copy == readable_copy(repo, "c", finished_only=True) and (copy / "journal.jsonl").is_file()
    assert copy.name == "c" and copy.parent.name == "optim" and project_of(copy) == repo
    with pytest.raises(UserError, match="no record of a campaign named 'nope'"):
        export_record(r, "nope", tmp_path / "none")
