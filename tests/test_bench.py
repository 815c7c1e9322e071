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
    assert calibrate_repeat([0.01, 0.02]) == 10
    assert calibrate_repeat([0.01, 20.0]) == 1  # a 20 s variant must not run 10 times
    assert calibrate_repeat([1e-6]) == 50
    assert calibrate_repeat([]) == 1


def test_block_order_is_mirrored():
    import random

    order = block_order(["a", "b"], random.Random(1))
    assert order in (["a", "b", "b", "a"], ["b", "a", "a", "b"])
    order = block_order(["a", "b", "c"], random.Random(2))
    assert order[:3] == order[3:][::-1] and sorted(order[:3]) == ["a", "b", "c"]


def test_instruction_policy():
    inconclusive = stats.Decision("inconclusive", 1.03, (0.99, 1.08), 0.95, 0.02, 10)
    assert _apply_instructions(inconclusive, {"ratio": 1.05})[:2] == ("faster", "instructions")
    assert _apply_instructions(inconclusive, {"ratio": 0.9})[:2] == ("inconclusive", "wall")
    assert _apply_instructions(inconclusive, {"ratio": 1.001})[:2] == ("inconclusive", "wall")
    faster = stats.Decision("faster", 1.3, (1.2, 1.4), 0.95, 0.02, 10)
    assert _apply_instructions(faster, None)[:2] == ("faster", "wall")


def test_three_x_slower_stops_early(tmp_path, target):
    base, slow = make(tmp_path, "a", 1), make(tmp_path, "slow", 3)
    lines = []
    res = benchmark(target, "fast", {"baseline": base, "candidate": slow}, "candidate",
                    max_blocks=10, progress=lines.append, process_s=0.03)
    r = res["baseline"]
    # A 3x effect: the verdict and the direction, never a threshold or a block count load can move.
    assert r.verdict == "slower" and r.speedup < 1
    assert r.blocks <= 10 and len(lines) == r.blocks + 1
    assert r.phases["hot"] < 1 and set(r.phases) == {"hot", "cold"}
    assert len(r.samples["a"]) == 2 * r.blocks and r.environment["python"]
    assert r.candidate["first_call_s"] > 0 and r.to_dict()["ci"][0] <= r.speedup


def test_same_directory_is_same(tmp_path, target):
    base = make(tmp_path, "a", 1)
    res = benchmark(target, "fast", {"baseline": base, "last": base, "candidate": base}, "candidate",
                    max_blocks=10, process_s=0.02)
    for r in res.values():
        assert r.verdict == "same" and r.speedup == 1.0


def test_failed_variant_is_an_error_not_a_speedup(tmp_path, target):
    base, broken = make(tmp_path, "a", 1), make(tmp_path, "broken", -1)
    with pytest.raises(WorkloadError, match="broken variant"):
        benchmark(target, "fast", {"baseline": base, "candidate": broken}, "candidate", max_blocks=3)
