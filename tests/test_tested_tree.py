"""LOG reverts or commits exactly the tree that ``campaign try`` tested, and touches nothing else (issue 11, items 1-2).

Whatever changed after ``try`` (edits to other files, new untracked files,
further edits to the scope file) belongs to the user: LOG refuses, naming
those files, and changes nothing - neither the tree nor the journal.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from campaign.loop.journal import Journal
from loop_fixtures import SIEVE, campaign, git, make_repo
from test_cli_loop import assert_refused, crafted, run

BROKEN = "raise SystemExit('broken on purpose')\n"


@pytest.fixture
def repo(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "notes.txt").write_text("my notes\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-qm", "notes")
    return repo


def _failed_try(repo: Path) -> None:
    crafted(repo, "plan")
    (repo / "primes.py").write_text(BROKEN)
    result = run(repo, "try", "--json")
    assert result.exit_code == 3, result.output


def _edit_after_try(repo: Path) -> None:
    with (repo / "notes.txt").open("a") as fh:
        fh.write("important\n")
    (repo / "todo.txt").write_text("draft\n")
    with (repo / "primes.py").open("a") as fh:
        fh.write("# more\n")


def _types(repo: Path) -> list[str]:
    return [e["type"] for e in Journal(repo / "optim" / "primes").events()]


def test_log_after_a_failed_try_refuses_when_other_work_appeared_and_keeps_it(repo):
    _failed_try(repo)
    _edit_after_try(repo)
    before = _types(repo)
    message = assert_refused(run(repo, "log", "--surprise", "x"), 1, "notes.txt", "todo.txt", "primes.py")
    assert "campaign log" in message
    assert _types(repo) == before  # no log event: LOG can be run again once the tree is the tested one
    assert (repo / "notes.txt").read_text() == "my notes\nimportant\n"
    assert (repo / "todo.txt").read_text() == "draft\n"
    assert (repo / "primes.py").read_text() == BROKEN + "# more\n"

    # put the tested tree back (the user's extra work moved aside): LOG reverts exactly the attempt
    git(repo, "checkout", "notes.txt")
    (repo / "todo.txt").unlink()
    (repo / "primes.py").write_text(BROKEN)
    result = run(repo, "log", "--surprise", "x", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["revert"]["reason"] == "test-failed"
    assert git(repo, "status", "--porcelain", "--", ".", ":!optim") == ""


def test_log_after_a_failed_try_reverts_only_the_attempt_when_nothing_else_changed(repo):
    _failed_try(repo)
    result = run(repo, "log", "--surprise", "x", "--json")
    assert result.exit_code == 0, result.output
    assert (repo / "notes.txt").read_text() == "my notes\n"
    assert git(repo, "status", "--porcelain", "--", ".", ":!optim") == ""


def test_completing_an_interrupted_revert_refuses_edits_made_in_between(repo):
    _failed_try(repo)
    # what a kill -9 right after LOG's event leaves: the decision, no revert yet
    Journal(repo / "optim" / "primes").append(
        "log", {"surprise": "x", "notes": None, "postmortem": None, "kept": False, "keep_reason": None}, 1)
    _edit_after_try(repo)
    before = _types(repo)
    assert_refused(run(repo, "log"), 1, "notes.txt", "todo.txt", "primes.py")
    assert _types(repo) == before
    assert (repo / "notes.txt").read_text() == "my notes\nimportant\n" and (repo / "todo.txt").exists()
    git(repo, "checkout", "notes.txt")
    (repo / "todo.txt").unlink()
    (repo / "primes.py").write_text(BROKEN)
    result = run(repo, "log", "--json")
    assert result.exit_code == 0, result.output
    assert _types(repo)[-1] == "revert"
    assert git(repo, "status", "--porcelain", "--", ".", ":!optim") == ""


def test_completing_a_revert_interrupted_halfway_finishes_it(repo):
    """A revert killed after restoring some of the attempt's files is not mistaken for new work."""
    crafted(repo, "plan")
    (repo / "primes.py").write_text(BROKEN)
    (repo / "helper.py").write_text("x = 1\n")  # out of scope: TEST fails, both belong to the attempt
    assert run(repo, "try").exit_code == 3
    Journal(repo / "optim" / "primes").append(
        "log", {"surprise": "x", "notes": None, "postmortem": None, "kept": False, "keep_reason": None}, 1)
    (repo / "helper.py").unlink()  # the revert had removed this one when it was killed
    result = run(repo, "log", "--json")
    assert result.exit_code == 0, result.output
    assert git(repo, "status", "--porcelain", "--", ".", ":!optim") == ""


def test_completing_an_interrupted_commit_never_sweeps_in_later_edits(tmp_path):
    """A kept change whose commit was interrupted: the next command commits the tested tree or refuses."""
    repo = make_repo(tmp_path / "repo")
    (repo / "notes.txt").write_text("my notes\n")
    git(repo, "add", "notes.txt")
    git(repo, "commit", "-qm", "notes")

    def ok(*args):
        result = campaign(repo, *args)
        assert result.returncode == 0, result.stderr
        return result

    ok("init", "--target", "campaign.toml", "--goal-speedup", "50")
    ok("profile")
    ok("think", "--hypothesis", "trial division", "--option", "sieve", "--chosen", "sieve", "--predict", "3",
       "--risk", "memory")
    ok("plan", "--phase", "count", "--change", "sieve")
    (repo / "primes.py").write_text(SIEVE)
    tried = json.loads(ok("try", "--json").stdout)
    assert tried["test"]["passed"], tried
    Journal(repo / "optim" / "primes").append(  # a LOG killed after its event, before its commit
        "log", {"surprise": "None", "notes": None, "postmortem": None, "kept": True, "keep_reason": "kept"}, 1)
    head = git(repo, "rev-parse", "HEAD")
    (repo / "notes.txt").write_text("my notes\nimportant\n")
    result = campaign(repo, "log")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "notes.txt" in result.stderr
    assert git(repo, "rev-parse", "HEAD") == head  # nothing committed
    assert (repo / "notes.txt").read_text() == "my notes\nimportant\n"
    git(repo, "stash", "push", "-q", "--", "notes.txt")
    ok("log")
    assert "notes.txt" not in git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert (repo / "primes.py").read_text() == SIEVE
    git(repo, "stash", "pop", "-q")
    assert (repo / "notes.txt").read_text() == "my notes\nimportant\n"
