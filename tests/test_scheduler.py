"""One measurement engine (issue 25): the scheduler owns blocks, looks and stopping for BENCHMARK, tune and the tests.

Everything here runs on fake executors: no process is started, the times are given.
"""

from __future__ import annotations

import math
import random
from dataclasses import replace
from pathlib import Path

import pytest

from campaign.measure import bench, scheduler, stats
from campaign.measure.executor import Timing
from campaign.measure.scheduler import Plan, Scheduler
from campaign.measure.workload import WorkloadError, WorkloadRun
from campaign.tune import measurement
from campaign.tune.presets import PRESETS


class Table:
    """A fake executor: unit -> time per run, with seeded multiplicative noise; it remembers the order it ran in."""

    def __init__(self, times: dict[str, float], sigma: float = 0.0, seed: int = 0, fail_at: int | None = None):
        self.times, self.sigma, self.rng, self.fail_at = times, sigma, random.Random(seed), fail_at
        self.order: list[str] = []

    def run(self, unit: str, repeat: int) -> Timing:
        self.order.append(unit)
        if self.fail_at is not None and len(self.order) >= self.fail_at:
            raise WorkloadError("the run crashed", returncode=1)
        return Timing(self.times[unit] * math.exp(self.rng.gauss(0, self.sigma)))


def test_every_block_runs_each_unit_twice_in_a_mirrored_order():
    ex = Table({"a": 1.0, "b": 0.5}, sigma=0.01)
    sched = Scheduler(ex, ["a", "b"], {"a": ("a", "b")}, Plan(max_blocks=6)).run()
    blocks = [ex.order[i:i + 4] for i in range(0, len(ex.order), 4)]
    assert blocks and all(b in (["a", "b", "b", "a"], ["b", "a", "a", "b"]) for b in blocks)
    assert sched.stop_reason == scheduler.DECIDED and sched.decisions["a"].verdict == "faster"
    assert sched.blocks == 3 == len(blocks)  # a clear 2x decides at the first look


def test_a_repeat_cycle_gives_every_unit_of_a_block_the_same_count():
    # the clock guard's evidence (docs/integrity.md): counts alternate between blocks, never within one
    seen: list[tuple[str, int]] = []
    ex = Table({"a": 1.0, "b": 0.5}, sigma=0.01)
    real = ex.run
    ex.run = lambda unit, repeat: (seen.append((unit, repeat)), real(unit, repeat))[1]  # type: ignore[method-assign]
    Scheduler(ex, ["a", "b"], {"a": ("a", "b")}, Plan(max_blocks=6)).run(3, bench.repeat_cycle(3))
    assert [sorted({r for _, r in seen[i:i + 4]}) for i in range(0, len(seen), 4)] == [[4], [3], [4]]
    assert bench.repeat_cycle(2) == () and bench.repeat_cycle(4) == (5, 3) and bench.repeat_cycle(50) == (62, 38)


def test_a_run_that_fails_ends_the_loop_only_where_the_caller_asks():
    with pytest.raises(WorkloadError):
        Scheduler(Table({"a": 1.0, "b": 1.0}, fail_at=6), ["a", "b"], {"a": ("a", "b")}, Plan()).run()
    sched = Scheduler(Table({"a": 1.0, "b": 1.0}, fail_at=6), ["a", "b"], {"a": ("a", "b")}, Plan(),
                      catch=(WorkloadError,)).run()
    assert sched.stop_reason == scheduler.RUN_FAILED and isinstance(sched.error, WorkloadError)
    assert sched.blocks == 1  # the block the failure cut short is not counted


def test_a_callers_rule_stops_after_the_block_it_sees():
    seen = []

    def hook(s: Scheduler) -> str | None:
        seen.append(s.blocks)
        return "enough" if s.blocks == 4 else None

    plan = Plan.fixed_blocks(12, 3)
    sched = Scheduler(Table({"a": 1.0, "b": 1.0}, sigma=0.02), ["a", "b"], {"a": ("a", "b")}, plan,
                      after_block=hook).run()
    assert seen == [1, 2, 3, 4] and sched.stop_reason == "enough" and sched.blocks == 4


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_the_tune_presets_stop_on_slower_only_at_planned_looks(preset, monkeypatch):
    """Whatever block the data turns `slower` at, a configuration stops at the first planned look from there."""
    p = PRESETS[preset]
    schedule = stats.look_schedule(p.blocks, p.min_blocks)
    real = stats.decide
    for turns in range(1, p.blocks + 1):
        calls: list[tuple[int, bool]] = []

        def decide(ratios, *args, at_look=True, _turns=turns, _calls=calls, **kwargs):
            _calls.append((len(ratios), at_look))
            d = real(ratios, *args, at_look=at_look, **kwargs)
            return replace(d, verdict="slower") if len(ratios) >= _turns and at_look else d

        monkeypatch.setattr(stats, "decide", decide)
        monkeypatch.setattr(measurement, "_run_once", lambda target, proto, knobs: (0.01, {}))
        proto = measurement.Protocol(spec="x", target="x", workspace="/x", case="full", warm_repeats=1,
                                     blocks=p.blocks, min_blocks=p.min_blocks, timeout_s=10.0, default={"k": 1},
                                     fixed={}, code="c", machine="m", storage="s")
        result = measurement.measure_config(object(), proto, {"k": 2}, _NoStore(), measurement.Counters(), None)
        first_look = min(k for k in schedule if k >= max(turns, p.min_blocks))
        assert result["blocks"] == first_look, (preset, turns)
        assert result["stopped"] == ("clearly slower than the default" if first_look < p.blocks else None)
        assert result["verdict"] == "slower"
        assert calls and all(at_look == (n in schedule) for n, at_look in calls)


class _NoStore:
    def get(self, key):
        return None

    def put(self, key, **kw):
        pass


def test_benchmark_tune_and_the_tests_share_one_scheduler(monkeypatch, tmp_path):
    used: list[tuple[str, Plan]] = []
    real_run = Scheduler.run

    def spy(self, repeat=1, cycle=(), hold_cycle=()):
        used.append((type(self.executor).__name__, self.plan))
        return real_run(self, repeat, cycle, hold_cycle)

    monkeypatch.setattr(scheduler.Scheduler, "run", spy)

    def run_workload(target, case, workdir, repeat=1, **kw):
        t = {"ref": 0.02, "cand": 0.01}[Path(workdir).name]
        return WorkloadRun(outputs={}, phases={}, warm_s=[t] * repeat, first_call_s=None, compile_s=None,
                           wall_s=t * repeat, repeat=repeat)

    monkeypatch.setattr(bench, "run_workload", run_workload)
    r = bench.benchmark(object(), "fast", {"last": tmp_path / "ref", "cand": tmp_path / "cand"}, "cand",
                        keys={"last": "a", "cand": "b"}, budget_s=1e9)["last"]
    assert r.verdict == "faster" and r.blocks == 3

    monkeypatch.setattr(measurement, "_run_once", lambda target, proto, knobs: (0.01 * knobs["k"], {}))
    p = PRESETS["thorough"]
    proto = measurement.Protocol(spec="x", target="x", workspace="/x", case="full", warm_repeats=1, blocks=p.blocks,
                                 min_blocks=p.min_blocks, timeout_s=10.0, default={"k": 2}, fixed={}, code="c",
                                 machine="m", storage="s")
    t = measurement.measure_config(object(), proto, {"k": 1}, _NoStore(), measurement.Counters(), None)
    assert t["verdict"] == "faster" and t["blocks"] == p.blocks  # tune measures every block of its preset

    import test_stats

    assert test_stats.sequential(1.0, 0.01, 0)[0] == "same"
    assert [name for name, _ in used] == ["WorkloadExecutor", "_ConfigExecutor", "SimulatedBlocks"]
    bench_plan, tune_plan, test_plan = (plan for _, plan in used)
    assert bench_plan.stop_when_decided and not tune_plan.stop_when_decided and test_plan.stop_when_decided
    assert tune_plan == Plan.fixed_blocks(p.blocks, p.min_blocks)


def test_tune_tells_a_timeout_and_a_kill_from_outside_by_the_errors_fields_not_its_words(monkeypatch):
    """A timeout is `timeout`; a run killed by a signal from outside is `failed` and not cached; neither is read
    from the message (issue 25: no branching on message text)."""
    puts = []

    class Store(_NoStore):
        def put(self, key, **kw):
            puts.append(kw["result"]["status"])

    def measure(exc):
        def run_once(target, proto, knobs):
            if knobs["k"] == 2:
                raise exc
            return 0.01, {}

        monkeypatch.setattr(measurement, "_run_once", run_once)
        proto = measurement.Protocol(spec="x", target="x", workspace="/x", case="full", warm_repeats=1, blocks=5,
                                     min_blocks=2, timeout_s=10.0, default={"k": 1}, fixed={}, code="c", machine="m",
                                     storage="s")
        return measurement.measure_config(object(), proto, {"k": 2}, Store(), measurement.Counters(), None)

    assert measure(WorkloadError("it stopped", timed_out=True))["status"] == "timeout"
    assert measure(WorkloadError("the run timed out after 3 s, said the workload", returncode=1))["status"] == "failed"
    killed = measure(WorkloadError("it went away", returncode=-9))
    assert killed["status"] == "failed" and puts == ["timeout", "failed"]  # the killed run is not cached
