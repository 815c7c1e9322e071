"""Hostile or foreseeable input becomes a clear user error, never a traceback (issue 23, items 8-12).

Targets only from inside the repository; names git rejects refused up
front; every ``[measure]`` setting checked at init with its line; a full
disk, a read-only record, a bare repository, deep nesting, bad
``hot_functions``, absurd numbers in a journal, NUL bytes and huge strings
in MCP arguments, NaN tolerances, tolerances for outputs that do not exist
and undeclared phases: each its own error and exit code; ``--agent command``
children run under the framework's interpreter whatever ``python`` is on PATH.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest

from campaign.agents.command_agent import CommandAgent
from loop_fixtures import TOML, campaign, git, make_repo
from test_cli_loop import assert_refused, crafted, run


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def _error(result) -> dict:
    return json.loads(result.stdout)


def _untouched(repo: Path) -> tuple:
    return (git(repo, "status", "--porcelain"), git(repo, "show-ref"), git(repo, "branch", "--show-current"))


# -- item 12: the command agent's `python` is the framework's ------------------------------------------------


def test_a_command_agent_gets_the_frameworks_python_whatever_is_first_on_path(tmp_path, monkeypatch):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python").write_text("#!/bin/sh\nexit 97\n")
    (fake / "python").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    agent = CommandAgent("python -c 'import sys; print(sys.executable)'", tmp_path, timeout_s=60)
    text, details = agent.answer({"step": "think"})
    assert details["returncode"] == 0 and Path(text).resolve() == Path(sys.executable).resolve()


# -- item 9: names git rejects -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a..b", "y.", "x.lock"])
def test_a_name_git_rejects_is_refused_before_anything_is_written(repo, name):
    before = _untouched(repo)
    assert_refused(run(repo, "init", "--target", "campaign.toml", "--name", name), 1, repr(name), "check-ref-format")
    assert _untouched(repo) == before and not (repo / "optim").exists()


# -- item 8: targets from inside the repository only ------------------------------------------------------------


def test_init_refuses_a_campaign_toml_outside_the_repository_and_runs_nothing(tmp_path, repo):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    marker = tmp_path / "ran"
    (outside / "campaign.toml").write_text(TOML.format(python=sys.executable, timeout=60).replace(
        f'run = "{sys.executable} bench.py {{case}} {{repeat}}"', f'run = "touch {marker}"'))
    before = _untouched(repo)
    for spec in (str(outside / "campaign.toml"), "../elsewhere/campaign.toml"):
        assert_refused(run(repo, "init", "--target", spec), 1, "outside the repository", "campaign.toml")
    assert not marker.exists() and _untouched(repo) == before


def test_an_absolute_target_path_inside_the_repository_is_recorded_relative(repo):
    result = campaign(repo, "init", "--target", str(repo / "campaign.toml"), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    events = [json.loads(line) for line in (repo / "optim" / "primes" / "journal.jsonl").read_text().splitlines()]
    assert events[0]["data"]["target_spec"] == "campaign.toml"


# -- item 10: [measure] checked at init, with the line --------------------------------------------------------


@pytest.mark.parametrize("setting", ['budget_s = "x"', "alpha = nan", "min_blocks = 0"])
def test_a_bad_measure_setting_is_refused_at_init_with_its_line(repo, setting):
    toml = (repo / "campaign.toml").read_text()
    (repo / "campaign.toml").write_text(toml + f"\n[measure]\nmax_blocks = 5\n{setting}\n")
    line = len((repo / "campaign.toml").read_text().splitlines())
    git(repo, "commit", "-qam", "settings")
    before = _untouched(repo)
    assert_refused(run(repo, "init", "--target", "campaign.toml"), 1, f"campaign.toml [measure], line {line}",
                   setting.split(" ")[0])
    assert _untouched(repo) == before and not (repo / "optim").exists()


# -- item 11: foreseeable conditions are user errors with their own exit codes ---------------------------------


def test_a_full_disk_at_a_step_is_an_io_error_not_a_bug(repo, monkeypatch):
    import errno

    crafted(repo, "profile")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(repo / "optim" / "primes" / "journal.jsonl"))

    monkeypatch.setattr("campaign.loop.journal.os.fsync", full)
    result = run(repo, "think", "--hypothesis", "h", "--option", "a", "--option", "b", "--chosen", "c",
                 "--predict", "2", "--risk", "r", "--json")
    assert result.exit_code == 74, result.output
    error = _error(result)
    assert error["code"] == "io_error" and "disk is full" in error["message"] and "journal.jsonl" in error["message"]


def test_a_read_only_record_is_an_io_error():
    import errno

    from campaign.errors import as_user_error

    error = as_user_error(OSError(errno.EROFS, "Read-only file system", "/r/optim/x/journal.jsonl"))
    assert error.code == "io_error" and error.exit_code == 74 and "read-only" in error.message


def test_a_bare_repository_is_refused_in_one_line(tmp_path):
    git(tmp_path, "init", "-q", "--bare", "bare.git")
    assert_refused(run(tmp_path / "bare.git", "init", "--target", "campaign.toml"), 1, "bare git repository",
                   "git clone")


def _edit_target(repo: Path, toml_edit) -> None:
    (repo / "campaign.toml").write_text(toml_edit((repo / "campaign.toml").read_text()))
    git(repo, "commit", "-qam", "edited target")


@pytest.mark.parametrize("edit, needle", [
    (lambda t: t + "\n[knobs]\nx = " + "[" * 5000 + "]" * 5000 + "\n", "nested too deeply"),
    (lambda t: t.replace('phases = ["setup", "count"]', 'phases = ["setup", "count"]\nhot_functions = ["x:y", 5]'),
     "hot_functions"),
    (lambda t: t.replace('count = "exact"', 'count = {kind = "tight", rel = nan}'), "finite"),
    (lambda t: t.replace('count = "exact"', 'count = "exact"\ncuont = "exact"'), "cuont"),
    (lambda t: t.replace('phases = ["setup", "count"]', 'phases = ["setup"]'), "count"),
])
def test_a_target_declaration_its_workload_contradicts_is_refused_at_init(repo, edit, needle):
    _edit_target(repo, edit)
    before = (git(repo, "show-ref"), git(repo, "branch", "--show-current"))
    assert_refused(run(repo, "init", "--target", "campaign.toml"), 1, needle)
    assert (git(repo, "show-ref"), git(repo, "branch", "--show-current")) == before


def test_a_huge_speedup_in_a_journal_does_not_crash_the_report(tmp_path):
    from click.testing import CliRunner

    from campaign.cli import cli
    from records import clean_record

    b = clean_record()
    for e in b.events:
        if e["type"] == "benchmark":
            e["data"].update(speedup=1e308, cumulative_speedup=1e308, ci=[1e308, 1e308])
    record = b.write(tmp_path / "rec")
    result = CliRunner().invoke(cli, ["report", str(record), "--html", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("bad", [float("nan"), -2.0, "inverted"])
def test_a_journal_with_a_nan_or_inverted_speedup_is_refused_not_believed(repo, bad):
    from campaign.loop.journal import Journal
    from test_cli_loop import _at_log_with_benchmark

    _at_log_with_benchmark(repo, "faster", 4.0)
    path = repo / "optim" / "primes" / "journal.jsonl"
    lines = path.read_text().splitlines()
    event = json.loads(lines[-1])
    if bad == "inverted":
        event["data"]["ci"] = [4.5, 3.5]
    else:
        event["data"]["speedup"] = bad
    lines[-1] = json.dumps(event)
    path.write_text("\n".join(lines) + "\n")
    result = run(repo, "status", "--json")
    assert result.exit_code == 1 and _error(result)["code"] == "journal_error", result.output


def test_mcp_free_text_with_a_nul_byte_or_10_mb_is_refused_and_nothing_is_written(repo):
    from campaign.agents.mcp_server import LoopTools

    crafted(repo, "profile")
    journal = (repo / "optim" / "primes" / "journal.jsonl").read_bytes()
    tools = LoopTools(repo)
    nul = tools.profile(["primes:count\0"])
    assert nul["code"] == "rule_refused" and "NUL" in nul["message"]
    huge = tools.think("x" * 10_000_000, ["a", "b"], "c", 2, "r")
    assert huge["code"] == "rule_refused" and "`hypothesis`" in huge["message"] and len(huge["message"]) < 1000
    assert (repo / "optim" / "primes" / "journal.jsonl").read_bytes() == journal


def test_deeply_nested_workload_json_is_a_workload_error():
    from campaign.measure.workload import WorkloadError, parse_workload_output

    with pytest.raises(WorkloadError, match="nested too deeply"):
        parse_workload_output("[" * 100_000 + "]" * 100_000)
