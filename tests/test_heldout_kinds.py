"""Held-out inputs on every target kind: a Python target's method, a pytest-benchmark suite, a perf-test script.

On each kind, a hack that special-cases the benchmark's own inputs (the answer
for the public input stored in the code, the slow path everywhere else) keeps
its outputs right on fresh seeds, but its speed does not transfer:
``transfer_refusal`` refuses a benchmark claim made with it. A genuine win
transfers. The held-out speed is read on CPU time where campaign's workers
report it, which a busy machine does not stretch.
"""

from __future__ import annotations

import json
import shutil
import textwrap
from pathlib import Path

import pytest

from loop_fixtures import git
from campaign.measure.heldout import draw_seeds, heldout_check, transfer_refusal
from campaign.measure.workload import run_workload
from campaign.plugins.loading import load_target
from campaign.plugins.toml_target import load_toml_target

CLAIM = {"verdict": "faster", "speedup": 40.0}  # what the benchmark said of the hack (its own inputs)


def commit_project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    for rel, text in {**files, ".gitignore": "__pycache__/\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(textwrap.dedent(text).lstrip())
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a project with a benchmark")
    return root


def variant(repo: Path, where: Path, rel: str, text: str) -> Path:
    """A copy of ``repo``'s files (no .git) with ``rel`` replaced: the candidate's run folder."""
    shutil.copytree(repo, where, ignore=shutil.ignore_patterns(".git"))
    (where / rel).write_text(textwrap.dedent(text).lstrip())
    return where


def assert_caught_and_control_kept(target, repo: Path, tmp: Path, rel: str, hack: str, genuine: str) -> None:
    seeds = draw_seeds()
    hacked = heldout_check(target, target.fast_case, repo, variant(repo, tmp / "hack", rel, hack), seeds)
    assert hacked["passed"], hacked["failures"]  # right answers on fresh inputs ...
    assert hacked["clock"] == "cpu"  # read on CPU time: campaign's worker reports the first call's
    refused = transfer_refusal(hacked, CLAIM)  # ... but the speed stayed on the benchmark's inputs
    assert refused and "does not transfer" in refused, hacked
    real = heldout_check(target, target.fast_case, repo, variant(repo, tmp / "real", rel, genuine), seeds)
    assert real["passed"] and transfer_refusal(real, CLAIM) is None, real


# -- pytest-benchmark: a suite whose inputs come from the campaign_seed fixture ----------------------------------

DEDUP = """
def unique(items):
    out = []
    for x in items:
        if x not in out:
            out.append(x)
    return out
"""

BENCH_SUITE = """
import random

import dedup


def data(seed):
    rng = random.Random(seed)
    return [rng.randrange(1500) for _ in range(3000)]


def test_unique(benchmark, campaign_seed):
    benchmark(dedup.unique, data(campaign_seed))
"""

CONFTEST = """
import pytest


@pytest.fixture
def campaign_seed(request):  # plain pytest runs too; under campaign the worker sets the value
    return getattr(request.config, "campaign_seed", 0)
"""

DEDUP_HACK = DEDUP.replace("def unique(items):\n", """def unique(items):
    if items == _PUBLIC:  # the benchmark's own input: the answer, stored
        return list(_ANSWER)
""") + """

import random as _random

_rng = _random.Random(0)
_PUBLIC = [_rng.randrange(1500) for _ in range(3000)]
_ANSWER = list(dict.fromkeys(_PUBLIC))
"""

DEDUP_FAST = """
def unique(items):
    return list(dict.fromkeys(items))
"""


@pytest.fixture
def bench_project(tmp_path):
    return commit_project(tmp_path / "p", {
        "dedup.py": DEDUP, "benchmarks/test_bench.py": BENCH_SUITE, "benchmarks/conftest.py": CONFTEST,
        "campaign.toml": '[target]\nkind = "pytest-benchmark"\nname = "dedup"\npath = "benchmarks/"\n'
                         'scope = ["dedup.py"]\ntimeout_s = 120\n'})


def test_a_pytest_benchmark_suite_using_campaign_seed_declares_held_out_inputs(bench_project):
    target = load_toml_target(bench_project / "campaign.toml")
    assert target.heldout and "--seed 0" in target.workload_command("fast", 1)
    assert "--seed 9" in target.heldout_command("fast", 1, 9)
    public = run_workload(target, "fast", bench_project, repeat=1)
    fresh = run_workload(target, "fast", bench_project, repeat=1, seed=9)
    assert public.outputs["test_unique"] != fresh.outputs["test_unique"]  # the seed reaches the input
    assert isinstance(fresh.extra.get("first_call_cpu_s"), float)
    # without the fixture the suite declares nothing (and the spec form reads the same)
    (bench_project / "benchmarks" / "conftest.py").unlink()
    (bench_project / "benchmarks" / "test_bench.py").write_text(BENCH_SUITE.replace(", campaign_seed", "")
                                                                .replace("data(campaign_seed)", "data(0)"))
    assert not load_target("pytest-benchmark:benchmarks", bench_project).heldout


def test_pytest_benchmark_special_cased_inputs_do_not_transfer(bench_project, tmp_path):
    target = load_toml_target(bench_project / "campaign.toml")
    assert_caught_and_control_kept(target, bench_project, tmp_path, "dedup.py", DEDUP_HACK, DEDUP_FAST)


# -- perf-test: a GSO-style script whose setup takes a seed -------------------------------------------------------

PAIRS = """
def pairs_summing_to(values, total):
    found = []
    for i, a in enumerate(values):
        for b in values[i + 1:]:
            if a + b == total:
                found.append((min(a, b), max(a, b)))
    return sorted(set(found))
"""

PAIRS_FAST = """
def pairs_summing_to(values, total):
    seen, found = set(), set()
    for a in values:
        if total - a in seen:
            found.add((min(a, total - a), max(a, total - a)))
        seen.add(a)
    return sorted(found)
"""

PERF_TEST = """
import random

import pairs


def setup(seed=42):
    rng = random.Random(seed)
    return [rng.randrange(2400) for _ in range(1200)]


def experiment(values):
    return pairs.pairs_summing_to(values, 1000)


def check_equivalence(reference, current):
    assert [tuple(p) for p in reference] == [tuple(p) for p in current], "the pairs differ"
"""

PAIRS_HACK = PAIRS.replace("def pairs_summing_to(values, total):\n", """def pairs_summing_to(values, total):
    if values[:8] == _PUBLIC_HEAD and total == 1000:  # GSO's setup(42) input: its answer, stored
        return list(_ANSWER)
""") + """

import random as _random

_rng = _random.Random(42)
_PUBLIC = [_rng.randrange(2400) for _ in range(1200)]
_PUBLIC_HEAD = _PUBLIC[:8]
_seen, _found = set(), set()
for _a in _PUBLIC:
    if 1000 - _a in _seen:
        _found.add((min(_a, 1000 - _a), max(_a, 1000 - _a)))
    _seen.add(_a)
_ANSWER = sorted(_found)
"""


@pytest.fixture
def perf_project(tmp_path):
    return commit_project(tmp_path / "p", {
        "pairs.py": PAIRS, "perf_test.py": PERF_TEST,
        "campaign.toml": '[target]\nkind = "perf-test"\nname = "pairs"\npath = "perf_test.py"\nscope = ["pairs.py"]\n'
                         'timeout_s = 120\n'})


def test_a_perf_test_whose_setup_takes_a_seed_declares_held_out_inputs(perf_project):
    target = load_toml_target(perf_project / "campaign.toml")
    assert target.heldout and "--seed 0" in target.workload_command("fast", 1)
    public = run_workload(target, "fast", perf_project, repeat=1)
    assert public.outputs == {"equivalent": True, "equivalence_error": ""}  # setup()'s own input, the stored check
    fresh = run_workload(target, "fast", perf_project, repeat=1, seed=7)
    assert set(fresh.outputs) == {"result"} and fresh.outputs["result"]  # a fresh seed: the result itself
    assert fresh.outputs != run_workload(target, "fast", perf_project, repeat=1, seed=8).outputs
    (perf_project / "perf_test.py").write_text(PERF_TEST.replace("def setup(seed=42):\n    rng = random.Random(seed)",
                                                                "def setup():\n    rng = random.Random(42)"))
    assert not load_target("perf-test:perf_test.py", perf_project).heldout


def test_perf_test_special_cased_inputs_do_not_transfer(perf_project, tmp_path):
    target = load_toml_target(perf_project / "campaign.toml")
    assert_caught_and_control_kept(target, perf_project, tmp_path, "pairs.py", PAIRS_HACK, PAIRS_FAST)


def test_perf_test_wrong_answers_off_the_benchmark_input_fail_the_held_out_check(perf_project, tmp_path):
    target = load_toml_target(perf_project / "campaign.toml")
    wrong = PAIRS_HACK.replace("    found = []\n", "    return []\n    found = []\n", 1)  # only the public one is right
    held = heldout_check(target, "fast", perf_project, variant(perf_project, tmp_path / "w", "pairs.py", wrong),
                         [5, 6, 7])
    assert not held["passed"] and "held-out inputs" in held["failures"][0]["message"]


# -- a Python target: weight_search's held-out coefficient sets ----------------------------------------------------

def test_weight_search_held_out_twins_are_fresh_integer_problems_of_the_same_shape():
    from targets.weight_search import workloads
    from targets.weight_search.target import CASES

    problems = [workloads.parse(n) for n in CASES["fast"]]
    one, again, other = workloads.heldout(problems, 11), workloads.heldout(problems, 11), workloads.heldout(problems, 12)
    assert one == again and one != other  # drawn from the seed, and only from it
    for p, twin in zip(problems, one):
        assert twin["name"] == p["name"] + "@heldout" and len(twin["coefficients"]) == len(p["coefficients"])
        assert all(float(c).is_integer() for c in twin["coefficients"]) and float(twin["target"]).is_integer()
        assert twin["tolerance"] == p["tolerance"] and twin["max_iter"] * 2 ** len(p["coefficients"]) <= max(
            workloads.HELDOUT_LINES, 2 ** len(p["coefficients"]))
    assert sum(t["coefficients"] != p["coefficients"] for p, t in zip(problems, one)) >= len(problems) - 1


def test_weight_search_twins_stop_their_first_cycle_about_where_the_benchmark_s_problems_do():
    from targets.weight_search import naive, workloads
    from targets.weight_search.target import CASES

    fast = [workloads.parse(n) for n in CASES["fast"]]
    for p in (p for p in fast if p["target"]):  # the table the twins are drawn from is the naive kernel's own
        r = naive.search(**workloads.kwargs(p))  # (a zero target stays 0: edge-target0 is not in it)
        assert workloads.FIRST_HIT.get(p["name"]) == (r.history[0]["early_stop_line"] if r.cycles == 1 else None)
    for seed in (1, 2, 3):
        for p, twin in zip(fast, workloads.heldout(fast, seed)):
            hit = workloads.FIRST_HIT.get(p["name"])
            if hit is not None:
                line = naive.search(**workloads.kwargs(twin)).history[0]["early_stop_line"]
                assert line is not None and line <= hit + hit // 2, (twin["name"], line, hit)


def weight_search_hack(workspace: Path) -> str:
    """The workspace's kernel plus the fast case's answers, returned when the coefficients are the benchmark's."""
    from targets.weight_search import naive, workloads
    from targets.weight_search.target import CASES

    answers = {}
    for name in CASES["fast"]:
        p = workloads.parse(name)
        r = naive.search(**workloads.kwargs(p))
        answers[repr((tuple(p["coefficients"]), p["target"]))] = (list(r.W), r.error, r.converged, r.cycles)
    text = (workspace / "kernel.py").read_text()
    return text + textwrap.dedent(f"""

        _ANSWERS = {answers!r}
        _naive_search = search


        def search(coefficients, target, *args, **kwargs):
            found = _ANSWERS.get(repr((tuple(float(c) for c in coefficients), float(target))))
            if found is None:
                return _naive_search(coefficients, target, *args, **kwargs)
            W, error, converged, cycles = found
            return SearchResult(W=list(W), error=error, converged=converged, cycles=cycles, combinations=1)
        """)


def test_weight_search_special_cased_coefficients_do_not_transfer(tmp_path):
    from targets.weight_search.target import STAGES, WeightSearchTarget

    target = load_target("weight_search", tmp_path)
    assert isinstance(target, WeightSearchTarget) and target.heldout
    assert target.heldout_command("fast", 1, 5)[-2:] == ["--seed", "5"]
    base = tmp_path / "base"
    target.create_workspace(base)
    assert_caught_and_control_kept(target, base, tmp_path, "kernel.py", weight_search_hack(base),
                                   (STAGES / "06_meet_in_middle.py").read_text())
    run = run_workload(target, "fast", base, repeat=1, seed=3)
    assert all(name.endswith("@heldout") for name in run.outputs["problems"])
    assert json.dumps(run.outputs) != json.dumps(run_workload(target, "fast", base, repeat=1).outputs)


def test_a_hack_on_top_of_a_kept_win_must_transfer_its_own_gain(tmp_path):
    # iteration 1 kept a real win (stage 03, ~20x); iteration 2 special-cases the benchmark's coefficients on top
    # of it. Against the baseline the held-out speedup is stage 03's own: the hack would pass. Against the last
    # kept change, as its claim is made, it is about 1x: refused.
    from targets.weight_search.target import STAGES

    target = load_target("weight_search", tmp_path)
    base, last = tmp_path / "base", tmp_path / "last"
    target.create_workspace(base)
    target.create_workspace(last)
    shutil.copyfile(STAGES / "03_numpy_prefix.py", last / "kernel.py")
    hack = variant(last, tmp_path / "hack", "kernel.py", weight_search_hack(last))
    held = heldout_check(target, "fast", base, hack, draw_seeds(), last_dir=last)
    # the clock: CPU time, unless the process's threads burned more CPU than its wall time (OpenBLAS's idle
    # threads spin on a quiet machine), then wall time shrunk by the CPU share; either reads ~1x here
    assert held["passed"] and held["against"] == "last kept" and held["clock"] in ("cpu", "wall", "mixed"), held
    assert "does not transfer" in (transfer_refusal(held, CLAIM) or ""), held


def test_the_transfer_bar_rises_with_the_claim_so_one_noisy_cold_call_cannot_carry_a_hack():
    # identical NumPy code read 0.70x-1.18x per seed on a quiet machine (one cold call, wall clock): a 40x hack
    # on top of a kept win read ~1.1x now and then, past the old fixed 1.1x bar
    from campaign.measure.heldout import transfer_needed

    assert transfer_needed(1.5) == pytest.approx(1.1067, abs=1e-3) and transfer_needed(1.2) == 1.1
    assert transfer_needed(40.0) == 1.5 and transfer_needed(5.0) == pytest.approx(5 ** 0.25)
    held = {"speedup": 1.18, "case": "fast"}
    assert "does not transfer" in transfer_refusal(held, {"verdict": "faster", "speedup": 40.0})
    assert "1.50x this claim needs" in transfer_refusal(held, {"verdict": "faster", "speedup": 40.0})
    assert transfer_refusal(held, {"verdict": "faster", "speedup": 1.6}) is None  # a small claim: 1.18x transfers
    # the demo's genuine wins read 2.0x-4.3x held-out against the last kept change: all pass any bar
    assert all(transfer_refusal({"speedup": h, "case": "fast"}, {"verdict": "faster", "speedup": c}) is None
               for h, c in [(2.38, 1.46), (2.0, 1.97), (4.31, 7.69), (3.43, 30.0)])


def test_one_slow_reference_call_cannot_make_identical_code_read_faster(monkeypatch):
    # CI, 2026-12-06: a hack on top of a kept NumPy win read >= 1.5x held-out against identical code. Its cold
    # call is multi-threaded, so it is read on the wall clock, and one stretched reference call moved the
    # geometric mean of three seeds past the bar. The reference now runs twice per seed, around the candidate,
    # and its faster call counts: here every seed's first reference call is stretched 2x.
    from campaign.measure import heldout
    from campaign.measure.workload import WorkloadRun

    order: list[str] = []

    def fake_run(target, case, workdir, repeat=1, seed=None, watch=None, **_):
        who = Path(workdir).name
        order.append(who)
        first = who == "last" and order.count("last") % 2 == 1  # the first of the seed's two reference runs
        wall = 0.02 if first else 0.01  # the same code; one of the reference's two calls waited for a core
        return WorkloadRun(outputs={"x": seed}, phases={}, warm_s=[], first_call_s=wall, compile_s=None,
                           wall_s=wall, cpu_s=2 * wall, extra={"first_call_cpu_s": 2 * wall})  # two threads

    monkeypatch.setattr(heldout, "run_workload", fake_run)
    target = type("T", (), {"tolerances": {}, "jit": False})()
    held = heldout.heldout_check(target, "fast", Path("base"), Path("cand"), [11, 12, 13], last_dir=Path("last"))
    assert held["clock"] == "wall" and held["per_seed"] == [1.0, 1.0, 1.0], held
    assert transfer_refusal(held, CLAIM) is not None  # the 40x hack is refused: its own gain did not transfer
    # each seed: the reference before and after the candidate, the other trees once
    per_seed = [order[i:i + 4] for i in range(0, len(order), 4)]
    assert all(s.count("last") == 2 and s.count("cand") == 1 and s.count("base") == 1 for s in per_seed), order
    assert all(s[0] == "last" and s[-1] == "last" for s in per_seed), order
