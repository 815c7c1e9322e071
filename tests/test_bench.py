import sys
import textwrap

import pytest

from campaign.measure import stats
from campaign.measure.bench import _apply_instructions, benchmark, block_order, calibrate_repeat
from campaign.plugins.loading import load_target
from campaign.measure.workload import WorkloadError

TOY = textwrap.dedent(
    """
    from campaign.plugins.phases import phase
    from campaign.plugins.target import PythonTarget

    FACTOR = {factor}

    def work(n):
        s = 0
        for i in range(n):
            s += i * i % 7
        return s

    class BenchToy(PythonTarget):
        name = "benchtoy"
        phases = ["hot", "cold"]

        def run_case(self, case, workdir, knobs=None):
            if FACTOR < 0:
                raise RuntimeError("broken variant")
            with phase("hot"):
                a = work(int(20000 * FACTOR))
            with phase("cold"):
                b = work(5000)
            return {{"b": b}}
    """
)


def make(tmp_path, name, factor):
    d = tmp_path / name
    d.mkdir()
    (d / "benchtoy_mod.py").write_text(TOY.format(factor=factor))
    return d


@pytest.fixture
def target(tmp_path, monkeypatch):
    base = make(tmp_path, "base", 1)
    monkeypatch.syspath_prepend(str(base))
    t = load_target("benchtoy_mod:BenchToy")
    sys.modules.pop("benchtoy_mod", None)
    return t


def test_calibrate_repeat():
    assert calibrate_repeat([0.01, 0.02]) == 3  # 30 ms of warm work by default, and never fewer than three
    assert calibrate_repeat([0.001, 0.002]) == 30
    assert calibrate_repeat([0.01, 0.02], target_s=0.1) == 10
    assert calibrate_repeat([0.01, 20.0]) == 1  # a 20 s variant must not run 10 times
    assert calibrate_repeat([0.3, 0.33]) == 3  # at least the fastest of three when it fits in 2 s
    assert calibrate_repeat([0.3, 0.9]) == 2
    assert calibrate_repeat([1e-6]) == 50
    assert calibrate_repeat([]) == 1


def test_block_order_is_mirrored():
    import random

    order = block_order(["a", "b"], random.Random(1))
    assert order in (["a", "b", "b", "a"], ["b", "a", "a", "b"])
    order = block_order(["a", "b", "c"], random.Random(2))
    assert order[:3] == order[3:][::-1] and sorted(order[:3]) == ["a", "b", "c"]


def test_instruction_policy():
    inconclusive = stats.Decision("inconclusive", 1.03, (0.99, 1.08), 0.999, 0.02, 10)
    assert _apply_instructions(inconclusive, {"ratio": 1.05})[:2] == ("faster", "instructions")
    assert _apply_instructions(inconclusive, {"ratio": 0.9})[:2] == ("inconclusive", "wall")
    assert _apply_instructions(inconclusive, {"ratio": 1.001})[:2] == ("inconclusive", "wall")
    faster = stats.Decision("faster", 1.3, (1.2, 1.4), 0.999, 0.02, 10)
    assert _apply_instructions(faster, None)[:2] == ("faster", "wall")
    # an instruction verdict shown beside a wall interval that says nothing is labelled as such
    same = stats.Decision("same", 0.995, (0.87, 1.05), 0.999, 0.02, 10)
    verdict, metric, note = _apply_instructions(same, {"ratio": 0.9})
    assert (verdict, metric) == ("same", "wall") and "wall time does not" in note


def test_three_x_slower_is_slower(tmp_path, target):
    # no timing assertion: a 3x slower variant is slower on any machine, however loaded
    base, slow = make(tmp_path, "a", 1), make(tmp_path, "slow", 3)
    lines = []
    res = benchmark(target, "fast", {"baseline": base, "candidate": slow}, "candidate",
                    max_blocks=10, progress=lines.append, process_s=0.03)
    r = res["baseline"]
    # A 3x effect: the verdict and the direction, never a threshold or a block count load can move.
    assert r.verdict == "slower" and r.speedup < 1
    assert r.phases["hot"] < 1 and set(r.phases) == {"hot", "cold"}
    assert r.ci[1] < 1 and r.to_dict()["ci"][0] <= r.speedup
    assert len(r.samples["a"]) == 2 * r.blocks and r.environment["python"]
    assert r.candidate["first_call_s"] > 0
    assert len(r.load) == r.blocks and all("load" in b and "busy" in b for b in r.load)
    assert sum(line.startswith("block ") for line in lines) == r.blocks
    assert r.block_cost["block_s"] > 0 and r.block_cost["runs_per_block"] == 4
    # the phase table's ratio is the ratio of its own times
    for name, ratio in r.phases.items():
        assert ratio == pytest.approx(r.reference["phases"][name] / r.candidate["phases"][name])
    assert r.speedup == pytest.approx(r.reference["block_s"] / r.candidate["block_s"])


def test_same_directory_is_same(tmp_path, target):
    base = make(tmp_path, "a", 1)
    res = benchmark(target, "fast", {"baseline": base, "last": base, "candidate": base}, "candidate",
                    max_blocks=10, process_s=0.02)
    for r in res.values():
        assert r.verdict == "same" and r.speedup == 1.0


def count_runs(monkeypatch):
    from campaign.measure import bench as bench_mod

    calls = []
    real = bench_mod.run_workload

    def counting(target, case, workdir, **kw):
        calls.append(str(workdir))
        return real(target, case, workdir, **kw)

    monkeypatch.setattr(bench_mod, "run_workload", counting)
    return calls


def test_a_tree_in_two_roles_is_measured_once(tmp_path, target, monkeypatch):
    last, base, cand = make(tmp_path, "last", 1), make(tmp_path, "basev", 1), make(tmp_path, "cand", 1)
    calls = count_runs(monkeypatch)
    res = benchmark(target, "fast", {"last": last, "baseline": base, "candidate": cand}, "candidate",
                    max_blocks=3, min_blocks=3, process_s=0.01, keys={"last": "tree-1", "baseline": "tree-1"})
    assert not any(c == str(base) for c in calls)  # the baseline's directory never ran: "last" measured for both
    blocks = res["last"].blocks
    assert calls.count(str(last)) == 1 + 2 * blocks and calls.count(str(cand)) == 1 + 2 * blocks
    assert res["last"].samples == res["baseline"].samples and res["last"].speedup == res["baseline"].speedup


def test_distinct_trees_are_measured_apart(tmp_path, target, monkeypatch):
    last, base, cand = make(tmp_path, "last", 1), make(tmp_path, "basev", 1), make(tmp_path, "cand", 1)
    calls = count_runs(monkeypatch)
    benchmark(target, "fast", {"last": last, "baseline": base, "candidate": cand}, "candidate",
              max_blocks=3, min_blocks=3, process_s=0.01, keys={"last": "tree-1", "baseline": "tree-2"})
    assert calls.count(str(base)) == calls.count(str(last)) > 0


def test_failed_variant_is_an_error_not_a_speedup(tmp_path, target):
    base, broken = make(tmp_path, "a", 1), make(tmp_path, "broken", -1)
    with pytest.raises(WorkloadError, match="broken variant"):
        benchmark(target, "fast", {"baseline": base, "candidate": broken}, "candidate", max_blocks=3)


def fake_runs(monkeypatch, speed: dict[str, float], sigma: float, seed: int = 0):
    """Replace the fresh processes with seeded synthetic runs: directory name -> relative time."""
    import math
    import random

    from campaign.measure import bench as bench_mod
    from campaign.measure.workload import WorkloadRun

    rng = random.Random(seed)

    def run(target, case, workdir, repeat=1, **kw):
        base = 0.01 * speed[workdir.name]
        warm = [base * math.exp(rng.gauss(0, sigma)) for _ in range(repeat)]
        return WorkloadRun(outputs={}, phases={"hot": min(warm)}, warm_s=warm, first_call_s=base, compile_s=None,
                           wall_s=sum(warm) + 0.05, repeat=repeat)

    monkeypatch.setattr(bench_mod, "run_workload", run)


def test_three_agreeing_blocks_decide_a_real_win(tmp_path, target, monkeypatch):
    a, b = make(tmp_path, "ref", 1), make(tmp_path, "cand", 1)
    fake_runs(monkeypatch, {"ref": 1.25, "cand": 1.0}, sigma=0.02)
    r = benchmark(target, "fast", {"last": a, "candidate": b}, "candidate", process_s=0.01)["last"]
    assert (r.verdict, r.blocks, r.stop_reason) == ("faster", 3, "decided")
    assert r.ci[0] > 1 and r.ci_level == pytest.approx(1 - 0.01 / stats.looks(stats.MAX_BLOCKS, 3))


def test_verdicts_are_taken_only_at_the_planned_looks(tmp_path, target, monkeypatch):
    # a 4% win at 2% noise needs more than the first six looks; after block 8 the next look is block 10, so
    # whatever the evidence at block 9, the benchmark cannot stop there
    a, b = make(tmp_path, "ref", 1), make(tmp_path, "cand", 1)
    lines = []
    for seed in range(10):
        fake_runs(monkeypatch, {"ref": 1.04, "cand": 1.0}, sigma=0.03, seed=seed)
        r = benchmark(target, "fast", {"last": a, "candidate": b}, "candidate", process_s=0.01, budget_s=1e9,
                      progress=lines.append, seed=seed)["last"]
        assert r.blocks in stats.look_schedule(stats.MAX_BLOCKS, 3) or r.stop_reason != "decided", r.blocks
    assert any("next look after block 10" in line for line in lines)
    # before the first look the line says so once, without a verdict or a "next look"
    first = next(line for line in lines if line.startswith("block 1/"))
    assert "first look after 3 blocks" in first and "next look" not in first and "inconclusive" not in first


def test_undecided_stops_at_the_noise_cap_and_says_what_a_decision_needs(tmp_path, target, monkeypatch):
    a, b = make(tmp_path, "ref", 1), make(tmp_path, "cand", 1)
    # 3% noise per run, a true 1% difference: in the grey zone of a 2% minimum effect (neither same nor faster
    # is certain); this seed stays there (with the alternating repeat counts and `same` read on its own 99.6%
    # interval; others end `same`), and the benchmark stops when more blocks would not resolve 2%
    fake_runs(monkeypatch, {"ref": 1.01, "cand": 1.0}, sigma=0.03, seed=0)
    r = benchmark(target, "fast", {"last": a, "candidate": b}, "candidate", process_s=0.01, max_blocks=200,
                  budget_s=1e9)["last"]
    assert r.verdict == "inconclusive" and r.blocks < 200
    assert r.stop_reason.startswith("enough blocks to resolve the minimum effect")
    assert any(n.startswith("undecided:") for n in r.notes)


def test_the_budget_stops_and_the_result_says_how_many_more_blocks(tmp_path, target, monkeypatch):
    a, b = make(tmp_path, "ref", 1), make(tmp_path, "cand", 1)
    fake_runs(monkeypatch, {"ref": 1.0, "cand": 1.0}, sigma=0.08, seed=2)
    r = benchmark(target, "fast", {"last": a, "candidate": b}, "candidate", process_s=0.01, max_blocks=3,
                  min_blocks=3)["last"]
    assert r.verdict == "inconclusive" and r.stop_reason == "max_blocks"
    assert r.blocks_needed and r.blocks_needed > 0 and r.seconds_needed is not None
    assert f"~{r.blocks_needed} more blocks" in " ".join(r.notes)
