"""The analytical parallel-map model: pure functions, plus one quick dry run."""

from __future__ import annotations

import time

import pytest

from campaign.tune import parallel_model as pm


def costs(**kw):
    base = dict(n_items=1000, item_s=1e-3, cpu_fraction=1.0, pickle_s=0.0, worker_start_s=0.0,
                chunk_overhead_s=0.0, serial_s=0.0, cores=4)
    base.update(kw)
    return pm.ParallelCosts(**base)


def test_amdahl_law():
    assert pm.amdahl_speedup(1.0, 4) == pytest.approx(4.0)
    assert pm.amdahl_speedup(0.0, 64) == pytest.approx(1.0)
    assert pm.amdahl_speedup(0.5, 1e12) == pytest.approx(2.0)
    assert pm.amdahl_speedup(0.9, 10) == pytest.approx(1 / (0.1 + 0.09))


def test_free_overheads_give_amdahl_and_cores_cap_cpu_bound_work():
    c = costs(serial_s=1.0)  # 1 s serial + 1 s parallel
    assert pm.parallel_fraction(c) == pytest.approx(0.5)
    assert pm.predict_speedup(c, 2, chunksize=1) == pytest.approx(pm.amdahl_speedup(0.5, 2))
    cpu = costs()
    assert pm.predict_speedup(cpu, 4, 1) == pytest.approx(4.0)
    assert pm.predict_speedup(cpu, 16, 1) == pytest.approx(4.0)  # only 4 cores
    sleepy = costs(cpu_fraction=0.01)
    assert pm.predict_speedup(sleepy, 16, 1) == pytest.approx(16.0)  # waiting items are not capped by cores


def test_overheads_make_serial_win_for_tiny_items():
    tiny = costs(n_items=200, item_s=1e-6, worker_start_s=0.02, chunk_overhead_s=1e-4, pickle_s=2e-6)
    assert pm.predict_speedup(tiny, 2) < 0.1
    assert pm.predict_time(tiny, 1) == pytest.approx(200e-6)


def test_chunk_size_trades_overhead_against_balance():
    c = costs(n_items=100, item_s=1e-3, chunk_overhead_s=5e-4, cores=8)
    t1 = pm.predict_time(c, 4, chunksize=1)  # 100 dispatches
    t25 = pm.predict_time(c, 4, chunksize=25)  # 4 dispatches, balanced
    t100 = pm.predict_time(c, 4, chunksize=100)  # one chunk: no parallelism at all
    assert t25 < t1 and t25 < t100
    assert t100 >= pm.predict_time(c, 1)


def test_default_chunksize_matches_multiprocessing():
    for n, w in ((1000, 4), (7, 2), (1, 8), (33, 3)):
        expected, extra = divmod(n, w * 4)
        assert pm.default_chunksize(n, w) == max(1, expected + (1 if extra else 0))


def test_knob_roles_and_prediction_per_configuration():
    assert pm.knob_roles(["chunksize", "n_jobs", "mode"]) == ("n_jobs", "chunksize")
    assert pm.knob_roles(["mode"]) == (None, None)
    c = costs()
    assert pm.predict_for_knobs(c, {"workers": 2}) == pytest.approx(2.0, rel=1e-6)
    assert pm.predict_for_knobs(c, {"mode": "x"}) is None
    assert pm.predict_for_knobs(c, {"workers": "many"}) is None


def test_costs_round_trip():
    c = costs(serial_s=0.25)
    assert pm.ParallelCosts.from_dict(dict(c.to_dict(), unknown=1)) == c
    assert c.with_serial(-1).serial_s == 0.0


def _sleepy(x):
    time.sleep(0.002)
    return x


def test_dry_run_measures_item_time_and_pool_costs():
    c = pm.dry_run(_sleepy, list(range(50)), executor="thread", sample=4, rounds=5, cores=2)
    assert c.n_items == 50 and c.cores == 2 and c.executor == "thread"
    assert c.item_s > 0.0015  # a sleep is never shorter; load only lengthens it
    assert c.cpu_fraction < 0.5  # sleeping is not computing
    assert c.pickle_s == 0.0  # threads do not pickle
    assert c.worker_start_s >= 0 and c.chunk_overhead_s >= 0
    assert pm.predict_speedup(c.with_serial(0.0), 4) > 2
