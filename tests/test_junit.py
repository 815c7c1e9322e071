"""TEST names its failures: the test runner's JUnit XML report, from pytest and from other runners."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest

from loop_fixtures import campaign, git, make_repo
from campaign.measure.correctness import run_test_command
from campaign.measure.junit import failed_tests, junit_command

FAILING = textwrap.dedent(
    """
    def test_fine():
        assert 1 + 1 == 2


    class TestMaths:
        def test_wrong(self):
            assert 2 + 2 == 5, "arithmetic is broken"
    """
)


@pytest.mark.parametrize("cmd, expected", [
    ("pytest -q", "pytest --junitxml=R -q"),
    ("python3 -m pytest tests/ -x", "python3 -m pytest --junitxml=R tests/ -x"),
    ("make build && .venv/bin/pytest", "make build && .venv/bin/pytest --junitxml=R"),
    ("uv run py.test -k fast", "uv run py.test --junitxml=R -k fast"),
])
def test_pytest_commands_get_a_report(cmd, expected):
    assert junit_command(cmd, Path("R")) == expected


@pytest.mark.parametrize("cmd", ["make test", "python -m unittest", "cargo test", "./run-pytests.sh"])
def test_other_commands_are_left_alone(cmd):
    assert junit_command(cmd, Path("R")) is None


def test_a_failing_pytest_test_is_named_with_its_message(tmp_path):
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_maths.py").write_text(FAILING)
    result = run_test_command(f"{sys.executable} -m pytest -q -p no:cacheprovider tests", tmp_path, 120)
    assert result["passed"] is False
    assert result["failed_tests"] == [{"name": "tests/test_maths.py::TestMaths::test_wrong",
                                       "message": "AssertionError: arithmetic is broken"}]
    assert not list(tmp_path.glob("*.xml"))  # the report lives in a temporary directory


def test_another_runner_names_its_report(tmp_path):
    report = textwrap.dedent(
        """<?xml version="1.0"?>
        <testsuites><testsuite name="unit">
          <testcase classname="parser" name="handles_empty"/>
          <testcase classname="parser" name="handles_utf8"><failure message="expected 3 got 4">trace</failure></testcase>
        </testsuite></testsuites>"""
    )
    runner = f"import pathlib, sys; pathlib.Path('out').mkdir(exist_ok=True); pathlib.Path('out/junit.xml').write_text({report!r}); sys.exit(1)"
    (tmp_path / "runner.py").write_text(runner)
    result = run_test_command(f"{sys.executable} runner.py", tmp_path, 60, junit_xml="out/junit.xml")
    assert result["failed_tests"] == [{"name": "parser::handles_utf8", "message": "expected 3 got 4"}]


def test_a_stale_report_is_not_read(tmp_path):
    (tmp_path / "old.xml").write_text('<testsuite><testcase classname="a" name="b"><failure message="old"/></testcase></testsuite>')
    import os

    os.utime(tmp_path / "old.xml", (1, 1))
    result = run_test_command(f"{sys.executable} -c 'raise SystemExit(1)'", tmp_path, 60, junit_xml="old.xml")
    assert result["passed"] is False and result["failed_tests"] == []
    assert failed_tests(tmp_path / "missing.xml", tmp_path) == []


TEST_PRIMES = textwrap.dedent(
    """
    import primes


    def test_small_counts():
        assert primes.count_primes(primes.make_numbers(10)) == 4


    def test_large_count():
        assert primes.count_primes(primes.make_numbers(1000)) == 168
    """
)


def test_a_failing_pytest_test_is_named_in_the_cli_and_the_log(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_primes.py").write_text(TEST_PRIMES)
    toml = (repo / "campaign.toml").read_text()
    test_line = next(line for line in toml.splitlines() if line.startswith("test = "))
    toml = toml.replace(test_line, 'test = "{python} -m pytest -q -p no:cacheprovider tests"')
    (repo / "campaign.toml").write_text(toml)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "tests")
    c = lambda *args: campaign(repo, *args)  # noqa: E731
    assert c("init", "--target", "campaign.toml", "--goal-speedup", "2").returncode == 0
    for args in (("profile",),
                 ("think", "--hypothesis", "h", "--option", "a", "--option", "b", "--chosen", "a", "--predict", "1.5",
                  "--risk", "r"),
                 ("plan", "--phase", "count", "--change", "skip tiny inputs")):
        assert c(*args).returncode == 0, c(*args).stderr
    broken = (repo / "primes.py").read_text().replace("    count = 0\n", "    count = 0\n    if len(numbers) < 100:\n        return 0\n")
    (repo / "primes.py").write_text(broken)
    tried = c("try")
    assert tried.returncode == 1
    assert "TEST FAILED: tests/test_primes.py::test_small_counts — assert 0 == 4" in tried.stdout
    events = [json.loads(line) for line in (repo / "optim" / "primes" / "journal.jsonl").read_text().splitlines()]
    test = [e for e in events if e["type"] == "test"][-1]["data"]
    assert [t["name"] for t in test["test_command"]["failed_tests"]] == ["tests/test_primes.py::test_small_counts"]
    assert c("log", "--surprise", "tiny inputs are tested").returncode == 0
    log = (repo / "optim" / "primes" / "optimization_log.md").read_text()
    assert "failed: tests/test_primes.py::test_small_counts — assert 0 == 4" in log
