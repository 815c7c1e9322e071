import math
import sys
import textwrap

import pytest

from campaign.measure.profiling import amdahl_bound, amdahl_speedup, format_profile, profile_workload, shares_and_bounds
from campaign.plugins.target import Target
from campaign.plugins.loading import load_target

TOY = textwrap.dedent(
    """
    from campaign.plugins.phases import phase
    from campaign.plugins.target import PythonTarget


    def heavy(n):
        s = 0
        for i in range(n):
            s += i * i
        return s


    def light(n):
        return sum(range(n))


    class ProfToy(PythonTarget):
        name = "proftoy"
        phases = ["heavy", "light"]
        hot_functions = ["proftoy_mod:heavy"]

        def run_case(self, case, workdir, knobs=None):
            with phase("all"):
                with phase("heavy"):
                    a = heavy(200000)
                with phase("light"):
                    b = light(1000)
            return {"a": a, "b": b}
    """
)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    (tmp_path / "proftoy_mod.py").write_text(TOY)
    monkeypatch.syspath_prepend(str(tmp_path))
    target = load_target("proftoy_mod:ProfToy")
    sys.modules.pop("proftoy_mod", None)
    return target, tmp_path


def test_profile_python_target(toy):
    target, ws = toy
    data = profile_workload(target, ws, "fast", lines=["proftoy_mod:heavy", "proftoy_mod:nope"])
    for key in ("commit", "case", "phases", "shares", "amdahl", "total_s", "top_functions", "lines"):
        assert key in data
    assert data["shares"]["heavy"] > 0.5 > data["shares"]["light"]
    assert data["amdahl"]["heavy"] == pytest.approx(1 / (1 - data["shares"]["heavy"]))
    top = data["top_functions"][0]
    assert top["function"] == "heavy" and top["file"] == "proftoy_mod.py" and top["line"] == 6
    assert set(top) >= {"file", "line", "function", "ncalls", "tottime", "cumtime"}
    rows = data["lines"]["proftoy_mod:heavy"]
    assert any(r["hits"] >= 200000 and "s += i * i" in r["source"] for r in rows)
    assert any("proftoy_mod:nope" in n for n in data["notes"])
    assert any("nest" in n for n in data["notes"])  # "all" contains the others
    assert "heavy" in format_profile(data)


def test_profile_defaults_to_hot_functions(toy):
    target, ws = toy
    data = profile_workload(target, ws, "fast")
    assert "proftoy_mod:heavy" in data["lines"]


class ShellTarget(Target):
    name = "shell"

    def workload_command(self, case, repeat=1, knobs=None):
        return [sys.executable, "-c",
                "import json; print(json.dumps({'outputs': {}, 'phases': {'x': 0.3, 'y': 0.1}}))"]


def test_profile_non_python_target_is_phases_only(tmp_path):
    data = profile_workload(ShellTarget(), tmp_path, "fast")
    assert data["top_functions"] == [] and data["lines"] == {}
    assert data["shares"]["x"] == pytest.approx(0.75) and data["amdahl"]["x"] == pytest.approx(4.0)
    assert any("phase timings only" in n for n in data["notes"])


def test_amdahl_pure():
    assert amdahl_bound(0.75) == pytest.approx(4.0)
    assert amdahl_speedup(0.75, 3.0) == pytest.approx(2.0)
    shares, bounds = shares_and_bounds({"a": 2.0, "b": 0.0}, 4.0)
    assert shares == {"a": 0.5, "b": 0.0} and bounds["a"] == pytest.approx(2.0) and bounds["b"] == 1.0
    assert math.isinf(amdahl_bound(1.0))


def test_profile_shares_come_from_the_median_of_several_runs_with_their_spread():
    """One noisy run once put a phase at 64% (two re-runs: 13%): the shares come from the median run of several,
    and a share that moved is reported with its range (issue 21 item 5). Pure."""
    from campaign.measure.profiling import spread_notes, steady_shares

    runs = [({"a": 0.13, "b": 0.87}, 1.0), ({"a": 6.4, "b": 3.6}, 10.0), ({"a": 0.125, "b": 0.875}, 1.0)]
    phases, total, spread = steady_shares(runs)
    assert total == 1.0 and phases["a"] in (0.13, 0.125)
    assert spread["a"] == [0.125, 0.64]
    (note,) = [n for n in spread_notes(spread) if "'a'" in n]
    assert "unstable" in note and "12% to 64%" in note
    assert spread_notes({"a": [0.12, 0.14]}) == []


def test_a_profile_records_the_spread_of_its_shares(tmp_path):
    from campaign.measure.profiling import SHARE_RUNS, profile_workload
    from campaign.plugins.toml_target import load_toml_target
    from loop_fixtures import make_repo

    repo = make_repo(tmp_path / "repo")
    data = profile_workload(load_toml_target(repo / "campaign.toml"), repo, "fast")
    assert set(data["share_spread"]) == {"setup", "count"} and SHARE_RUNS >= 3
    low, high = data["share_spread"]["count"]
    assert 0 <= low <= data["shares"]["count"] <= high <= 1
