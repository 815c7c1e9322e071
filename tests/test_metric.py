"""Time that load cannot inflate (issue 24): CPU time decides where the runs show it may, wall time elsewhere.

The benchmark's process runner is replaced by a fake (``run_workload``), so the loop is tested on scripted
times: a busy machine is wall times inflated by random waits for a core, which CPU time does not contain.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from campaign.measure import bench
from campaign.measure.metric import choose, contradiction
from campaign.measure.workload import WorkloadRun


class FakeMachine:
    """Scripted runs: each variant has a true CPU cost per repeat; a busy machine adds waits to the wall."""

    def __init__(self, cost: dict[str, float], *, load_wait: float = 0.0, threads: float = 1.0,
                 sleep: float = 0.0, cpu_noise: float = 0.004, seed: int = 1, cpu_cut: dict | None = None,
                 count_waits: bool = True):
        self.cost, self.load_wait, self.threads, self.sleep = cost, load_wait, threads, sleep
        self.count_waits = count_waits
        self.cpu_noise, self.cpu_cut = cpu_noise, cpu_cut or {}
        self.rng = random.Random(seed)
        self.runs = 0

    def __call__(self, target, case, workdir, repeat=1, knobs=None, timeout_s=None, env=None, watch=None) -> WorkloadRun:
        self.runs += 1
        name = Path(workdir).name
        warm, cpu, waits = [], [], []
        for _ in range(repeat):
            work = self.cost[name] * (1 + self.rng.gauss(0, self.cpu_noise))
            wait = self.cost[name] * self.load_wait * self.rng.expovariate(1.0)  # queueing for a core
            warm.append(work / self.threads + wait + self.sleep)
            cpu.append(work * self.cpu_cut.get(name, 1.0))
            # a sleep, or waiting for the helper a cut moved the work to, gives up the CPU: a voluntary switch
            waits.append(int(self.sleep > 0 or name in self.cpu_cut))
        return WorkloadRun(outputs={}, phases={}, warm_s=warm, first_call_s=None, compile_s=None,
                           wall_s=sum(warm) + 0.05, repeat=repeat, warm_cpu_s=cpu,
                           warm_waits=waits if self.count_waits else [])


def _bench(monkeypatch, machine: FakeMachine, tmp_path, metric="auto", budget_s=1e9, max_blocks=60):
    monkeypatch.setattr(bench, "run_workload", machine)
    monkeypatch.setattr(bench, "collect_environment", lambda: {}, raising=False)
    variants = {"last": tmp_path / "last", "cand": tmp_path / "cand"}
    keys = {"last": "a", "cand": "b"}
    return bench.benchmark(object(), "fast", variants, "cand", keys=keys, metric=metric, budget_s=budget_s,
                           max_blocks=max_blocks)["last"]


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch):
    import campaign.measure.environment as environment

    monkeypatch.setattr(environment, "collect_environment", lambda: {"load_avg": [5.0, 5.0, 5.0]})


def test_identical_code_on_a_busy_machine_is_called_same_on_cpu_time(monkeypatch, tmp_path):
    # load 19 on 2 cores: every repeat waits ten times its own work for a core (seen in a demo beside 6 test runs)
    loaded = FakeMachine({"last": 0.02, "cand": 0.02}, load_wait=10.0, seed=3)
    r = _bench(monkeypatch, loaded, tmp_path)
    assert r.metric == "cpu" and r.verdict == "same"
    assert r.metric_choice["metric"] == "cpu" and "CPU-bound" in r.metric_choice["reason"]
    assert r.other_metric["metric"] == "wall" and r.other_metric["verdict"] != "same"  # wall alone could not tell


def test_the_same_run_pinned_to_wall_time_cannot_decide(monkeypatch, tmp_path):
    loaded = FakeMachine({"last": 0.02, "cand": 0.02}, load_wait=1.5, seed=3)
    r = _bench(monkeypatch, loaded, tmp_path, metric="wall", max_blocks=12)
    assert r.metric == "wall" and r.metric_choice["reason"] == "pinned by the user"
    assert r.verdict == "inconclusive"


def test_a_five_percent_slowdown_is_found_under_load(monkeypatch, tmp_path):
    r = _bench(monkeypatch, FakeMachine({"last": 0.02, "cand": 0.021}, load_wait=1.5, seed=5), tmp_path)
    assert r.metric == "cpu" and r.verdict == "slower" and r.ci[1] < 1


def test_parallel_code_is_decided_on_wall_time(monkeypatch, tmp_path):
    r = _bench(monkeypatch, FakeMachine({"last": 0.02, "cand": 0.01}, threads=4.0, seed=2), tmp_path)
    assert r.metric == "wall" and "parallel" in r.metric_choice["reason"]
    assert r.verdict == "faster"


def test_code_that_waits_is_decided_on_wall_time(monkeypatch, tmp_path):
    # a sleep the candidate adds costs no CPU: CPU time would call it free
    machine = FakeMachine({"last": 0.002, "cand": 0.002}, sleep=0.02, seed=4)
    r = _bench(monkeypatch, machine, tmp_path)
    assert r.metric == "wall" and "waits" in r.metric_choice["reason"]


def test_work_moved_out_of_the_process_is_judged_on_the_wall(monkeypatch, tmp_path):
    # the candidate hands its work to a helper and waits: its CPU time drops 10x, its wall time stays
    machine = FakeMachine({"last": 0.02, "cand": 0.02}, seed=6, cpu_cut={"cand": 0.1})
    r = _bench(monkeypatch, machine, tmp_path)
    assert r.metric == "wall" and "waits" in r.metric_choice["reason"] and r.verdict == "same"


def test_without_switch_counts_the_share_of_cpu_time_tells_waiting_code(monkeypatch, tmp_path):
    machine = FakeMachine({"last": 0.002, "cand": 0.002}, sleep=0.02, seed=4, count_waits=False)
    r = _bench(monkeypatch, machine, tmp_path)
    assert r.metric == "wall" and "at best" in r.metric_choice["reason"]


def test_cpu_time_that_falls_while_the_wall_does_not_is_withheld(monkeypatch, tmp_path):
    # a quarter of the work moved out, and the waiting not counted: CPU time is chosen - and contradicted
    machine = FakeMachine({"last": 0.02, "cand": 0.02}, seed=6, cpu_cut={"cand": 0.75}, count_waits=False)
    r = _bench(monkeypatch, machine, tmp_path)
    assert r.metric == "cpu" and r.other_metric["metric"] == "wall"  # the scripted machine: no real clock
    assert r.verdict == "inconclusive"
    assert any("wall time did not follow" in n for n in r.notes)


def test_runs_without_cpu_time_are_decided_on_wall_time(monkeypatch, tmp_path):
    class NoCpu(FakeMachine):
        def __call__(self, *a, **k):
            run = super().__call__(*a, **k)
            run.warm_cpu_s = []
            return run

    r = _bench(monkeypatch, NoCpu({"last": 0.02, "cand": 0.01}, seed=7), tmp_path)
    assert r.metric == "wall" and "do not report CPU time" in r.metric_choice["reason"]
    assert r.verdict == "faster" and r.other_metric is None


def test_the_choice_rule_reads_the_evidence():
    single = {"a": [([0.02, 0.021], [0.0199, 0.0199])], "b": [([0.05, 0.0201], [0.02, 0.02])]}  # one repeat waited for a core, one did not
    queued = {"a": [([0.2, 0.21], [0.02, 0.02], [0, 0])], "b": [([0.3, 0.25], [0.02, 0.02], [0, 0])]}
    assert choose(queued, {"wall": 0.01, "cpu": 0.002}).metric == "cpu"  # load: waits for a core, none of its own
    sleeping = {"a": [([0.2, 0.21], [0.02, 0.02], [1, 1])], "b": [([0.2, 0.2], [0.02, 0.02], [1, 0])]}
    assert "gave up the CPU" in choose(sleeping, {"wall": 0.01, "cpu": 0.002}).reason
    assert choose(single, {"wall": 0.01, "cpu": 0.002}).metric == "cpu"
    assert choose(single, {"wall": 0.001, "cpu": 0.0021}).metric == "wall"  # CPU clearly noisier on identical code
    # six A/A pairs each: CPU's spread above wall's by chance (a quarter of first looks beside burners) is not
    # enough to decide a CPU-bound, single-threaded run on the clock that load stretches
    assert choose(single, {"wall": 0.03, "cpu": 0.045}).metric == "cpu"
    assert choose(single, {"wall": 0.01, "cpu": 0.002}, "wall").metric == "wall"
    assert choose(single, {"wall": 0.01, "cpu": None}, "cpu").metric == "wall"
    with pytest.raises(ValueError):
        choose(single, {"wall": 0.01, "cpu": 0.002}, "instructions")


def test_contradictions_only_concern_cpu_decisions():
    assert contradiction("wall", 10.0, (9.0, 11.0), "same", (0.9, 1.1)) is None
    assert "did not follow" in contradiction("cpu", 10.0, (9.0, 11.0), "inconclusive", (0.8, 1.3))
    assert "wall time says slower" in contradiction("cpu", 1.2, (1.1, 1.3), "slower", (0.8, 0.95))
    assert contradiction("cpu", 1.2, (1.1, 1.3), "inconclusive", (0.8, 1.6)) is None


class ClockedMachine(FakeMachine):
    """A FakeMachine whose runs advance a fake clock by their wall time, so the budget is spent in fake seconds."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now

    def __call__(self, *args, **kwargs):
        run = super().__call__(*args, **kwargs)
        self.now += run.wall_s
        return run


def _clocked(monkeypatch, machine: ClockedMachine, tmp_path, **kw):
    import types

    monkeypatch.setattr(bench, "time", types.SimpleNamespace(perf_counter=machine.perf_counter))
    monkeypatch.setattr(bench, "run_workload", machine)
    variants = {"last": tmp_path / "last", "cand": tmp_path / "cand"}
    return bench.benchmark(object(), "fast", variants, "cand", keys={"last": "a", "cand": "b"}, metric="wall",
                           **kw)["last"]


def test_a_promising_undecided_candidate_gets_the_extension_instead_of_a_revert(monkeypatch, tmp_path):
    # a real 6% win on a noisy wall clock: the budget alone ends undecided, the extension decides it
    def machine():
        return ClockedMachine({"last": 0.0212, "cand": 0.02}, cpu_noise=0.06, seed=11)

    short = _clocked(monkeypatch, machine(), tmp_path, budget_s=3.0, extend_s=0.0)
    # without an extension it ends undecided: at the budget, or sooner where its estimate dipped inside the
    # margin and neither `same` nor the largest effect its blocks allow could be decided in the time left
    assert short.verdict == "inconclusive" and (short.stop_reason == "budget" or short.stop_reason.startswith("futile"))
    longer = _clocked(monkeypatch, machine(), tmp_path, budget_s=3.0, extend_s=30.0)
    assert longer.verdict == "faster" and longer.blocks > short.blocks


def test_an_a_a_that_cannot_reach_same_in_time_stops_early_and_says_what_it_would_take(monkeypatch, tmp_path):
    def machine():
        return ClockedMachine({"last": 0.02, "cand": 0.02}, cpu_noise=0.08, seed=13)

    r = _clocked(monkeypatch, machine(), tmp_path, budget_s=6.0, extend_s=0.0)
    assert r.verdict == "inconclusive" and r.stop_reason.startswith("futile")
    assert "would need" in r.stop_reason and "budget_s of" in r.stop_reason
    roomy = _clocked(monkeypatch, machine(), tmp_path, budget_s=600.0, extend_s=0.0)
    assert roomy.verdict == "same"  # the budget it named would have done it


def test_a_small_real_effect_is_not_cut_short_by_futility(monkeypatch, tmp_path):
    r = _clocked(monkeypatch, ClockedMachine({"last": 0.0206, "cand": 0.02}, cpu_noise=0.004, seed=13), tmp_path,
                 budget_s=600.0, extend_s=0.0)
    assert not r.stop_reason.startswith("futile") and r.verdict == "faster"
