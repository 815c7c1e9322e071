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

from campaign.agents.protocol import CommandAgent
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
