"""The pytest-benchmark target kind: a project's own benchmark suite drives a whole campaign."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from loop_fixtures import campaign, git
from campaign.measure.workload import run_workload
from campaign.plugins.loading import load_target
from campaign.plugins.toml_target import load_toml_target

SLOW = textwrap.dedent(
    """
    def unique(items):
        out = []
        for x in items:
            if x not in out:
                out.append(x)
        return out


    def total(items):
        return sum(items)
    """
).lstrip()

FAST = SLOW.replace(
    """    out = []
    for x in items:
        if x not in out:
            out.append(x)
    return out""",
    "    return list(dict.fromkeys(items))",
)

BENCHMARKS = textwrap.dedent(
    """
    import os

    import dedup

    N = {"fast": 3000, "full": 4000}[os.environ.get("CAMPAIGN_CASE", "fast")]
    DATA = [(i * 7919) % (N // 2) for i in range(N)]


    def test_unique(benchmark):
        result = benchmark(dedup.unique, DATA)
        assert len(result) == N // 2


    def test_total(benchmark):
        benchmark.pedantic(dedup.total, args=(DATA,), rounds=3)


    def test_not_a_benchmark():
        raise AssertionError("plain tests are not part of the workload")
    """
).lstrip()

UNIT_TESTS = textwrap.dedent(
    """
    from dedup import unique


    def test_keeps_first_occurrence_order():
        assert unique([3, 1, 3, 2, 1]) == [3, 1, 2]
    """
).lstrip()

TOML = textwrap.dedent(
    """
    [target]
    kind = "pytest-benchmark"
    name = "dedup"
    path = "benchmarks/"
    scope = ["dedup.py"]
    test = "{python} -m pytest -q -p no:cacheprovider tests"
    timeout_s = 120
    """
).lstrip()


def make_project(root: Path, toml: bool = True) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    (root / "dedup.py").write_text(SLOW)
    (root / "benchmarks").mkdir()
    (root / "benchmarks" / "test_dedup_bench.py").write_text(BENCHMARKS)
    (root / "tests").mkdir()
    (root / "tests" / "test_dedup.py").write_text(UNIT_TESTS)
    if toml:
        (root / "campaign.toml").write_text(TOML)
    (root / ".gitignore").write_text("__pycache__/\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "dedup with a benchmark suite")
    return root


def test_one_pytest_session_reports_each_benchmark_as_a_phase(tmp_path):
    repo = make_project(tmp_path / "p")
    target = load_toml_target(repo / "campaign.toml")
    run = run_workload(target, "fast", repo, repeat=3)
    assert set(run.phases) == {"test_unique", "test_total"}
    assert len(run.warm_s) == 3
    assert run.outputs["test_unique"][:3] == [0, 419, 838]  # the benchmark's return value, for TEST
    assert run.outputs["test_total"] == sum((i * 7919) % 1500 for i in range(3000))  # via benchmark.pedantic
    assert run.extra["benchmarks"] == 2


def test_spec_form_guesses_scope_and_tests(tmp_path):
    repo = make_project(tmp_path / "p", toml=False)
    target = load_target("pytest-benchmark:benchmarks", repo)
    assert target.scope == ["dedup.py"] and "pytest" in target.test_command
    assert set(run_workload(target, "fast", repo).phases) == {"test_unique", "test_total"}


def test_a_failing_benchmark_fails_the_workload_with_its_name(tmp_path):
    repo = make_project(tmp_path / "p")
    (repo / "dedup.py").write_text(SLOW.replace("return out", "return out[:-1]"))
    target = load_toml_target(repo / "campaign.toml")
    cmd = target.workload_command("fast", 1)
    result = subprocess.run(cmd, shell=True, cwd=repo, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert "test_unique" in json.loads(result.stdout.splitlines()[-1])["error"]


def ok(result, code: int = 0) -> dict:
    assert result.returncode == code, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return json.loads(result.stdout) if result.stdout.lstrip().startswith("{") else {}


def test_two_iteration_campaign_on_a_pytest_benchmark_suite(tmp_path):
    repo = make_project(tmp_path / "p")
    c = lambda *args: campaign(repo, *args)  # noqa: E731
    ok(c("init", "--target", "campaign.toml", "--goal-speedup", "1000", "--max-iterations", "2"))

    prof = ok(c("profile", "--json"))
    assert prof["shares"]["test_unique"] > prof["shares"]["test_total"]
    assert any(f["function"] == "unique" for f in prof["top_functions"])  # a Python command: cProfile ran
    ok(c("think", "--hypothesis", "`x not in out` makes unique O(n^2)", "--option", "dict.fromkeys: O(n), ordered",
         "--option", "a set beside the list", "--chosen", "dict.fromkeys", "--predict", "20", "--risk", "order"))
    ok(c("plan", "--phase", "test_unique", "--change", "dict.fromkeys", "--bottleneck", "list membership"))
    (repo / "dedup.py").write_text(FAST)
    tried = ok(c("try", "--json"))
    assert tried["test"]["passed"] is True
    assert ok(c("log", "--surprise", "none", "--why", "O(n^2) to O(n): the size sets the ratio",
                   "--lesson", "predict from n", "--json"))["kept"] is True
    ok(c("decide"))

    ok(c("profile"))
    ok(c("think", "--hypothesis", "dict building is the rest", "--option", "sorted(set())", "--option", "leave it",
         "--chosen", "sorted(set())", "--predict", "1.5", "--risk", "it loses the order"))
    ok(c("plan", "--phase", "test_unique", "--change", "sorted(set())", "--override-amdahl", "a test of TEST"))
    (repo / "dedup.py").write_text(SLOW.replace(SLOW.split("def unique(items):\n")[1].split("\n\n")[0],
                                                "    return sorted(set(items))"))
    failed = c("try")
    assert failed.returncode == 3
    assert "tests/test_dedup.py::test_keeps_first_occurrence_order" in failed.stdout
    assert ok(c("log", "--surprise", "order matters", "--json"))["kept"] is False

    events = [json.loads(line) for line in (repo / "optim" / "dedup" / "journal.jsonl").read_text().splitlines()]
    tests = [e["data"] for e in events if e["type"] == "test"]
    assert [t["passed"] for t in tests] == [True, False]
    assert {f["output"].split("[")[0] for f in tests[1]["failures"]} == {"test_unique"}  # the order changed
    kinds = [e["type"] for e in events if e["type"] in ("commit", "revert")]
    assert kinds[-2:] == ["commit", "revert"] and kinds.count("revert") == 1  # iteration 1 kept, 2 reverted
    assert (repo / "dedup.py").read_text() == FAST


def test_a_benchmark_that_raises_is_reported_with_its_text_without_warning_noise(tmp_path):
    """The failure names the exception with its text ("TypeError: ..."), not pytest's bare "file:line: TypeError",
    and pytest-benchmark's warnings do not bury it (issue 21 item 7)."""
    from campaign.measure.workload import WorkloadError

    repo = make_project(tmp_path / "p")
    (repo / "dedup.py").write_text(SLOW.replace("def unique(", "def unique_(") + textwrap.dedent("""

        def unique(xs):
            import warnings
            for i in range(60):
                warnings.warn(f"noise {i}", UserWarning)
            return len(xs) + "a string"
    """))
    target = load_toml_target(repo / "campaign.toml")
    with pytest.raises(WorkloadError) as failed:
        run_workload(target, "fast", repo)
    message = str(failed.value)
    assert "TypeError: unsupported operand type(s) for +: 'int' and 'str'" in message
    assert "noise" not in message and "warnings summary" not in message
