"""The smart strategy's pruning, end to end but without a clock: Runner -> measure_config -> Optuna's pruner.

Replaces a check of tests/test_tune.py that ran only when the load happened to order the configurations
the right way (issue 22 item 7). The runs' times are given, so the ratios per block are exact.
"""

from __future__ import annotations

import optuna
from optuna.distributions import CategoricalDistribution

from campaign.tune import measurement
from campaign.tune import store as tune_store
from campaign.tune.measurement import Counters, Protocol
from campaign.tune.runner import Runner
from campaign.tune.study import make_pruner

DISTS = {"workers": CategoricalDistribution([1, 2, 8])}
TIMES = {1: 0.8, 2: 0.4, 8: 0.1}  # seconds per run: workers=2 is 2x the default, workers=8 is 8x


def _tune(tmp_path, monkeypatch, best_so_far: float | None) -> dict:
    runs = []

    def run_once(target, proto, knobs):
        runs.append(knobs["workers"])
        return TIMES[knobs["workers"]], {"total": 1}

    monkeypatch.setattr(measurement, "_run_once", run_once)
    proto = Protocol(spec="x:Y", target="y", workspace=str(tmp_path), case="fast", warm_repeats=1, blocks=5,
                     min_blocks=2, timeout_s=60.0, default={"workers": 1}, fixed={}, code="c", machine="m",
                     storage=f"sqlite:///{tmp_path / 'tune.sqlite'}")
    study = optuna.create_study(pruner=make_pruner(), direction="maximize")
    study.add_trial(optuna.trial.create_trial(params={"workers": 1}, distributions=DISTS, value=1.0))
    if best_so_far is not None:  # workers=8 measured first
        study.add_trial(optuna.trial.create_trial(params={"workers": 8}, distributions=DISTS, value=best_so_far))
    study.enqueue_trial({"workers": 2})
    trial = study.ask(DISTS)
    store = tune_store.TuneStore(proto.storage)
    try:
        with Runner(None, proto, store, Counters(), {"total": 1}, "thread", 1, lambda line: None) as runner:
            [result] = runner.run_many([{"workers": 2}], [trial])
    finally:
        store.close()
    return {**result, "runs": runs}


def test_a_configuration_clearly_worse_than_the_best_so_far_is_pruned(tmp_path, monkeypatch):
    result = _tune(tmp_path, monkeypatch, best_so_far=8.0)
    assert result["status"] == "pruned" and result["stopped"] == "clearly worse than the best configuration so far"
    assert result["blocks"] == 2  # the pruner's min_steps: two blocks, then it stops
    assert result["ratios"] == [2.0, 2.0] and len(result["runs"]) == 8  # 2 blocks x (DCCD or CDDC)


def test_the_same_configuration_runs_all_its_blocks_when_it_is_the_best_so_far(tmp_path, monkeypatch):
    result = _tune(tmp_path, monkeypatch, best_so_far=None)
    assert result["status"] == "ok" and result["stopped"] is None
    assert result["blocks"] == 5 and result["speedup"] == 2.0
