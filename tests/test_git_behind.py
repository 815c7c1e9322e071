"""Git is the campaign's between steps (issue 23, items 1-3).

A commit, reset, stash or branch switch that no step made is refused before
the next step (and right after a workload run that made it), naming the
commits or the stash, with the command that puts things back; FINISH merges
only the commits the journal's kept iterations account for.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from campaign.cli import cli

from campaign.loop.journal import Journal
from loop_fixtures import PRIMES, SIEVE, campaign, cli_env, git, make_repo
from test_cli_loop import _at_log_with_benchmark, assert_refused, crafted, run

BROKEN = "raise SystemExit('broken on purpose')\n"

WRAPPER = textwrap.dedent(
    """
    import os
    import subprocess
    import sys

    # runs sealed, in a copy without .git (issue 20): it reaches the repository by a path it was told
    action, where = os.environ.get("BEHIND_ACTION"), os.environ.get("BEHIND_REPO", ".")
    if action == "commit":
        subprocess.run(["git", "-C", where, "commit", "-qam", "made by the workload"], capture_output=True)
    elif action == "stash":
        subprocess.run(["git", "-C", where, "stash", "push", "-u", "-q"], capture_output=True)
    sys.argv = ["bench.py", *sys.argv[1:]]
    exec(compile(open("bench.py").read(), "bench.py", "exec"))
    """
).lstrip()


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def _error(result) -> dict:
    data = json.loads([line for line in result.output.splitlines() if line.startswith("{")][-1])
    assert data["ok"] is False, data
    return data


def _head(repo: Path) -> str:
    return git(repo, "rev-parse", "HEAD")


def _code_head(repo: Path) -> str:
    """HEAD less the record's own commits on top (campaign/loop/record_commits.py): the commit of the code."""
    from campaign import vcs
    from campaign.loop.record_commits import code_head

    return code_head(vcs.open_repo(repo), "primes", "optim/primes")


# -- item 1: a hand-made commit after `try` is never merged ------------------------------------------------


def test_log_refuses_a_commit_made_after_try_and_names_it(repo):
    _at_log_with_benchmark(repo, "slower", 0.32)
    recorded = _head(repo)
    git(repo, "commit", "-qam", "x")
    sneaked = _head(repo)
    result = run(repo, "log", "--surprise", "slower", "--why", "w", "--lesson", "l", "--json")
    assert result.exit_code == 1, result.output
    error = _error(result)
    assert error["code"] == "git_moved"
    assert error["commits"][0]["commit"] == sneaked and error["expected_head"] == recorded
    assert sneaked[:10] in error["message"] and f"git reset --soft {recorded[:10]}" in error["message"]
    assert _head(repo) == sneaked  # nothing changed

    # the way out the message gives: undo the commit, keep the edit; LOG then reverts the tested change
    git(repo, "reset", "-q", "--soft", recorded)
    result = run(repo, "log", "--surprise", "slower", "--why", "w", "--lesson", "l", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["revert"]["reason"] == "slower"
    assert _code_head(repo) == recorded and (repo / "primes.py").read_text() == PRIMES
    assert git(repo, "status", "--porcelain") == ""  # the revert's record is committed on top (record_commits.py)


def test_finish_refuses_a_commit_made_after_the_last_kept_iteration(repo):
    j = crafted(repo, "profile")
    j.append("decide", {"stop": True, "rule": "declared", "reason": "r", "exhausted": False, "phase": None,
                        "why": "w", "cumulative_speedup": None})
    (repo / "backdoor.py").write_text("print('pwned')\n")
    git(repo, "add", "backdoor.py")
    git(repo, "commit", "-qm", "backdoor")
    main = git(repo, "rev-parse", "main")
    result = run(repo, "finish", "--json")
    error = _error(result)
    assert result.exit_code == 1 and error["code"] == "git_moved", result.output
    assert "'backdoor'" in error["message"]
    assert git(repo, "rev-parse", "main") == main
    review = CliRunner().invoke(cli, ["review", str(repo / "optim" / "primes"), "--json"])  # `review` sees it too
    assert review.exit_code == 4, review.output
    findings = json.loads(review.stdout)["findings"]
    assert [f["rule"] for f in findings] == ["unrecorded-commits"] and "'backdoor'" in findings[0]["message"]


def test_a_retried_finish_merges_only_what_the_journal_accounts_for(repo):
    j = crafted(repo, "profile")
    j.append("decide", {"stop": True, "rule": "declared", "reason": "r", "exhausted": False, "phase": None,
                        "why": "w", "cumulative_speedup": None})
    j.append("finish", {"post_tag": "primes/post-optimization", "merged_into": "main", "final_speedup": None,
                        "ci": None, "full": None, "dominant_phase": None, "validation": None})
    (repo / "backdoor.py").write_text("print('pwned')\n")
    git(repo, "add", "backdoor.py")
    git(repo, "commit", "-qm", "backdoor")
    backdoor = _head(repo)
    main = git(repo, "rev-parse", "main")
    result = run(repo, "finish", "--json")
    error = _error(result)
    assert error["code"] == "git_moved" and error["commits"][0]["commit"] == backdoor, result.output
    assert git(repo, "rev-parse", "main") == main and not git(repo, "tag", "-l", "primes/post-optimization")


# -- item 2: LOG checks HEAD -----------------------------------------------------------------------------------


def test_log_after_a_failed_try_refuses_a_commit_of_the_broken_code(repo):
    crafted(repo, "plan")
    (repo / "primes.py").write_text(BROKEN)
    assert run(repo, "try", "--json").exit_code == 3
    git(repo, "commit", "-qam", "x")
    result = run(repo, "log", "--surprise", "x", "--json")
    assert _error(result)["code"] == "git_moved", result.output
    status = json.loads(run(repo, "status", "--json").output)
    assert status["step"] == "log"  # not "reverted": nothing was
    assert (repo / "primes.py").read_text() == BROKEN


def test_a_step_refuses_a_branch_switch(repo):
    crafted(repo, "profile")
    git(repo, "checkout", "-q", "main")
    result = run(repo, "think", "--hypothesis", "h", "--option", "a", "--option", "b", "--chosen", "c", "--predict", "2",
                 "--risk", "r", "--json")
    error = _error(result)
    assert error["code"] == "git_moved" and "git switch optimization/primes" in error["message"], result.output
    git(repo, "checkout", "-q", "optimization/primes")
    result = run(repo, "think", "--hypothesis", "h", "--option", "a", "--option", "b", "--chosen", "c", "--predict", "2",
                 "--risk", "r", "--json")
    assert result.exit_code == 0, result.output


def test_a_reset_behind_the_recorded_commit_is_refused_with_the_commit_to_go_back_to(repo):
    _at_log_with_benchmark(repo, "faster", 4.0)
    assert run(repo, "log", "--surprise", "None", "--why", "w", "--lesson", "l").exit_code == 0
    kept = _code_head(repo)  # HEAD is the record's own commit on top of it
    assert git(repo, "rev-parse", "HEAD~1") == kept
    git(repo, "reset", "-q", "--hard", f"{kept}~1")
    result = run(repo, "decide", "--json")
    error = _error(result)
    assert error["code"] == "git_moved" and error["dropped"][0]["commit"] == kept, result.output
    assert f"git reset --hard {kept[:10]}" in error["message"]
    git(repo, "reset", "-q", "--hard", kept)
    assert run(repo, "decide", "--json").exit_code == 0


def test_a_stash_of_the_attempt_between_try_and_log_is_refused(repo):
    j = _at_log_with_benchmark(repo, "faster", 4.0)
    (j.record_dir / ".gitignore").write_text(".lock\n.lock.holder\n*.tmp\n")  # as init writes it
    assert run(repo, "render").exit_code == 0  # a locked command: the journal gets its protected copy
    git(repo, "stash", "push", "-u", "-q")
    result = run(repo, "log", "--surprise", "None", "--why", "w", "--lesson", "l", "--json")
    error = _error(result)
    assert error["code"] == "git_moved" and "git stash pop" in error["message"], result.output
    assert "primes.py" in error["stash"]["files"]
    git(repo, "stash", "pop", "-q")
    result = run(repo, "log", "--surprise", "None", "--why", "w", "--lesson", "l", "--json")
    assert result.exit_code == 0 and json.loads(result.output)["kept"] is True, result.output


def test_a_stash_of_other_work_is_the_users_business(repo):
    crafted(repo, "profile")
    (repo / "notes.txt").write_text("mine\n")
    git(repo, "stash", "push", "-u", "-q", "--", "notes.txt")
    result = run(repo, "think", "--hypothesis", "h", "--option", "a", "--option", "b", "--chosen", "c", "--predict", "2",
                 "--risk", "r", "--json")
    assert result.exit_code == 0, result.output


# -- items 2 and 3: a workload that runs git during TEST -------------------------------------------------------


@pytest.fixture
def live(tmp_path):
    """A real campaign (baseline recorded) whose workload runs git when BEHIND_ACTION says so; PLAN done."""
    repo = make_repo(tmp_path / "live", run=f"{sys.executable} wl.py {{case}} {{repeat}}")
    (repo / "wl.py").write_text(WRAPPER)
    git(repo, "add", "wl.py")
    git(repo, "commit", "-qm", "wrapper")
    for args in (("init", "--target", "campaign.toml", "--max-iterations", "1"), ("profile",),
                 ("think", "--hypothesis", "h", "--option", "sieve", "--option", "cache", "--chosen", "sieve", "--predict", "3",
                  "--risk", "r"),
                 ("plan", "--phase", "count", "--change", "sieve")):
        result = campaign(repo, *args, "--json")
        assert result.returncode == 0, result.stdout + result.stderr
    (repo / "primes.py").write_text(SIEVE)
    return repo


@pytest.mark.parametrize("action, needle", [("commit", "made by the workload"), ("stash", "git stash pop")])
def test_a_workload_that_runs_git_during_test_is_refused_and_nothing_is_recorded(live, action, needle):
    recorded = _head(live)
    events = len(Journal(live / "optim" / "primes").events())
    result = campaign(live, "try", "--json", env=cli_env(BEHIND_ACTION=action, BEHIND_REPO=str(live)))
    assert result.returncode == 1, result.stdout + result.stderr
    error = json.loads(result.stdout)
    assert error["code"] == "git_moved" and needle in error["message"] and "TEST" in error["message"]
    if action == "stash":
        git(live, "stash", "pop", "-q")
    else:
        git(live, "reset", "-q", "--soft", recorded)
    types = [e["type"] for e in Journal(live / "optim" / "primes").events()[events:]]
    assert types == ["implement"]  # no test, no benchmark: the measured code was not the attempt
    assert (live / "primes.py").read_text() == SIEVE
    result = campaign(live, "try", "--json")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_patch_deleted_between_try_and_log_is_written_again_from_the_tested_tree(repo):
    j = _at_log_with_benchmark(repo, "slower", 0.5)
    patch = j.record_dir / "patches" / "iter-01.patch"
    recorded = patch.read_bytes()
    patch.unlink()
    result = run(repo, "log", "--surprise", "slower", "--why", "w", "--lesson", "l", "--json")
    assert result.exit_code == 0, result.output
    assert (j.record_dir / "patches" / "iter-01-reverted.patch").read_bytes() == recorded
