import subprocess

from campaign.measure.worktrees import content_key


def git(repo, *args):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_commits_that_differ_only_in_the_record_share_a_key(tmp_path):
    git(tmp_path, "init", "-q")
    (tmp_path / "code.py").write_text("x = 1\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    base = git(tmp_path, "rev-parse", "HEAD")
    (tmp_path / "optim" / "c1").mkdir(parents=True)
    (tmp_path / "optim" / "c1" / "journal.jsonl").write_text("{}\n")
    (tmp_path / "AGENTS.md").write_text("agents\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "start")
    start = git(tmp_path, "rev-parse", "HEAD")
    exclude = ["optim/c1", "AGENTS.md"]
    assert content_key(tmp_path, base, exclude) == content_key(tmp_path, start, exclude)
    assert content_key(tmp_path, base) != content_key(tmp_path, start)  # whole trees differ
    (tmp_path / "code.py").write_text("x = 2\n")
    git(tmp_path, "commit", "-qam", "change")
    assert content_key(tmp_path, "HEAD", exclude) != content_key(tmp_path, start, exclude)
