"""A clean tree after every step that commits (issue 21, item 9).

Right after ``init``, a kept ``log`` and a reverted one, ``git status`` shows
nothing: the ``commit`` event cannot be in the commit it names, so the record
gets a commit of its own on top (campaign/loop/record_commits.py). Those
commits hold no code: the journal still names the code commits, the git guard
accepts them and still refuses a commit made behind the campaign's back (one
that copies their subject too), FINISH counts them as the campaign's, and a
kill between the two commits is completed by the next command.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from campaign import vcs
from campaign.loop import git_guard
from campaign.loop.framework_files import measurement_excludes
from campaign.loop.journal import Journal
from campaign.loop.machine import derive
from campaign.loop.record_commits import code_head
from campaign.measure.worktrees import content_key
from loop_fixtures import PRIMES, campaign, cli_env, git, make_repo
from test_cli_loop import _at_log_with_benchmark, run

RECORD = "optim/primes"
LOG = ("log", "--surprise", "None", "--why", "w", "--lesson", "l")
BROKEN = "raise SystemExit('broken on purpose')\n"


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def _state(repo: Path):
    return derive(Journal(repo / RECORD).events())


def _subject(repo: Path, rev: str = "HEAD") -> str:
    return git(repo, "log", "-1", "--format=%s", rev)


def _assert_record_committed(repo: Path, code_commit: str, since: int = 0) -> None:
    """HEAD is the record's commit right on top of ``code_commit``, holding the journal up to its commit or revert
    event; the tree is clean but for the ``since`` events recorded after it (by a later command)."""
    assert git(repo, "status", "--porcelain", "--untracked-files=all", "--", ".", f":!{RECORD}") == ""
    if not since:
        assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert _subject(repo).startswith("campaign primes: the record of ")
    assert git(repo, "rev-parse", "HEAD~1") == code_commit
    assert git(repo, "diff", "--name-only", code_commit, "HEAD", "--", ".", f":!{RECORD}") == ""  # no code in it
    committed = git(repo, "show", f"HEAD:{RECORD}/journal.jsonl").splitlines()
    assert committed == (repo / RECORD / "journal.jsonl").read_text().splitlines()[:len(committed)]
    assert len((repo / RECORD / "journal.jsonl").read_text().splitlines()) == len(committed) + since
    assert json.loads(committed[-1])["type"] in ("commit", "revert")
    assert code_head(vcs.open_repo(repo), "primes", RECORD) == code_commit


def test_init_leaves_a_clean_tree_and_the_record_commit_is_not_a_second_variant(repo):
    result = campaign(repo, "init", "--target", "campaign.toml", "--json")
    assert result.returncode == 0, result.stderr
    state = _state(repo)
    _assert_record_committed(repo, state.start_commit)
    assert _subject(repo, state.start_commit) == "campaign primes: start (baseline recorded)"
    exclude = measurement_excludes(RECORD)  # what BENCHMARK keys its variants by
    assert content_key(repo, "HEAD", exclude) == content_key(repo, state.init["base_commit"], exclude)
    status = campaign(repo, "status", "--json")
    assert status.returncode == 0 and git(repo, "status", "--porcelain") == ""  # reading changes nothing


def test_a_kept_log_leaves_a_clean_tree_and_the_journal_names_the_code_commit(repo):
    _at_log_with_benchmark(repo, "faster", 4.0)
    result = run(repo, *LOG, "--json")
    assert result.exit_code == 0, result.output
    kept = json.loads(result.output)["commit"]
    assert kept == _state(repo).last_kept_commit
    _assert_record_committed(repo, kept)
    assert _subject(repo) == "campaign primes: the record of iter 1 (kept)"
    assert "# faster, maybe" in git(repo, "show", f"{kept}:primes.py")
    assert git_guard.unrecorded_commits(vcs.open_repo(repo), _state(repo), RECORD) == []  # FINISH merges them
    assert run(repo, "decide", "--json").exit_code == 0  # the guard takes HEAD on the record's commit


def test_a_revert_leaves_a_clean_tree_and_the_next_try_runs_on_it(repo):
    _at_log_with_benchmark(repo, "slower", 0.5)
    recorded = _state(repo).last_kept_commit
    result = run(repo, *LOG, "--json")
    assert result.exit_code == 0 and json.loads(result.output)["revert"]["reason"] == "slower", result.output
    _assert_record_committed(repo, recorded)
    assert _subject(repo) == "campaign primes: the record of iter 1 (reverted)"
    assert (repo / "primes.py").read_text() == PRIMES
    for step in (["decide"], ["profile"],
                 ["think", "--hypothesis", "h", "--option", "a", "--option", "b", "--chosen", "a", "--predict", "2",
                  "--risk", "r"], ["plan", "--phase", "count", "--change", "x"]):
        assert run(repo, *step, "--json").exit_code == 0, step
    (repo / "primes.py").write_text(BROKEN)
    tried = run(repo, "try", "--json")  # HEAD is the record's commit: not "a commit made by hand"
    assert tried.exit_code == 3 and "HEAD" not in tried.output, tried.output  # 3: its TEST failed, as it should
    assert _state(repo).current.test.passed is False


def test_a_commit_on_top_of_the_record_commit_is_refused_and_the_reset_keeps_the_record_commit(repo):
    _at_log_with_benchmark(repo, "faster", 4.0)
    assert run(repo, *LOG).exit_code == 0
    ours = git(repo, "rev-parse", "HEAD")
    (repo / "primes.py").write_text(PRIMES + "\n# by hand\n")
    git(repo, "commit", "-qam", "by hand")
    result = run(repo, "decide", "--json")
    error = json.loads([line for line in result.output.splitlines() if line.startswith("{")][-1])
    assert result.exit_code == 1 and error["code"] == "git_moved", result.output
    assert [c["subject"] for c in error["commits"]] == ["by hand"]  # the record's commit is not listed
    assert f"git reset --soft {ours[:10]}" in error["message"]
    git(repo, "reset", "-q", "--hard", ours)
    assert run(repo, "decide", "--json").exit_code == 0


def test_a_code_commit_with_the_record_subject_is_still_behind_the_campaigns_back(repo):
    _at_log_with_benchmark(repo, "faster", 4.0)
    assert run(repo, *LOG).exit_code == 0
    (repo / "backdoor.py").write_text("print('pwned')\n")
    git(repo, "add", "backdoor.py", RECORD)
    git(repo, "commit", "-qm", "campaign primes: the record of iter 1 (kept)")
    forged = git(repo, "rev-parse", "HEAD")
    result = run(repo, "decide", "--json")
    assert result.exit_code == 1 and "git_moved" in result.output and forged[:10] in result.output, result.output
    unrecorded = git_guard.unrecorded_commits(vcs.open_repo(repo), _state(repo), RECORD)
    assert [c["commit"] for c in unrecorded] == [forged]  # FINISH would refuse to merge it


def _killed_at(repo: Path, point: str, *args: str) -> None:
    """Run ``campaign *args``, SIGKILL it at the journal's ``point`` (campaign/loop/killpoint.py)."""
    marker = repo.parent / "killed.pid"
    env = cli_env(CAMPAIGN_TEST_KILL_AT=point, CAMPAIGN_TEST_KILL_MARKER=str(marker))
    proc = subprocess.Popen([sys.executable, "-m", "campaign", *args], cwd=repo, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 180
        while not marker.exists():
            assert proc.poll() is None, f"ended before {point}: {proc.stderr.read()}"
            assert time.monotonic() < deadline, f"never reached {point}"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("point", ["commit:before", "commit:after", "revert:before", "revert:after"])
def test_a_kill_between_the_commit_and_the_record_commit_is_completed_by_the_next_command(repo, point):
    kept = point.startswith("commit")
    _at_log_with_benchmark(repo, "faster" if kept else "slower", 4.0 if kept else 0.5)
    base = _state(repo).last_kept_commit
    assert run(repo, "render").exit_code == 0  # a locked command first: the journal gets its protected copy
    _killed_at(repo, point, *LOG)
    if point == "commit:before":  # the code commit holds the record up to the event that names it, not yet written
        assert git(repo, "status", "--porcelain") == "" and _subject(repo).startswith("campaign primes iter 1:")
    else:
        assert git(repo, "status", "--porcelain", "--", RECORD) != ""  # killed before the record's commit
    result = campaign(repo, "decide", "--json")  # the next command completes the step, then commits the record
    assert result.returncode == 0, result.stderr
    state = _state(repo)
    it = state.iterations[0]
    assert it.kept == kept and (it.commit if kept else it.revert)
    _assert_record_committed(repo, state.last_kept_commit, since=1)  # decide's own event: recorded after it
    assert (state.last_kept_commit != base) == kept
    assert [e["type"] for e in Journal(repo / RECORD).events()].count("commit" if kept else "revert") == (
        2 if kept else 1)  # the crafted start's commit event and this one: nothing recorded twice


def test_a_kill_of_init_before_its_record_commit_is_completed_by_the_next_command(repo):
    _killed_at(repo, "commit:after", "init", "--target", "campaign.toml")
    start = _state(repo).start_commit
    assert start and git(repo, "rev-parse", "HEAD") == start
    assert git(repo, "status", "--porcelain") != ""
    result = campaign(repo, "profile", "--json")
    assert result.returncode == 0, result.stderr
    assert git(repo, "rev-parse", "HEAD~1") == start and _subject(repo) == "campaign primes: the record of the start"
    assert git(repo, "status", "--porcelain", "--", ".", f":!{RECORD}") == ""  # profile's own event: recorded since


def test_code_head_looks_through_a_run_of_record_commits_and_stops_at_one_that_touches_code(repo):
    """Two reverts in a row leave two record commits on the last kept one; a forged one that touches code ends
    the run (campaign/loop/record_commits.py)."""
    from campaign.loop.record_commits import record_tip

    kept = git(repo, "rev-parse", "HEAD")
    ours = []
    for n in (1, 2):
        (repo / RECORD).mkdir(parents=True, exist_ok=True)
        (repo / RECORD / "journal.jsonl").write_text(f"{n}\n")
        git(repo, "add", RECORD)
        git(repo, "commit", "-qm", f"campaign primes: the record of iter {n} (reverted)")
        ours.append(git(repo, "rev-parse", "HEAD"))
    r = vcs.open_repo(repo)
    assert code_head(r, "primes", RECORD) == kept and record_tip(r, "primes", RECORD, kept, ours[-1]) == ours[-1]
    assert code_head(r, "other", RECORD) == ours[-1]  # another campaign's name: not this one's record
    (repo / "primes.py").write_text(PRIMES + "# sneaked\n")
    (repo / RECORD / "journal.jsonl").write_text("3\n")
    git(repo, "commit", "-qam", "campaign primes: the record of iter 3 (reverted)")
    forged = git(repo, "rev-parse", "HEAD")
    assert code_head(r, "primes", RECORD) == forged
    assert record_tip(r, "primes", RECORD, kept, forged) == ours[-1]
