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


def test_the_start_commit_and_the_baseline_are_one_variant(tmp_path, monkeypatch):
    """init commits the record, AGENTS.md and SKILL.md: the exclusions BENCHMARK keys its variants by must cover
    every file init changed, or the baseline and the start commit are measured twice until the first keep
    (issue 21 item 9: SKILL.md was left out)."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    from loop_fixtures import campaign as run_cli, make_repo

    from campaign.loop.session import Campaign
    from campaign.loop.steps import benchmark as step

    repo = make_repo(tmp_path / "repo")
    assert run_cli(repo, "init", "--target", "campaign.toml").returncode == 0
    ctx = Campaign.open(repo)
    state = ctx.state()
    seen = {}
    monkeypatch.setattr(step, "benchmark_change", lambda *a, **k: seen.update(k) or {})
    step.benchmark_campaign_change(ctx, state, ["fast"], lambda line: None)
    changed = git(repo, "diff", "--name-only", state.init["base_commit"], state.start_commit).splitlines()
    assert "SKILL.md" in changed and "AGENTS.md" in changed
    exclude = seen["exclude"]
    assert all(any(f == e or f.startswith(e.rstrip("/") + "/") for e in exclude) for f in changed), (changed, exclude)
    assert content_key(repo, state.init["base_commit"], exclude) == content_key(repo, state.start_commit, exclude)
