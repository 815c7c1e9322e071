"""The journal's third copy in git objects (``refs/campaign/<name>/journal``): issue 23 item 4.

An agent that deletes both file copies (``optim/<name>/`` and ``.git/campaign/``)
no longer loses the campaign: the next command restores both from the ref.
"""

from __future__ import annotations

import json
import shutil
import subprocess

from loop_fixtures import campaign as run_cli, cli_env, git, make_repo


def test_deleting_both_journal_copies_loses_nothing(tmp_path):
    repo = make_repo(tmp_path / "repo")
    env = cli_env()
    assert run_cli(repo, "init", "--target", "campaign.toml", "--json", env=env).returncode == 0
    record = repo / "optim" / "primes"
    events = [json.loads(line) for line in (record / "journal.jsonl").read_text().splitlines()]
    sha = git(repo, "rev-parse", "refs/campaign/primes/journal")
    assert git(repo, "cat-file", "-t", sha) == "blob"
    assert git(repo, "cat-file", "blob", sha) == (record / "journal.jsonl").read_text().rstrip("\n")
    shutil.rmtree(record)  # an agent's `rm -rf optim .git/campaign`
    shutil.rmtree(repo / ".git" / "campaign")
    status = json.loads(run_cli(repo, "status", "--json", env=env).stdout)
    assert status["name"] == "primes" and status["events"] == len(events) and status["step"] == "profile", status
    profile = run_cli(repo, "profile", "--json", env=env)
    assert profile.returncode == 0, profile.stderr
    assert "restored it from its protected copy" in profile.stderr
    after = [json.loads(line) for line in (record / "journal.jsonl").read_text().splitlines()]
    assert after[: len(events)] == events and after[-1]["type"] == "profile"
    assert (repo / ".git" / "campaign" / "primes" / "journal.jsonl").read_text() == (record / "journal.jsonl").read_text()
    subprocess.run(["git", "gc", "-q", "--prune=now"], cwd=repo, check=True)  # gc keeps what the ref names
    shutil.rmtree(repo / ".git" / "campaign")
    (record / "journal.jsonl").unlink()
    status = json.loads(run_cli(repo, "status", "--json", env=env).stdout)
    assert status["events"] == len(after)


def test_a_new_campaign_under_a_name_whose_ref_remains_is_refused(tmp_path):
    """The ref counts as the campaign's record: init does not start a fresh journal over it."""
    from campaign.loop.journal_ref import JournalRef

    repo = make_repo(tmp_path / "repo")
    JournalRef(repo / ".git", "primes").write(b'{"schema": 1}\n')
    result = run_cli(repo, "init", "--target", "campaign.toml", "--json", env=cli_env())
    assert result.returncode == 1 and "already exists" in result.stdout
    assert "git update-ref -d refs/campaign/primes/journal" in json.loads(result.stdout)["message"]
