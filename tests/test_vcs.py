"""git at the edge, on throwaway repositories."""

import subprocess

import pytest

from campaign import vcs
from campaign.errors import VcsError


def git(cwd, *args):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo_dir(tmp_path):
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "t@example.com")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text("a = 1\n")
    (tmp_path / "other.txt").write_text("keep\n")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def test_scope_globs():
    assert vcs.in_scope("src/a.py", ["src/*.py"])
    assert not vcs.in_scope("src/sub/a.py", ["src/*.py"])
    assert vcs.in_scope("src/sub/a.py", ["src/**/*.py"])
    assert vcs.in_scope("src/a.py", ["src/**/*.py"])
    assert vcs.in_scope("src/sub/x.c", ["src/"])
    assert vcs.in_scope("a.py", ["./a.py"])
    assert not vcs.in_scope("b.py", ["a.py"])


def test_not_a_repo(tmp_path):
    with pytest.raises(VcsError, match="not a git repository"):
        vcs.open_repo(tmp_path)


def test_dirty_tree_refused_but_record_and_caches_ignored(repo_dir):
    repo = vcs.open_repo(repo_dir)
    (repo_dir / "optim" / "c").mkdir(parents=True)
    (repo_dir / "optim" / "c" / "journal.jsonl").write_text("{}\n")
    (repo_dir / "src" / "__pycache__").mkdir()
    (repo_dir / "src" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"x")
    vcs.require_clean(repo, exclude=["optim/c"])
    (repo_dir / "new.txt").write_text("user work\n")
    with pytest.raises(VcsError, match="new.txt"):
        vcs.require_clean(repo, exclude=["optim/c"])


def test_changes_patch_and_restore(repo_dir):
    repo = vcs.open_repo(repo_dir)
    (repo_dir / "src" / "a.py").write_text("a = 2\n")
    (repo_dir / "src" / "new").mkdir()
    (repo_dir / "src" / "new" / "b.py").write_text("b = 1\n")
    (repo_dir / "other.txt").unlink()
    (repo_dir / "optim" / "c").mkdir(parents=True)
    (repo_dir / "optim" / "c" / "journal.jsonl").write_text("{}\n")
    found = vcs.changes(repo, exclude=["optim/c"])
    assert found.tracked == ["other.txt", "src/a.py"] and found.untracked == ["src/new/b.py"]
    assert found.outside(["src/**"]) == ["other.txt"]
    sha = vcs.write_patch(repo, found.files, repo_dir / "optim" / "c" / "patches" / "iter-01.patch")
    patch = (repo_dir / "optim" / "c" / "patches" / "iter-01.patch").read_text()
    assert "+a = 2" in patch and "b.py" in patch and "other.txt" in patch and len(sha) == 64
    assert git(repo_dir, "diff", "--cached", "--name-only") == ""  # the real index is untouched
    vcs.restore(repo, found)
    assert (repo_dir / "src" / "a.py").read_text() == "a = 1\n"
    assert (repo_dir / "other.txt").read_text() == "keep\n"
    assert not (repo_dir / "src" / "new").exists()
    assert (repo_dir / "optim" / "c" / "journal.jsonl").exists()  # the record is never touched
    # the patch applies on the restored tree: the attempt can be rebuilt from the record
    git(repo_dir, "apply", "--check", "optim/c/patches/iter-01.patch")


def test_tags_branch_commit_merge_and_snapshot(repo_dir, tmp_path_factory):
    repo = vcs.open_repo(repo_dir)
    base = vcs.head_commit(repo)
    assert vcs.current_branch(repo) == "main"
    vcs.ensure_tag(repo, "c/pre-optimization", base)
    vcs.ensure_tag(repo, "c/pre-optimization", base)  # idempotent
    vcs.switch_to_new_branch(repo, "optimization/c", base)
    (repo_dir / "src" / "a.py").write_text("a = 3\n")
    sha = vcs.commit_paths(repo, ["src/a.py"], "campaign c iter 1: faster (2.00x, CI 1.9-2.1)")
    assert vcs.commit_with_message(repo, "campaign c iter 1:", base) == sha
    assert vcs.commit_with_message(repo, "campaign c iter 2:", base) is None
    with pytest.raises(VcsError, match="already exists"):
        vcs.ensure_tag(repo, "c/pre-optimization", sha)
    vcs.merge_into(repo, "optimization/c", "main", "merge")
    assert vcs.current_branch(repo) == "main" and vcs.is_ancestor(repo, sha, "HEAD")
    dest = tmp_path_factory.mktemp("snap")
    assert vcs.snapshot_scope(repo, base, dest, ["src/*.py"]) == ["src/a.py"]
    assert (dest / "src" / "a.py").read_text() == "a = 1\n"


def test_campaign_marks_are_refs_that_git_describe_never_sees(repo_dir):
    """A campaign's pre-/post-optimization marks live under refs/campaign/: `git describe --tags` (setuptools-scm,
    hatch-vcs, release scripts) reports the project's own tags, as before the campaign (issue 21 item 3)."""
    repo = vcs.open_repo(repo_dir)
    base = vcs.head_commit(repo)
    repo.git.tag("v1.0", base)
    mark = vcs.campaign_ref("c", "pre-optimization")
    assert mark == "campaign/c/pre-optimization"
    vcs.ensure_tag(repo, mark, base)
    vcs.ensure_tag(repo, mark, base)  # idempotent
    (repo_dir / "src" / "a.py").write_text("a = 4\n")
    sha = vcs.commit_paths(repo, ["src/a.py"], "a change")
    vcs.ensure_tag(repo, vcs.campaign_ref("c", "post-optimization"), sha)
    assert repo.git.tag().split() == ["v1.0"]
    assert repo.git.describe("--tags") == f"v1.0-1-g{sha[:7]}"
    assert vcs.tag_commit(repo, mark) == base and repo.git.rev_parse(f"{mark}^{{commit}}") == base  # a revision
    with pytest.raises(VcsError, match="already exists"):
        vcs.ensure_tag(repo, mark, sha)
