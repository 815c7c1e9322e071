"""PROFILE of campaign.toml targets whose workload is a Python program: functions and lines, or a plain why-not."""

from __future__ import annotations

import json
import sys

import pytest

from loop_fixtures import campaign, make_repo
from campaign.measure.profiling import profile_workload
from campaign.measure.python_command import python_program
from campaign.plugins.toml_target import load_toml_target


@pytest.mark.parametrize("cmd, kind, what, args", [
    ("python bench.py fast 3", "script", "bench.py", ["fast", "3"]),
    ("python3.11 -u -X dev -m bench fast", "module", "bench", ["fast"]),
    (f"PYTHONHASHSEED=0 {sys.executable} 'my bench.py' full", "script", "my bench.py", ["full"]),
    ([sys.executable, "-m", "campaign.measure.worker", "x:Y", "fast"], "module", "campaign.measure.worker", ["x:Y", "fast"]),
])
def test_python_programs_are_recognised(cmd, kind, what, args):
    program, why = python_program(cmd)
    assert why == "" and (program.kind, program.what, program.args) == (kind, what, args)


@pytest.mark.parametrize("cmd, phrase", [
    ("./bench fast", "not a Python interpreter"),
    ("python bench.py fast | tail -1", "pipeline"),
    ("make && python bench.py", "shell pipeline or list"),
    ("python -c 'print(1)'", "python -c"),
])
def test_other_commands_say_why_not(cmd, phrase):
    program, why = python_program(cmd)
    assert program is None and phrase in why


def test_toml_python_target_profile_names_its_hot_function(tmp_path):
    repo = make_repo(tmp_path / "repo")
    target = load_toml_target(repo / "campaign.toml")
    data = profile_workload(target, repo, "fast", lines=["primes:count_primes"])
    assert data["top_functions"][0]["function"] == "count_primes"
    assert data["top_functions"][0]["file"] == "primes.py"
    rows = data["lines"]["primes:count_primes"]
    assert any("k % d == 0" in r["source"] and r["hits"] > 1000 for r in rows)
    assert set(data["phases"]) == {"setup", "count"} and data["notes"] == []


def test_non_python_command_profile_says_so(tmp_path):
    bench = f"{sys.executable} bench.py {{case}} {{repeat}} | cat"
    repo = make_repo(tmp_path / "repo", run=bench)
    data = profile_workload(load_toml_target(repo / "campaign.toml"), repo, "fast", lines=["primes:count_primes"])
    assert data["top_functions"] == [] and data["lines"] == {}
    assert any("no function or line profile" in n and "pipeline" in n for n in data["notes"])


def test_profile_cli_text_shows_functions_and_lines(tmp_path):
    repo = make_repo(tmp_path / "repo")
    assert campaign(repo, "init", "--target", "campaign.toml", "--goal-speedup", "2").returncode == 0
    result = campaign(repo, "profile", "--lines", "primes:count_primes")
    assert result.returncode == 0, result.stderr
    assert "top: count_primes (primes.py:" in result.stdout
    assert "line timings of primes:count_primes" in result.stdout and "k % d == 0" in result.stdout
    journal = [json.loads(line) for line in (repo / "optim" / "primes" / "journal.jsonl").read_text().splitlines()]
    profile = [e for e in journal if e["type"] == "profile"][-1]
    assert profile["data"]["top_functions"][0]["function"] == "count_primes"


def test_a_program_that_fails_under_the_profiler_keeps_its_phases_and_says_why(tmp_path):
    repo = make_repo(tmp_path / "repo")
    bench = (repo / "bench.py").read_text()
    (repo / "bench.py").write_text("import sys\nif sys.getprofile() is not None:\n    sys.exit(3)\n" + bench)
    data = profile_workload(load_toml_target(repo / "campaign.toml"), repo, "fast")
    assert set(data["phases"]) == {"setup", "count"} and data["top_functions"] == []
    assert any("no function or line profile" in n and "code 3" in n for n in data["notes"])


def test_both_profile_workers_name_functions_the_same_way(tmp_path, monkeypatch):
    """One resolver for ``module:qualname`` (PROFILE of Python targets and of campaign.toml programs)."""
    from campaign.measure import profile_region, profile_worker, script_profile_worker

    assert profile_worker.resolve_function is profile_region.resolve_function
    assert script_profile_worker.resolve_function is profile_region.resolve_function
    (tmp_path / "named_mod.py").write_text(
        "def top():\n    return 1\n\n\nclass K:\n    def meth(self):\n        return 2\n\n"
        "    @classmethod\n    def cm(cls):\n        return 3\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    resolve = profile_region.resolve_function
    import named_mod

    assert resolve("named_mod:top") is named_mod.top
    assert resolve("named_mod:K.meth") is named_mod.K.meth
    assert resolve("named_mod:K.cm") is named_mod.K.__dict__["cm"].__func__  # the function line_profiler instruments
    with pytest.raises(ValueError, match="module:qualname"):
        resolve("named_mod.top")
    with pytest.raises(AttributeError):
        resolve("named_mod:K.nothing")


def test_a_method_is_line_profiled_by_its_qualname(tmp_path):
    """line_profiler 5 files a method's timings under ``Class.method`` (co_qualname); before, matching
    ``co_name`` said "no line was executed" for every method (issue 21 item 4)."""
    repo = make_repo(tmp_path / "repo")
    (repo / "primes.py").write_text((repo / "primes.py").read_text() + (
        "\n\nclass Counter:\n    def count(self, numbers):\n        total = 0\n        for k in numbers:\n"
        "            total += k % 3\n        return total\n"))
    (repo / "bench.py").write_text((repo / "bench.py").read_text().replace(
        "count = primes.count_primes(numbers)", "count = primes.count_primes(numbers) + 0 * primes.Counter().count(numbers)"))
    target = load_toml_target(repo / "campaign.toml")
    data = profile_workload(target, repo, "fast", lines=["primes:Counter.count"])
    rows = data["lines"]["primes:Counter.count"]
    assert any("total += k % 3" in r["source"] and r["hits"] > 1000 for r in rows), data
    assert not [n for n in data["notes"] if "no line was executed" in n]
