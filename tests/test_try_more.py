"""`campaign try --more` (issue 21 item 8, issue 24): an inconclusive benchmark had two ways out, revert or
`--keep`. More blocks of the same attempt, on the same metric, pooled with the blocks already measured, decide
it before LOG. The benchmark's processes are scripted (``bench.run_workload`` replaced), so nothing here depends
on the machine's load: a candidate 4% faster with run noise that 4 blocks cannot resolve and 24 can.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from loop_fixtures import SIEVE, make_repo

from campaign.errors import RuleError, StepError
from campaign.loop.session import bench_budget, init_campaign
from campaign.loop.steps.more_blocks import MORE_LIMIT, extended_event, pooled_decision
from campaign.measure import bench, stats
from campaign.measure.workload import WorkloadRun


class Scripted:
    """A workload whose run time is scripted: the sieve (the candidate) 4% faster, each repeat noisy."""

    def __init__(self, seed: int = 2, noise: float = 0.03):
        self.rng, self.noise = random.Random(seed), noise

    def __call__(self, target, case, workdir, repeat=1, knobs=None, timeout_s=None, env=None, watch=None):
        cost = 0.0192 if "bytearray" in (Path(workdir) / "primes.py").read_text() else 0.02
        warm = [cost * (1 + self.rng.gauss(0, self.noise)) for _ in range(repeat)]
        return WorkloadRun(outputs={"count": 1754}, phases={"count": min(warm)}, warm_s=warm, first_call_s=None,
                           compile_s=None, wall_s=sum(warm) + 0.05, repeat=repeat, warm_cpu_s=list(warm),
                           warm_waits=[0] * repeat)


@pytest.fixture
def at_log(tmp_path, monkeypatch):
    """A campaign whose first attempt (the sieve) was benchmarked inconclusive on 4 scripted blocks."""
    for key, value in {"MAX_BLOCKS": "4", "MIN_BLOCKS": "4", "BUDGET_S": "1000", "PROCESS_S": "0.01"}.items():
        monkeypatch.setenv(f"CAMPAIGN_BENCH_{key}", value)
    monkeypatch.setenv("CAMPAIGN_BASELINE_REPEAT", "1")
    repo = make_repo(tmp_path / "repo")
    c = init_campaign(repo, "campaign.toml", goal_speedup=5)
    c.profile()
    c.think("trial division is the cost", ["a sieve"], "a sieve", 1.05, "none")
    c.plan("count", "sieve of Eratosthenes")
    (repo / "primes.py").write_text(SIEVE)
    monkeypatch.setattr(bench, "run_workload", Scripted())
    tried = c.try_change()
    assert tried["benchmark"]["verdict"] == "inconclusive" and tried["benchmark"]["blocks"] == 4, tried["benchmark"]
    return c


def test_more_blocks_pool_with_the_measured_ones_and_decide(at_log, monkeypatch):
    c = at_log
    monkeypatch.setenv("CAMPAIGN_BENCH_MAX_BLOCKS", "20")  # the cap of one extension: the settings' max_blocks
    before = c.state().current.benchmark
    more = c.try_more(blocks=20)
    after = c.state().current.benchmark
    assert more["more"] and after["blocks"] == 24 and len(after["samples"]["ratios"]) == 24
    assert after["samples"]["ratios"][:4] == before["samples"]["ratios"]  # the earlier blocks, pooled, not redone
    assert after["metric"] == before["metric"] and after["extended"]["metric"] == before["metric"]  # never mixed
    history = after["extended"]["history"]
    assert history == [{"blocks_before": 4, "blocks_added": 20, "new_blocks_alone": history[0]["new_blocks_alone"]}]
    assert after["verdict"] == "faster" and 1.0 < after["speedup"] < 1.1, after
    # the pooled verdict is one decision on all 24 blocks, at the level of a plan of 4 + max_blocks blocks
    again = stats.decide(after["samples"]["ratios"],
                         pairs=[tuple(p) for p in after["samples"]["pairs_a"] + after["samples"]["pairs_b"]],
                         min_blocks=4, max_blocks=24, min_effect=after["min_effect"],
                         alpha=bench_budget(c.workspace)["alpha"])
    assert again.verdict == after["verdict"] and again.speedup == pytest.approx(after["speedup"])
    assert after["vs_baseline"]["speedup"] == pytest.approx(after["speedup"])  # one tree: the roles share blocks
    logged = c.log(surprise="None")
    assert logged["kept"] is True  # decided faster: kept without --keep


def test_more_is_refused_when_decided_out_of_step_over_the_cap_or_too_many_blocks(at_log):
    c = at_log
    with pytest.raises(RuleError, match="one extension adds 1 to 4 blocks"):
        c.try_more(blocks=50)
    for _ in range(MORE_LIMIT):
        if c.state().current.benchmark["verdict"] != "inconclusive":
            break
        c.try_more(blocks=1)
    bench_now = c.state().current.benchmark
    with pytest.raises(RuleError, match="cap|decided"):
        c.try_more(blocks=1)
    assert c.state().current.benchmark == bench_now  # a refusal records nothing
    c.log(surprise="None")
    with pytest.raises(StepError, match="LOG is due"):
        c.try_more()


def test_extended_event_is_pure_pooling():
    rng = random.Random(3)

    def sample(n, ratio):
        rs = [ratio * (1 + rng.gauss(0, 0.02)) for _ in range(n)]
        pairs = [(1.0, 1 + rng.gauss(0, 0.02)) for _ in range(n)]
        return {"ratios": rs, "pairs_a": pairs, "pairs_b": pairs, "a": [], "b": [], "block_a": [], "block_b": []}

    old = {"blocks": 4, "metric": "cpu", "samples": sample(4, 1.03), "verdict": "inconclusive", "full": {"x": 1}}
    new = {"blocks": 12, "metric": "cpu", "samples": sample(12, 1.03), "verdict": "faster", "speedup": 1.03,
           "ci": [1.0, 1.06], "notes": []}
    budget = {"max_blocks": 12, "min_blocks": 4, "min_effect": 0.01, "alpha": 0.05}
    data = extended_event(old, new, budget)
    expected = pooled_decision(old["samples"], new["samples"], min_blocks=4, max_blocks=16, min_effect=0.01,
                               alpha=0.05)
    assert data["blocks"] == 16 and data["verdict"] == expected.verdict and data["full"] == {"x": 1}
    assert data["extended"]["history"][0]["new_blocks_alone"]["verdict"] == "faster"
