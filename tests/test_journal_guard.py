"""The journal is protected from the code under optimization and from agents (issue 11, item 3).

A copy outside the work tree (``.git/campaign/<name>/journal.jsonl``) is
appended in step with the real one; after every agent step the runner checks
the journal and restores it from the copy (and says so); a journal whose
first event is not ``init`` is refused with one clear line, and neither
``init --resume`` nor ``run --resume`` tracebacks.
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from campaign.loop.journal import Journal
from loop_fixtures import campaign, finished_record, git, make_repo
from run_fixtures import FAST, cli, journal, make_sum_repo, ok, run_env, write_target_module
from test_cli_loop import crafted


def _mirror(repo: Path, name: str) -> Path:
    return repo / ".git" / "campaign" / name / "journal.jsonl"


def test_every_command_keeps_a_copy_of_the_journal_outside_the_work_tree(tmp_path):
    repo = make_repo(tmp_path / "repo")
    crafted(repo, "profile")
    result = campaign(repo, "think", "--hypothesis", "h", "--option", "a", "--chosen", "c", "--predict", "2",
                      "--risk", "r")
    assert result.returncode == 0, result.stderr
    real = repo / "optim" / "primes" / "journal.jsonl"
    assert _mirror(repo, "primes").read_bytes() == real.read_bytes()


def test_a_deleted_journal_is_restored_from_the_copy_by_the_next_command(tmp_path):
    repo = make_repo(tmp_path / "repo")
    crafted(repo, "profile")
    assert campaign(repo, "render").returncode == 0  # any command that takes the lock writes the copy
    real = repo / "optim" / "primes" / "journal.jsonl"
    kept = real.read_bytes()
    real.unlink()
    status = campaign(repo, "status", "--json")
    assert status.returncode == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["step"] == "think" and any("restore" in w for w in data["warnings"])
    result = campaign(repo, "think", "--hypothesis", "h", "--option", "a", "--chosen", "c", "--predict", "2",
                      "--risk", "r")
    assert result.returncode == 0, result.stderr
    assert "restored" in result.stderr
    events = [json.loads(line) for line in real.read_text().splitlines()]
    assert [e["type"] for e in events][:4] == ["init", "baseline", "commit", "profile"]
    assert real.read_bytes().startswith(kept) and events[-1]["type"] == "think"


@pytest.mark.parametrize("command", [("status",), ("init", "--resume"), ("profile",),
                                     ("run", "--resume", "--agent", "command", "--agent-cmd", "true")])
def test_a_journal_not_starting_with_init_is_refused_clearly(tmp_path, command):
    repo = make_repo(tmp_path / "repo")
    j = Journal(repo / "optim" / "primes")
    j.append("agent", {"step": "implement", "request": None, "answer": None, "attempts": 1, "error": None,
                       "stderr": None}, 1)
    result = campaign(repo, *command)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "init" in errors[0] and "line 1" in errors[0], result.stderr


SABOTEUR = textwrap.dedent(
    """
    import json, shutil, sys
    from pathlib import Path

    FAST = {fast!r}
    MODE = {mode!r}
    MARKER = {marker!r}
    req = json.load(sys.stdin)
    step = req["step"]
    if step == "think":
        print(json.dumps({{
            "action": "optimize", "title": "closed form", "hypothesis": "periodic", "options": ["closed form"],
            "chosen": "closed form", "predicted_speedup": 20, "risk": "off by one", "phase": "reduce",
            "change": "sum one period", "override_amdahl": None}}))
    elif step == "implement":
        Path("work.py").write_text(FAST)
        if MODE == "delete-journal":
            Path("optim/sum/journal.jsonl").unlink()
        elif MODE == "delete-optim":
            shutil.rmtree("optim")
        elif MODE == "stash-switch" and not Path(MARKER).exists():
            import subprocess
            Path(MARKER).write_text("done")
            subprocess.run(["git", "stash", "push", "-u", "-q"], check=True)
            subprocess.run(["git", "checkout", "-q", "main"], check=True)
        print(json.dumps({{"summary": "closed form", "files": ["work.py"]}}))
    else:
        print(json.dumps({{"surprise": "None", "postmortem": {{"why": "w", "lesson": "l"}}}}))
    """
).lstrip()


@pytest.mark.parametrize("mode", ["delete-journal", "delete-optim"])
def test_an_agent_that_destroys_the_journal_does_not_destroy_the_campaign(tmp_path, mode):
    lib = write_target_module(tmp_path / "lib")
    repo = make_sum_repo(tmp_path / "repo")
    env = run_env(lib)
    agent = tmp_path / "saboteur.py"
    agent.write_text(SABOTEUR.format(fast=FAST, mode=mode, marker=str(tmp_path / "sabotaged")))
    result = cli(repo, env, "run", "--target", "sumtarget:SumTarget", "--agent", "command",
                 "--agent-cmd", f"{sys.executable} {agent}", "--goal-speedup", "1000", "--max-iterations", "1")
    assert "Traceback" not in result.stderr, result.stderr
    assert "restored" in result.stderr, result.stderr
    events = journal(finished_record(repo, "sum"))  # finished: the record stays in git
    types = [e["type"] for e in events]
    assert [t for t in types if t != "run"][:3] == ["init", "baseline", "commit"] and "think" in types and "plan" in types
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    status = ok(cli(repo, env, "status", "--json"))
    assert status["iterations"][0]["phase"] == "reduce"
    assert result.returncode == 0 and status["finished"], result.stderr


@pytest.mark.parametrize("content", ["", '{"schema": 1, "se'])
@pytest.mark.parametrize("command", [("status",), ("init", "--resume"),
                                     ("run", "--resume", "--agent", "command", "--agent-cmd", "true")])
def test_a_journal_without_a_whole_event_is_refused_clearly_and_init_starts_over(tmp_path, content, command):
    repo = make_repo(tmp_path / "repo")
    record = repo / "optim" / "primes"
    record.mkdir(parents=True)
    (record / "journal.jsonl").write_text(content)  # an init killed while writing its first event
    result = campaign(repo, *command)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "no whole event" in result.stderr and "campaign init --target" in result.stderr
    if command == ("status",):
        started = campaign(repo, "init", "--target", "campaign.toml")
        assert started.returncode == 0, started.stderr
        assert [e["type"] for e in Journal(record).events()][0] == "init"


def test_compare_copy_tells_each_relation_apart():
    from campaign.loop.journal import compare_copy

    a, b, c = b'{"seq": 1}\n', b'{"seq": 2}\n', b'{"seq": 3}\n'
    assert compare_copy(a + b, None).state == "new"
    assert compare_copy(a + b, a + b).state == "ok"
    assert compare_copy(a + b + b'{"se', a + b).state == "ok"  # a torn tail is not an event
    assert compare_copy(a + b, a).state == "behind"  # killed between the two writes
    assert compare_copy(a + b + c, a).state == "diverged"  # events appended behind the framework's back
    assert compare_copy(None, a + b).state == "restorable" and compare_copy(a, a + b).state == "restorable"
    check = compare_copy(a + c, a + b)
    assert check.state == "diverged" and check.line == 2


def test_an_agent_that_stashes_and_switches_branch_stops_the_run_clearly_then_resume_continues(tmp_path):
    lib = write_target_module(tmp_path / "lib")
    repo = make_sum_repo(tmp_path / "repo")
    env = run_env(lib)
    agent = tmp_path / "saboteur.py"
    agent.write_text(SABOTEUR.format(fast=FAST, mode="stash-switch", marker=str(tmp_path / "sabotaged")))
    args = ("--agent", "command", "--agent-cmd", f"{sys.executable} {agent}")
    result = cli(repo, env, "run", "--target", "sumtarget:SumTarget", *args, "--goal-speedup", "1000",
                 "--max-iterations", "1")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "git switch optimization/sum" in result.stderr and "stash pop" in result.stderr
    assert not (repo / "optim" / "sum" / "journal.jsonl").exists()  # no fresh journal on main (only the lock file)
    git(repo, "checkout", "-q", "optimization/sum")
    git(repo, "stash", "pop", "-q")
    resumed = cli(repo, env, "run", "--resume", *args)
    assert resumed.returncode == 0, resumed.stderr
    events = journal(finished_record(repo, "sum"))
    assert [e["type"] for e in events if e["type"] != "run"][:3] == ["init", "baseline", "commit"]
    assert ok(cli(repo, env, "status", "--json"))["finished"]
