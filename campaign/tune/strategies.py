"""Which configurations a tune measures, and in what order.

``grid`` (every combination), ``quick`` (each knob changed alone from the
default, then the combination of the best values), ``smart`` (Optuna, a
seeded TPE sampler, warm-started from earlier results for the same target
and machine, with a pruner that stops a configuration once its blocks are
clearly worse than the best so far).
"""

from __future__ import annotations

import itertools

from campaign.tune import store as tune_store
from campaign.tune.errors import TuneError, first_line
from campaign.tune.hint import predicted
from campaign.tune.measurement import Protocol
from campaign.tune.runner import Runner
from campaign.tune.space import label, space_size
from campaign.tune.study import WORKER, make_pruner, optuna_storage, study_name, study_summary, wait_for_older_twin


STRATEGIES = ("grid", "quick", "smart")


def _order(configs: list[dict], runner: Runner, hint: dict | None) -> list[dict]:
    """Best predicted first (stable: the declared order when there is no prediction)."""
    if not hint:
        return configs
    return sorted(configs, key=lambda c: -(predicted(hint, runner.full(c)) or 0.0))


def grid(space, default, runner: Runner, hint):
    names = list(space)
    configs = [dict(zip(names, combo)) for combo in itertools.product(*(space[n] for n in names))]
    configs = [c for c in configs if c != default]
    runner.run_many(_order(configs, runner, hint))


def _beats(res: dict) -> bool:
    return res.get("status") == "ok" and res.get("verdict") == "faster"


def quick(space, default, runner: Runner, hint):
    singles = []
    for name, values in space.items():
        for v in values:
            if v != default[name]:
                singles.append({**default, name: v})
    results = runner.run_many(_order(singles, runner, hint))
    best = dict(default)
    for name in space:
        mine = [r for r in results if r["searched"][name] != default[name]
                and all(r["searched"][k] == default[k] for k in space if k != name)]
        good = [r for r in mine if _beats(r)]
        if good:
            best[name] = max(good, key=lambda r: r["speedup"])["searched"][name]
    if best != default:
        runner.run_many([best])


def _open_study(space, proto: Protocol, budget: int):
    """The shared Optuna study of this search (created or joined), with its TPE sampler."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        study = optuna.create_study(study_name=study_name(proto, space), storage=optuna_storage(proto.storage),
                                    pruner=make_pruner(), direction="maximize", load_if_exists=True)
        joined = len(study.trials)
    except Exception as exc:  # noqa: BLE001 - storage problems are user errors
        raise TuneError(f"cannot open the Optuna study in {tune_store.redact(proto.storage)!r}: "
                        f"{first_line(exc)}") from None
    # A worker joining a study others have filled draws its own start-up samples (seed offset by what it found),
    # and the constant liar keeps TPE off configurations another worker is measuring now.
    study.sampler = optuna.samplers.TPESampler(seed=proto.seed + joined, n_startup_trials=min(4, budget),
                                               constant_liar=True)
    return study


def _warm_start(space, default, runner: Runner, hint, store, proto: Protocol) -> list[dict]:
    """The best configurations measured before for this target on this machine, then the analytically best one."""
    def in_space(cfg: dict) -> bool:
        return all(k in cfg and cfg[k] in space[k] for k in space)

    seen = set()
    warm = []
    for past in sorted(store.past_results(proto.target, proto.machine), key=lambda r: -(r.get("speedup") or 0)):
        if past.get("status") != "ok" or not isinstance(past.get("knobs"), dict):
            continue
        cfg = {k: past["knobs"].get(k) for k in space}
        key = tune_store.knobs_json(cfg)
        if in_space(cfg) and cfg != default and key not in seen:
            seen.add(key)
            warm.append(cfg)
    if hint:
        names = list(space)
        combos = [dict(zip(names, c)) for c in itertools.product(*(space[n] for n in names))]
        best = _order([c for c in combos if c != default], runner, hint)
        if best and tune_store.knobs_json(best[0]) not in seen:
            warm.append(best[0])
    return warm


def _drop_default(study, trials: list, default: dict) -> tuple[list, list[dict]]:
    """The default is known (1.0x): told at once, not measured again."""
    configs = [dict(t.params) for t in trials]
    for t, c in zip(trials, configs):
        if c == default:
            study.tell(t, 1.0)
    keep = [(t, c) for t, c in zip(trials, configs) if c != default]
    return [t for t, _ in keep], [c for _, c in keep]


def _tell(study, trials: list, results: list[dict]) -> None:
    import optuna

    for t, res in zip(trials, results):
        if study._storage.get_trial(t._trial_id).state.is_finished():
            continue
        if res["status"] == "pruned":
            study.tell(t, state=optuna.trial.TrialState.PRUNED)
        elif res["status"] == "ok" and res.get("speedup") is not None:
            study.tell(t, float(res["speedup"]))
        else:
            study.tell(t, state=optuna.trial.TrialState.FAIL)


def _wait_for_twins(study, runner: Runner, proto: Protocol, trials: list, configs: list[dict]) -> None:
    """A configuration another worker is measuring right now: wait, then take its result from the shared cache."""
    limit_s = proto.timeout_s * (proto.blocks * 4 + 1)
    for tr, cfg in zip(trials, configs):
        def say(other: str, cfg: dict = cfg) -> None:
            runner.counters.doing(f"{label(cfg)}: being measured by worker {other}; waiting for its result")

        wait_for_older_twin(study, tr, limit_s, say)


def smart(space, default, runner: Runner, hint, store, proto: Protocol, budget: int):
    import optuna
    from optuna.distributions import BaseDistribution, CategoricalDistribution

    dists: dict[str, BaseDistribution] = {k: CategoricalDistribution(list(v)) for k, v in space.items()}
    study = _open_study(space, proto, budget)
    if all(default[k] in space[k] for k in space) and not study.trials:
        study.add_trial(optuna.trial.create_trial(params=dict(default), distributions=dists, value=1.0))
    for cfg in _warm_start(space, default, runner, hint, store, proto)[:3]:
        study.enqueue_trial(cfg, skip_if_exists=True)

    target_n = min(budget, space_size(space) - 1)
    asks = 0
    while len(runner.results) < target_n and asks < 4 * budget:
        n = min(runner.concurrency, target_n - len(runner.results))
        trials = [study.ask(dists) for _ in range(n)]
        for t in trials:
            t.set_user_attr("worker", WORKER)
        asks += n
        trials, configs = _drop_default(study, trials, default)
        if not trials:
            continue
        _wait_for_twins(study, runner, proto, trials, configs)
        _tell(study, trials, runner.run_many(configs, trials))
    return study_summary(study)
