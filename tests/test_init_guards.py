"""``campaign init`` validates everything before it writes anything (issue 11, items 7, 12, 13)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from campaign.loop.journal import Journal
from loop_fixtures import campaign, cli_env, git, make_repo


def _nothing_written(repo: Path) -> None:
    assert not (repo / "optim").exists()
    assert git(repo, "tag") == ""
    assert git(repo, "branch", "--format=%(refname:short)").split() == ["main"]
    assert git(repo, "status", "--porcelain") == ""


def _one_error(result: subprocess.CompletedProcess, *needles: str) -> str:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


# -- 7: two inits at once ---------------------------------------------------------------------

STARTER = """
import os, sys, time
barrier = sys.argv[1]
while not os.path.exists(barrier):
    time.sleep(0.005)
sys.argv = ["campaign", "init", "--target", "campaign.toml"]
from campaign.cli import main
main()
"""


def test_two_inits_at_once_exactly_one_succeeds(tmp_path):
    repo = make_repo(tmp_path / "repo")
    barrier = tmp_path / "go"
    procs = [subprocess.Popen([sys.executable, "-c", STARTER, str(barrier)], cwd=repo, env=cli_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    time.sleep(0.5)  # both are waiting at the barrier (not required for correctness: only for the race)
    barrier.write_text("go")
    results = [(p.wait(timeout=300), p.stdout.read(), p.stderr.read()) for p in procs]
    codes = sorted(code for code, _, _ in results)
    assert codes[0] == 0 and codes[1] == 1, results
    assert all("Traceback" not in err for _, _, err in results), results
    types = [e["type"] for e in Journal(repo / "optim" / "primes").events()]
    assert types.count("init") == 1 and types[0] == "init", types
    assert json.loads(campaign(repo, "status", "--json").stdout)["step"] == "profile"


# -- 12: scope globs and empty outputs ----------------------------------------------------------


@pytest.mark.parametrize("glob, needle", [("../x", "outside"), ("/etc/passwd", "outside"),
                                          ("nothing/*.py", "matches no file")])
def test_bad_scope_globs_are_refused_before_anything_is_written(tmp_path, glob, needle):
    repo = make_repo(tmp_path / "repo")
    toml = (repo / "campaign.toml").read_text().replace('scope = ["primes.py"]', f"scope = [{json.dumps(glob)}]")
    (repo / "campaign.toml").write_text(toml)
    git(repo, "commit", "-qam", "scope")
    _one_error(campaign(repo, "init", "--target", "campaign.toml"), glob, needle)
    _nothing_written(repo)


def test_a_workload_without_outputs_is_warned_at_init_and_recorded(tmp_path):
    repo = make_repo(tmp_path / "repo")
    bench = (repo / "bench.py").read_text().replace('{"outputs": {"count": count}', '{"outputs": {}')
    (repo / "bench.py").write_text(bench)
    git(repo, "commit", "-qam", "no outputs")
    result = campaign(repo, "init", "--target", "campaign.toml")
    assert result.returncode == 0, result.stderr
    assert "TEST checks nothing" in result.stdout + result.stderr
    init = Journal(repo / "optim" / "primes").events()[0]
    assert any("TEST checks nothing" in w for w in init["data"]["warnings"])


# -- 13: submodules and empty repositories ----------------------------------------------------------


def test_a_repository_with_a_submodule_can_be_initialised(tmp_path):
    sub = tmp_path / "sub"
    sub.mkdir()
    git(sub, "init", "-q", "-b", "main")
    (sub / "lib.txt").write_text("vendored\n")
    git(sub, "add", "-A")
    git(sub, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-qm", "lib")
    repo = make_repo(tmp_path / "repo")
    git(repo, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(sub), "vendor")
    git(repo, "commit", "-qm", "vendor a submodule")
    result = campaign(repo, "init", "--target", "campaign.toml")
    assert result.returncode == 0, result.stderr
    status = json.loads(campaign(repo, "status", "--json").stdout)
    assert status["step"] == "profile"
    from campaign.measure.baseline import extract_snapshot

    files = extract_snapshot(repo / "optim" / "primes", tmp_path / "snapshot")  # the archive (baseline_snapshot.tar.gz)
    assert "primes.py" in files and not [f for f in files if f.startswith("vendor")]


def test_a_repository_without_commits_gets_a_clear_error(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "campaign.toml").write_text("[target]\nname = 'x'\n")
    message = _one_error(campaign(repo, "init", "--target", "campaign.toml"), "no commits")
    assert "git failed" not in message and "fatal" not in message
    assert not (repo / "optim").exists()


def test_scope_problem_is_pure_and_names_the_glob():
    from campaign.vcs import scope_problem

    files = ["src/a.py", "src/deep/b.py", "README.md"]
    assert scope_problem(["src/*.py", "src/**/*.py"], files) is None
    assert "outside" in scope_problem(["src/../../x"], files)
    assert "outside" in scope_problem(["C:/x.py"], files)
    assert "matches no file" in scope_problem(["src/*.c"], files)
