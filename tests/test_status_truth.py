"""``campaign status`` never claims what did not happen (issue 11, items 5-6).

FINISHED only when the post-optimization tag and the merge exist; otherwise
it names ``campaign finish`` (and ``run --resume`` does not exit 0). A
running command (its lock holder's pid is alive) is reported as running, not
as a crash; a dead holder is not reported as "may be running".
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from campaign.loop.journal import Journal
from loop_fixtures import campaign, git, make_repo
from test_cli_loop import crafted


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def _status(repo: Path) -> dict:
    result = campaign(repo, "status", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _finish_recorded(repo: Path) -> Journal:
    """A campaign whose ``finish`` event is written but whose tag and merge are not (a kill right after it)."""
    j = crafted(repo, "profile")
    (j.record_dir / ".gitignore").write_text(".lock\n.lock.holder\n*.tmp\n")  # as init writes it
    j.append("decide", {"stop": True, "rule": "exhausted", "reason": "nothing left", "exhausted": True,
                        "phase": "count", "why": "w", "cumulative_speedup": None}, None)
    j.append("finish", {"post_tag": "primes/post-optimization", "merged_into": "main", "final_speedup": None,
                        "ci": None, "full": None, "dominant_phase": "count"})
    return j


def test_an_interrupted_finish_is_not_reported_finished(repo):
    _finish_recorded(repo)
    status = _status(repo)
    assert status["finished"] is False and status["step"] == "finish", status
    assert status["next"]["command"].startswith("campaign finish")
    text = campaign(repo, "status").stdout
    assert "FINISHED" not in text and "campaign finish" in text
    done = campaign(repo, "finish")
    assert done.returncode == 0, done.stderr
    status = _status(repo)
    assert status["finished"] is True and status["step"] == "done"
    git(repo, "merge-base", "--is-ancestor", "primes/post-optimization", "main")


def test_finish_blocked_by_main_checked_out_elsewhere_fails_clearly_and_run_resume_does_not_exit_0(repo, tmp_path):
    _finish_recorded(repo)
    git(repo, "worktree", "add", "-q", str(tmp_path / "elsewhere"), "main")
    result = campaign(repo, "finish")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "main" in result.stderr
    assert _status(repo)["finished"] is False
    resumed = campaign(repo, "run", "--resume", "--agent", "command", "--agent-cmd", "true")
    assert resumed.returncode != 0 and "Traceback" not in resumed.stderr, resumed.stdout + resumed.stderr
    assert _status(repo)["step"] == "finish"
    git(repo, "worktree", "remove", str(tmp_path / "elsewhere"))
    assert campaign(repo, "finish").returncode == 0
    assert _status(repo)["finished"] is True


def test_finish_refuses_to_carry_uncommitted_scope_work_onto_main(repo):
    _finish_recorded(repo)
    (repo / "primes.py").write_text((repo / "primes.py").read_text() + "# my unfinished idea\n")
    result = campaign(repo, "finish")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "primes.py" in result.stderr
    assert git(repo, "rev-parse", "--abbrev-ref", "HEAD") == "optimization/primes"
    assert (repo / "primes.py").read_text().endswith("# my unfinished idea\n")
    assert _status(repo)["finished"] is False


HOLDER = textwrap.dedent(
    """
    import sys, time
    from campaign.loop.journal import CampaignLock
    lock = CampaignLock(sys.argv[1], argv=["campaign", "try"])
    lock.acquire()
    print("locked", flush=True)
    time.sleep(60)
    """
)


def LOCK_DIR(repo: Path) -> Path:  # noqa: N802 - the campaign lock lives in the git folder, not in the tree
    folder = repo / ".git" / "campaign" / "primes"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _at_try_interrupted(repo: Path) -> Journal:
    j = crafted(repo, "plan")
    j.append("implement", {"files": ["primes.py"], "patch": "patches/iter-01.patch", "patch_sha256": "0",
                           "out_of_scope": [], "agent": "cli"}, 1)
    return j


def test_status_during_a_running_try_says_it_is_running(repo):
    _at_try_interrupted(repo)
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(LOCK_DIR(repo))], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        status = _status(repo)
        assert status["running"]["pid"] == proc.pid
        assert status["recovery"] is None, status["recovery"]
        text = campaign(repo, "status").stdout
        assert "after a crash" not in text
        assert "running" in text and str(proc.pid) in text
    finally:
        proc.kill()
        proc.wait()


def test_status_after_a_crash_does_not_say_a_command_may_be_running(repo):
    _at_try_interrupted(repo)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (LOCK_DIR(repo) / ".lock.holder").write_text(json.dumps({"pid": dead.pid, "argv": ["campaign", "try"],
                                                           "since": "2026-01-01T00:00:00+00:00"}))
    status = _status(repo)
    assert status["running"] is None
    assert not any("running" in w for w in status["warnings"]), status["warnings"]
    assert "campaign try" in status["recovery"]
    text = campaign(repo, "status").stdout
    assert "may be running" not in text and "after a crash" in text


def test_status_ignores_a_holder_whose_pid_was_reused_by_another_process(repo):
    _at_try_interrupted(repo)
    # our own pid is alive but started long after the recorded lock time: not the holder
    (LOCK_DIR(repo) / ".lock.holder").write_text(json.dumps({"pid": os.getpid(), "argv": ["campaign", "try"],
                                                           "since": "2000-01-01T00:00:00+00:00"}))
    assert _status(repo)["running"] is None


def test_finish_killed_between_checking_out_main_and_merging_is_completed(repo):
    """The record lives on the campaign branch until the merge: on main the journal is absent, not lost."""
    _finish_recorded(repo)
    git(repo, "worktree", "add", "-q", str(repo.parent / "elsewhere"), "main")  # the merge fails...
    assert campaign(repo, "finish").returncode == 1  # ...after the record commit and the tag
    git(repo, "worktree", "remove", str(repo.parent / "elsewhere"))
    git(repo, "checkout", "-q", "main")  # where a kill between `git checkout main` and `git merge` leaves HEAD
    assert not (repo / "optim" / "primes" / "journal.jsonl").exists()
    status = _status(repo)
    assert status["step"] == "finish" and status["finished"] is False, status
    done = campaign(repo, "finish")
    assert done.returncode == 0, done.stderr
    status = _status(repo)
    assert status["finished"] is True and status["step"] == "done"
    assert git(repo, "status", "--porcelain") == ""
