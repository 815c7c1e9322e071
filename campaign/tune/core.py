"""The knob tuner: which values of a target's knobs make its workload fastest.

A target declares ``knobs`` (name -> candidate values; the FIRST value is
the default, e.g. ``n_jobs=[1, 2, 4]``). ``tune`` measures the default
configuration first, then searches the space, and recommends the default
unless some configuration beats it beyond the noise.

Measurement (the same discipline as BENCHMARK, ``campaign.measure.bench``): every
configuration runs in fresh processes (``run_workload``), interleaved with
the default configuration in mirrored blocks (default, candidate, candidate,
default or its mirror, drawn at random), each run timed by its fastest warm
repeat, and its speedup is the median of the per-block paired ratios with
the interval and verdict of ``campaign.measure.stats.decide``.
A configuration that is clearly slower than the default stops early, one
that crashes is recorded as ``failed``, one past ``timeout_s`` is killed with
its whole process tree and recorded as ``timeout``; the search goes on.

Strategies: ``grid`` (every combination), ``quick`` (each knob changed alone
from the default, then the combination of the best values), ``smart``
(Optuna, a seeded TPE sampler, warm-started from earlier results for the same
target and machine, with a pruner that stops a configuration once its blocks
are clearly worse than the best so far).

Results are cached in ``campaign.tune.store`` keyed by target, measurement
protocol, knob values, code version and machine: a repeated tune re-measures
only what changed. ``campaign.tune.parallel_model`` supplies an analytical
prediction for worker/chunk knobs, shown beside each measured speedup and
used to order the search.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import resource
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Any, Callable

from campaign.tune import parallel_model

from campaign.measure import stats

from campaign.tune import store as tune_store
from campaign.measure.bench import block_order

try:  # the loop's error base class, when present
    from campaign.errors import UserError as _Base
except ImportError:  # pragma: no cover
    _Base = Exception

STRATEGIES = ("grid", "quick", "smart")
ESTIMATOR = "min"  # a run's time: its fastest warm repeat, as BENCHMARK measures (campaign.measure.bench)
EXECUTORS = ("process", "thread")
SUBSAMPLE_KNOB = "subsample"


class TuneError(_Base):
    """A tuning request that cannot run (bad knob, bad storage, broken default): one paragraph."""

    exit_code = 1

    def __init__(self, message: str, data: dict | None = None):
        Exception.__init__(self, message)
        self.message = message
        self.data = data or {}


@dataclass(frozen=True)
class Preset:
    """How much data and how many repeats a tune spends per configuration."""

    name: str
    case: str  # "fast" -> the target's fast case, "full" -> its full-scale case
    subsample: str  # which declared `subsample` value to pass: "min", "median" or "max"
    warm_repeats: int  # warm runs inside each fresh process (median of them = the run's time)
    blocks: int  # mirrored blocks (4 fresh processes each) per configuration
    smart_trials: int  # configurations the smart strategy may measure
    process_s: float  # raise warm repeats until one process measures this much warm work (default config)...
    max_repeats: int  # ...but never more repeats than this
    min_blocks: int = 3


PRESETS = {
    "fast": Preset("fast", "fast", "min", warm_repeats=1, blocks=3, smart_trials=8, process_s=0.05, max_repeats=10),
    "balanced": Preset("balanced", "fast", "median", warm_repeats=2, blocks=8, smart_trials=16, process_s=0.1,
                       max_repeats=50),
    "thorough": Preset("thorough", "full", "max", warm_repeats=3, blocks=12, smart_trials=32, process_s=0.2,
                       max_repeats=50),
}


# --------------------------------------------------------------------------- input


def parse_value(text: str) -> Any:
    """A knob value from the command line: int, float, bool, none, else the string."""
    t = text.strip()
    low = t.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    for conv in (int, float):
        try:
            return conv(t)
        except ValueError:
            pass
    return t


def parse_knob(text: str) -> tuple[str, list[Any]]:
    """``NAME=V1,V2,...`` -> (name, values). Raises TuneError when malformed or empty."""
    if "=" not in text:
        raise TuneError(
            f"malformed --knob {text!r}: write NAME=V1,V2,... (for example --knob n_jobs=1,2,4)."
        )
    name, _, rest = text.partition("=")
    name = name.strip()
    if not name or not name.replace("_", "").isalnum():
        raise TuneError(f"malformed --knob {text!r}: the knob name must be a word, as in --knob n_jobs=1,2,4.")
    parts = [p for p in (s.strip() for s in rest.split(",")) if p]
    if not parts:
        raise TuneError(f"--knob {name}= has an empty value list: give at least one value, as in --knob {name}=1,2,4.")
    values: list[Any] = []
    for p in parts:
        v = parse_value(p)
        if v not in values:
            values.append(v)
    return name, values


def build_space(target, knob_args: list[str] | dict[str, list[Any]] | None) -> dict[str, list[Any]]:
    """The search space: the --knob arguments checked against the target's declared knobs.

    Without arguments, every declared knob with its declared values.
    """
    declared = dict(getattr(target, "knobs", {}) or {})
    label = target.name or target.spec
    if not declared:
        raise TuneError(f"target {label!r} declares no knobs, so there is nothing to tune (set `knobs` on the target).")
    if not knob_args:
        return {k: list(v) for k, v in declared.items() if k != SUBSAMPLE_KNOB}
    pairs = list(knob_args.items()) if isinstance(knob_args, dict) else [parse_knob(a) for a in knob_args]
    space: dict[str, list[Any]] = {}
    for name, values in pairs:
        if name not in declared:
            raise TuneError(
                f"unknown knob {name!r}: target {label!r} declares {', '.join(sorted(declared))}. "
                f"Tune only knobs the target reads (see `campaign targets`)."
            )
        if not values:
            raise TuneError(f"knob {name!r} has an empty value list.")
        if name in space:
            raise TuneError(f"knob {name!r} is given twice; put all its values in one --knob {name}=V1,V2,...")
        space[name] = list(values)
    return space


def default_knobs(target, space: dict[str, list[Any]]) -> dict[str, Any]:
    """The default configuration: each searched knob's first declared value (e.g. n_jobs=1)."""
    declared = getattr(target, "knobs", {}) or {}
    return {k: (declared[k][0] if declared.get(k) else space[k][0]) for k in space}


def fixed_knobs(target, space: dict[str, list[Any]], preset: Preset) -> dict[str, Any]:
    """Knobs the preset sets for every configuration: ``subsample`` when declared and not searched."""
    declared = getattr(target, "knobs", {}) or {}
    values = declared.get(SUBSAMPLE_KNOB)
    if not values or SUBSAMPLE_KNOB in space:
        return {}
    try:
        ordered = sorted(values)
    except TypeError:
        ordered = list(values)
    pick = {"min": ordered[0], "max": ordered[-1], "median": ordered[(len(ordered) - 1) // 2]}[preset.subsample]
    return {SUBSAMPLE_KNOB: pick}


def space_size(space: dict[str, list[Any]]) -> int:
    return math.prod(len(v) for v in space.values())


def _label(knobs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in knobs.items()) or "(no knobs)"


def _load_target(spec: str, workspace: Path):
    from campaign.plugins.target import TargetError
    from campaign.plugins.loading import load_target

    ws = str(Path(workspace).resolve())
    if ws not in sys.path:
        sys.path.insert(0, ws)  # as the worker does: the workspace's code first
    try:
        return load_target(spec, Path(workspace))
    except TargetError as exc:
        raise TuneError(str(exc)) from None


# --------------------------------------------------------------------------- measuring


@dataclass
class Protocol:
    """Everything that makes two measurements comparable (part of the cache key)."""

    spec: str
    target: str
    workspace: str
    case: str
    warm_repeats: int
    blocks: int
    min_blocks: int
    timeout_s: float
    default: dict[str, Any]  # the full default configuration (searched + fixed knobs)
    fixed: dict[str, Any]
    code: str
    machine: str
    storage: str
    seed: int = 0
    refresh: bool = False  # re-measure even what the cache holds (the new results replace the old)

    def key_text(self) -> str:
        return (
            f"case={self.case};warm={self.warm_repeats};blocks={self.blocks};est={ESTIMATOR};"
            f"vs={tune_store.knobs_json(self.default)}"
        )


class Counters:
    """Thread-safe tallies of one tune."""

    def __init__(self):
        self.lock = threading.Lock()
        self.runs = 0  # fresh workload processes started
        self.measured = 0  # configurations measured now
        self.cache_hits = 0
        self.measure_s = 0.0

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


def _run_once(target, proto: Protocol, knobs: dict[str, Any]):
    """One fresh-process run: (time_s, outputs) or raises WorkloadError.

    The run's time is the benchmark layer's estimator (``campaign.measure.bench``:
    the fastest warm repeat; other processes only ever add time).
    """
    from campaign.measure.bench import ESTIMATORS
    from campaign.measure.workload import run_workload

    run = run_workload(
        target, proto.case, Path(proto.workspace), repeat=proto.warm_repeats, knobs=knobs, timeout_s=proto.timeout_s
    )
    return ESTIMATORS[ESTIMATOR](run), run.outputs


def _failure_status(exc: Exception) -> str:
    return "timeout" if "timed out after" in str(exc) else "failed"


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:400] if text else type(exc).__name__


def measure_default(target, proto: Protocol, store, counters: Counters) -> dict:
    """The default configuration alone: two fresh runs (an A/A pair), cached like any other."""
    key = tune_store.cache_key(proto.target, proto.key_text(), proto.default, proto.code, proto.machine)
    cached = None if proto.refresh else store.get(key)
    if cached and cached.get("status") == "ok":
        counters.add(cache_hits=1)
        return dict(cached, cached=True)
    t0 = time.perf_counter()
    times, outputs = [], None
    try:
        for _ in range(2):
            t, outputs = _run_once(target, proto, proto.default)
            counters.add(runs=1)
            times.append(t)
    except Exception as exc:  # WorkloadError: the default itself is broken
        status = _failure_status(exc)
        raise TuneError(
            f"the default configuration ({_label(proto.default)}) {'timed out' if status == 'timeout' else 'failed'}, "
            f"so there is nothing to compare with: {_first_line(exc)} "
            + ("Raise --timeout-per-config." if status == "timeout" else "Fix the target first (`campaign targets`).")
        ) from None
    result = {
        "knobs": dict(proto.default),
        "status": "ok",
        "is_default": True,
        "time_s": median(times),
        "times": times,
        "noise": stats.noise_floor([(times[0], times[1])]),
        "speedup": 1.0,
        "ci": [1.0, 1.0],
        "verdict": "same",
        "blocks": 0,
        "outputs": outputs,
        "measure_s": time.perf_counter() - t0,
        "timeout_s": proto.timeout_s,
    }
    store.put(key, target=proto.target, machine=proto.machine, code=proto.code, protocol=proto.key_text(),
              knobs=proto.default, result=result)
    counters.add(measured=1, measure_s=result["measure_s"])
    return dict(result, cached=False)


def calibrated_repeats(target, proto: Protocol, store, counters: Counters, preset: Preset) -> int:
    """Warm repeats per process: the preset's, raised so that one process measures ``preset.process_s`` of warm work.

    A 5 ms workload timed once per process is mostly noise; the benchmark
    layer's rule (``campaign.measure.bench.calibrate_repeat``) on one run of the
    default decides. The answer is cached (same key parts as a measurement),
    so a repeated tune needs no calibration run.
    """
    from campaign.measure.bench import calibrate_repeat

    minimum = preset.warm_repeats
    what = f"calibration:case={proto.case};s={preset.process_s};cap={preset.max_repeats}"
    key = tune_store.cache_key(proto.target, what, proto.default, proto.code, proto.machine)
    cached = None if proto.refresh else store.get(key)
    if cached and cached.get("repeat"):
        return max(minimum, int(cached["repeat"]))
    try:
        t, _ = _run_once(target, Protocol(**{**asdict(proto), "warm_repeats": 1}), proto.default)
    except Exception as exc:  # WorkloadError
        raise TuneError(f"the default configuration ({_label(proto.default)}) failed, so there is nothing to "
                        f"compare with: {_first_line(exc)}") from None
    counters.add(runs=1)
    repeat = calibrate_repeat([t], target_s=preset.process_s, cap=preset.max_repeats)
    store.put(key, target=proto.target, machine=proto.machine, code=proto.code, protocol=what, knobs=proto.default,
              result={"status": "calibration", "repeat": repeat, "time_s": t})
    return max(minimum, repeat)


def _usable(cached: dict | None, proto: Protocol) -> bool:
    if not cached:
        return False
    if cached.get("status") == "timeout":  # it would hang again unless we now wait longer
        return float(cached.get("timeout_s") or 0) >= proto.timeout_s
    return True


def measure_config(
    target,
    proto: Protocol,
    knobs: dict[str, Any],
    store,
    counters: Counters,
    baseline_outputs: dict | None,
    on_block: Callable[[int, float], bool] | None = None,
) -> dict:
    """Measure ``knobs`` (full configuration) against the default in mirrored blocks; cached.

    ``on_block(step, ratio)`` is called after every block; returning True
    prunes the configuration (the smart strategy's pruner).
    """
    from campaign.measure.correctness import compare_outputs

    key = tune_store.cache_key(proto.target, proto.key_text(), knobs, proto.code, proto.machine)
    cached = None if proto.refresh else store.get(key)
    if _usable(cached, proto):
        counters.add(cache_hits=1)
        return dict(cached, cached=True)
    t0 = time.perf_counter()
    ref_t: list[float] = []
    cand_t: list[float] = []
    pairs: list[tuple[float, float]] = []
    status, error, stop = "ok", None, None
    decision = None
    rng = random.Random(f"{proto.seed}:{tune_store.knobs_json(knobs)}")  # seeded, per configuration
    for block in range(proto.blocks):
        order = block_order(["d", "c"], rng)  # DCCD or CDDC, drawn at random (the signed-rank symmetry)
        got: dict[str, list[float]] = {"d": [], "c": []}
        try:
            for who in order:
                t, out = _run_once(target, proto, proto.default if who == "d" else knobs)
                counters.add(runs=1)
                got[who].append(t)
                if who == "c" and baseline_outputs is not None:
                    check = compare_outputs(baseline_outputs, out, getattr(target, "tolerances", {}) or {})
                    if not check.passed:
                        raise _WrongOutputs(check.failures[0].message)
        except _WrongOutputs as exc:
            status, error = "wrong", f"outputs differ from the default configuration's: {exc}"
            break
        except Exception as exc:  # WorkloadError: crash or timeout of this configuration
            status, error = _failure_status(exc), _first_line(exc)
            break
        ref_t.append(stats.geometric_mean(got["d"]))
        cand_t.append(stats.geometric_mean(got["c"]))
        pairs += [tuple(got["d"]), tuple(got["c"])]
        ratios = stats.paired_ratios(ref_t, cand_t)
        final = block == proto.blocks - 1
        decision = stats.decide(ratios, stats.noise_floor(pairs), final=final, min_blocks=proto.min_blocks,
                                max_blocks=proto.blocks, pairs=pairs)
        if not final and decision.verdict == "slower":
            stop = "clearly slower than the default"
            break
        if on_block is not None and on_block(block, ratios[-1]):
            status, stop = "pruned", "clearly worse than the best configuration so far"
            break
    result = {
        "knobs": dict(knobs),
        "status": status,
        "is_default": False,
        "error": error,
        "stopped": stop,
        "time_s": median(cand_t) if cand_t else None,
        "default_time_s": median(ref_t) if ref_t else None,
        "times": cand_t,
        "default_times": ref_t,
        "ratios": stats.paired_ratios(ref_t, cand_t) if cand_t else [],
        "speedup": decision.speedup if decision else None,
        "ci": list(decision.ci) if decision else None,
        "ci_level": decision.confidence if decision else None,
        "verdict": (decision.verdict if decision and status in ("ok", "pruned") else None),
        "blocks": len(cand_t),
        "noise": stats.noise_floor(pairs) if pairs else None,
        "measure_s": time.perf_counter() - t0,
        "timeout_s": proto.timeout_s,
    }
    # a run killed by a signal from outside (not our timeout) says nothing about the configuration: not cached
    transient = status == "failed" and "exited with code -" in (error or "")
    if not transient:
        store.put(key, target=proto.target, machine=proto.machine, code=proto.code, protocol=proto.key_text(),
                  knobs=knobs, result=result)
    counters.add(measured=1, measure_s=result["measure_s"])
    return dict(result, cached=False)


class _WrongOutputs(Exception):
    pass


# --------------------------------------------------------------------------- process executor


def _measure_in_process(payload: dict) -> dict:
    """Entry point of a worker process (``--executor process``): measure one configuration."""
    proto = Protocol(**payload["proto"])
    target = _load_target(proto.spec, Path(proto.workspace))
    store = tune_store.TuneStore(proto.storage)
    counters = Counters()
    on_block = None
    if payload.get("trial"):
        trial = _remote_trial(proto.storage, **payload["trial"])

        def on_block(step, ratio):
            trial.report(ratio, step)
            return trial.should_prune()

    result = measure_config(target, proto, payload["knobs"], store, counters, payload["baseline_outputs"], on_block)
    result["_counters"] = {"runs": counters.runs, "measured": counters.measured, "cache_hits": counters.cache_hits,
                           "measure_s": counters.measure_s}
    store.close()
    return result


def optuna_storage(url: str):
    """Optuna's RDB storage on ``url``; SQLite waits for a busy database instead of failing at once."""
    import optuna

    kwargs = {"connect_args": {"timeout": 60}} if url.startswith("sqlite") else {}
    return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)


def _remote_trial(storage: str, study_name: str, trial_id: int):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=study_name, storage=optuna_storage(storage), pruner=_make_pruner())
    return optuna.trial.Trial(study, trial_id)


class _Runner:
    """Runs configurations one at a time, or several at once in threads or processes."""

    def __init__(self, target, proto: Protocol, store, counters: Counters, baseline_outputs: dict,
                 executor: str, concurrency: int, progress: Callable[[str], None]):
        self.target, self.proto, self.store, self.counters = target, proto, store, counters
        self.baseline_outputs = baseline_outputs
        self.executor, self.concurrency, self.say = executor, max(1, concurrency), progress
        self.results: dict[str, dict] = {}
        self._pool = None

    def __enter__(self):
        if self.concurrency > 1:
            if self.executor == "process":
                import multiprocessing

                self._pool = ProcessPoolExecutor(self.concurrency, mp_context=multiprocessing.get_context("spawn"))
            else:
                self._pool = ThreadPoolExecutor(self.concurrency)
        return self

    def __exit__(self, *exc):
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def full(self, searched: dict[str, Any]) -> dict[str, Any]:
        return {**self.proto.fixed, **searched}

    def _one(self, searched: dict[str, Any], trial=None) -> dict:
        full = self.full(searched)
        if self._pool is None or self.executor == "thread":
            on_block = None
            if trial is not None:
                def on_block(step, ratio):
                    trial.report(ratio, step)
                    return trial.should_prune()
            return measure_config(self.target, self.proto, full, self.store, self.counters, self.baseline_outputs,
                                  on_block)
        payload = {"proto": asdict(self.proto), "knobs": full, "baseline_outputs": self.baseline_outputs,
                   "trial": ({"study_name": trial.study.study_name, "trial_id": trial._trial_id}
                             if trial is not None else None)}
        return self._pool.submit(_measure_in_process, payload)

    def _collect(self, searched, res) -> dict:
        if not isinstance(res, dict):
            res = res.result()
        c = res.pop("_counters", None)
        if c:
            self.counters.add(**c)
        res["searched"] = dict(searched)
        self.results[tune_store.knobs_json(searched)] = res
        self.say(_progress_line(res))
        return res

    def run_many(self, configs: list[dict[str, Any]], trials: list | None = None) -> list[dict]:
        """Measure ``configs`` (searched knobs only); already measured ones are returned as they are."""
        out: list[dict | None] = [None] * len(configs)
        todo = []
        for i, cfg in enumerate(configs):
            known = self.results.get(tune_store.knobs_json(cfg))
            if known is not None:
                out[i] = known
            else:
                todo.append(i)
        if self._pool is None:
            for i in todo:
                out[i] = self._collect(configs[i], self._one(configs[i], trials[i] if trials else None))
        else:
            futures = {i: (self._pool.submit(self._one, configs[i], trials[i] if trials else None)
                           if self.executor == "thread" else self._one(configs[i], trials[i] if trials else None))
                       for i in todo}
            for i, fut in futures.items():
                res = fut.result()
                out[i] = self._collect(configs[i], res)
        return out  # type: ignore[return-value]


def _progress_line(res: dict) -> str:
    src = "cache" if res.get("cached") else "measured"
    if res["status"] in ("ok", "pruned") and res.get("speedup") is not None:
        lo, hi = res["ci"]
        return (f"  {_label(res['searched'])}: {res['speedup']:.3f}x [{lo:.3f}, {hi:.3f}] {res.get('verdict')}"
                f" ({res['status']}, {src})")
    return f"  {_label(res['searched'])}: {res['status']} ({src}) {res.get('error') or ''}".rstrip()


# --------------------------------------------------------------------------- strategies


def _predicted(hint: dict | None, full: dict[str, Any]) -> float | None:
    if not hint or not hint.get("costs"):
        return None
    return parallel_model.predict_for_knobs(parallel_model.ParallelCosts.from_dict(hint["costs"]), full)


def _order(configs: list[dict], runner: _Runner, hint: dict | None) -> list[dict]:
    """Best predicted first (stable: the declared order when there is no prediction)."""
    if not hint:
        return configs
    return sorted(configs, key=lambda c: -(_predicted(hint, runner.full(c)) or 0.0))


def _strategy_grid(space, default, runner: _Runner, hint):
    names = list(space)
    configs = [dict(zip(names, combo)) for combo in itertools.product(*(space[n] for n in names))]
    configs = [c for c in configs if c != default]
    runner.run_many(_order(configs, runner, hint))


def _beats(res: dict) -> bool:
    return res.get("status") == "ok" and res.get("verdict") == "faster"


def _strategy_quick(space, default, runner: _Runner, hint):
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


class ClearlyWorsePruner:
    """Prune a trial once every block so far is clearly below the best finished trial.

    "Clearly": after ``min_steps`` blocks, the trial's best per-block ratio is
    below ``(1 - margin)`` times the best completed speedup. Uses the
    intermediate values reported per block (``trial.report(ratio, block)``).
    """

    def __init__(self, min_steps: int = 2, margin: float = 0.10):
        self.min_steps, self.margin = min_steps, margin

    def prune(self, study, trial) -> bool:
        import optuna

        values = list(trial.intermediate_values.values())
        if len(values) < self.min_steps:
            return False
        done = [t.value for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
                if t.value is not None]
        if not done:
            return False
        return max(values) < (1 - self.margin) * max(done)


def _make_pruner():
    import optuna

    class _Pruner(ClearlyWorsePruner, optuna.pruners.BasePruner):
        def __init__(self):
            ClearlyWorsePruner.__init__(self)

    return _Pruner()


def study_name(proto: Protocol, space: dict[str, list[Any]]) -> str:
    import hashlib

    text = json.dumps([proto.target, proto.key_text(), proto.code, proto.machine, space], sort_keys=True, default=str)
    return f"campaign-tune-{proto.target}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"


def _strategy_smart(space, default, runner: _Runner, hint, store, proto: Protocol, budget: int):
    import optuna
    from optuna.distributions import CategoricalDistribution

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    dists = {k: CategoricalDistribution(list(v)) for k, v in space.items()}
    sampler = optuna.samplers.TPESampler(seed=proto.seed, n_startup_trials=min(4, budget))
    try:
        study = optuna.create_study(study_name=study_name(proto, space), storage=optuna_storage(proto.storage),
                                    sampler=sampler,
                                    pruner=_make_pruner(), direction="maximize", load_if_exists=True)
    except Exception as exc:  # noqa: BLE001 - storage problems are user errors
        raise TuneError(f"cannot open the Optuna study in {tune_store.redact(proto.storage)!r}: "
                        f"{_first_line(exc)}") from None

    def in_space(cfg):
        return all(k in cfg and cfg[k] in space[k] for k in space)

    if all(default[k] in space[k] for k in space) and not study.trials:
        study.add_trial(optuna.trial.create_trial(params=dict(default), distributions=dists, value=1.0))
    # warm start: the best configurations measured before for this target on this machine
    seen = set()
    warm = []
    for past in sorted(store.past_results(proto.target, proto.machine), key=lambda r: -(r.get("speedup") or 0)):
        if past.get("status") != "ok" or not isinstance(past.get("knobs"), dict):
            continue
        cfg = {k: past["knobs"].get(k) for k in space}
        key = tune_store.knobs_json(cfg)
        if past.get("status") == "ok" and in_space(cfg) and cfg != default and key not in seen:
            seen.add(key)
            warm.append(cfg)
    # then the analytically best configuration
    if hint:
        names = list(space)
        combos = [dict(zip(names, c)) for c in itertools.product(*(space[n] for n in names))]
        best = _order([c for c in combos if c != default], runner, hint)
        if best and tune_store.knobs_json(best[0]) not in seen:
            warm.append(best[0])
    for cfg in warm[:3]:
        study.enqueue_trial(cfg, skip_if_exists=True)

    target_n = min(budget, space_size(space) - 1)
    asks = 0
    while len(runner.results) < target_n and asks < 4 * budget:
        n = min(runner.concurrency, target_n - len(runner.results))
        trials = [study.ask(dists) for _ in range(n)]
        asks += n
        configs = [dict(t.params) for t in trials]
        if any(c == default for c in configs):
            for t, c in zip(trials, configs):
                if c == default:
                    study.tell(t, 1.0)
            keep = [(t, c) for t, c in zip(trials, configs) if c != default]
            trials, configs = [t for t, _ in keep], [c for _, c in keep]
            if not trials:
                continue
        results = runner.run_many(configs, trials)
        for t, res in zip(trials, results):
            state_now = study._storage.get_trial(t._trial_id).state
            if state_now.is_finished():
                continue
            if res["status"] == "pruned":
                study.tell(t, state=optuna.trial.TrialState.PRUNED)
            elif res["status"] == "ok" and res.get("speedup") is not None:
                study.tell(t, float(res["speedup"]))
            else:
                study.tell(t, state=optuna.trial.TrialState.FAIL)
    return study.study_name


# --------------------------------------------------------------------------- hint


def parallel_hint(target, proto: Protocol, default_time_s: float, store=None) -> dict | None:
    """Dry-run the target's parallel map (``python -m campaign.tune.parallel_model``) -> costs, or None.

    Cached like a measurement (same key parts), so a repeated tune repeats its predictions.
    """
    if not hasattr(target, "parallel_map"):
        return None
    workers_knob, _ = parallel_model.knob_roles(list(getattr(target, "knobs", {}) or {}))
    if workers_knob is None:
        return None
    key = tune_store.cache_key(proto.target, "hint:" + proto.key_text(), proto.default, proto.code, proto.machine)
    if store is not None and not proto.refresh:
        cached = store.get(key)
        if cached and cached.get("costs"):
            return dict(cached, cached=True)
    from campaign.measure.procs import run_process

    cmd = [sys.executable, "-m", "campaign.tune.parallel_model", proto.spec, proto.case,
           "--knobs", tune_store.knobs_json(proto.default)]
    res = run_process(cmd, Path(proto.workspace), min(proto.timeout_s, 120.0))
    try:
        data = json.loads([ln for ln in res.stdout.splitlines() if ln.strip()][-1])
    except (IndexError, ValueError):
        data = {"error": "the dry run printed no JSON" + (" (timed out)" if res.timed_out else "")}
    if "costs" not in data:
        return {"error": data.get("error"), "costs": None}
    costs = parallel_model.ParallelCosts.from_dict(data["costs"])
    serial = max(0.0, default_time_s - costs.n_items * costs.item_s)
    costs = costs.with_serial(serial)
    hint = {"costs": costs.to_dict(), "parallel_fraction": parallel_model.parallel_fraction(costs),
            "workers_knob": workers_knob, "error": None, "status": "hint"}
    if store is not None:
        store.put(key, target=proto.target, machine=proto.machine, code=proto.code,
                  protocol="hint:" + proto.key_text(), knobs=proto.default, result=hint)
    return dict(hint, cached=False)


# --------------------------------------------------------------------------- the tune


@dataclass
class TuneRequest:
    spec: str
    workspace: Path = Path(".")
    knobs: list[str] | dict[str, list[Any]] | None = None
    strategy: str = "quick"
    preset: str = "fast"
    timeout_s: float | None = None
    executor: str = "process"
    concurrency: int = 1
    case: str | None = None
    storage: str | None = None
    save: str | None = None
    seed: int = 0
    trials: int | None = None
    hint: bool = True
    refresh: bool = False


def _check_request(req: TuneRequest) -> None:
    if req.strategy not in STRATEGIES:
        raise TuneError(f"unknown strategy {req.strategy!r}: choose one of {', '.join(STRATEGIES)}.")
    if req.preset not in PRESETS:
        raise TuneError(f"unknown preset {req.preset!r}: choose one of {', '.join(PRESETS)}.")
    if req.executor not in EXECUTORS:
        raise TuneError(f"unknown executor {req.executor!r}: choose process or thread.")
    if req.timeout_s is not None and (not math.isfinite(req.timeout_s) or req.timeout_s <= 0):
        raise TuneError(f"--timeout-per-config must be a positive number of seconds, got {req.timeout_s:g}.")
    if req.concurrency < 1:
        raise TuneError(f"--concurrency must be at least 1, got {req.concurrency}.")
    if req.trials is not None and req.trials < 1:
        raise TuneError(f"--trials must be at least 1, got {req.trials}.")


def open_store(workspace: Path, storage: str | None) -> tuple[str, "tune_store.TuneStore"]:
    url = storage or tune_store.default_storage_url(Path(workspace))
    try:
        return url, tune_store.TuneStore(url)
    except tune_store.StoreError as exc:
        raise TuneError(str(exc)) from None


def _definition_files(target, workspace: Path) -> list[Path]:
    """The file defining the target's class, unless it is in the workspace (then the scope covers it or not)."""
    import inspect

    try:
        path = Path(inspect.getsourcefile(type(target)) or "").resolve()
    except (TypeError, OSError):
        return []
    if not path.is_file() or path.is_relative_to(workspace):
        return []
    return [path]


def _peak_child_rss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # KiB on Linux
    return kb / 1024.0


def tune(req: TuneRequest, progress: Callable[[str], None] | None = None) -> dict:
    """Run one tune; returns the report (plain JSON). Raises TuneError on bad input."""
    from campaign.measure.environment import collect_environment

    say = progress or (lambda line: None)
    _check_request(req)
    t_start = time.perf_counter()
    workspace = Path(req.workspace).resolve()
    if not workspace.is_dir():
        raise TuneError(f"workspace {str(workspace)!r} is not a directory (--dir).")
    target = _load_target(req.spec, workspace)
    space = build_space(target, req.knobs)
    preset = PRESETS[req.preset]
    case = req.case or (target.fast_case if preset.case == "fast" else target.full_case)
    default = default_knobs(target, space)
    fixed = fixed_knobs(target, space, preset)
    url, store = open_store(workspace, req.storage)
    env = collect_environment()
    machine = tune_store.machine_of(env)
    proto = Protocol(
        spec=req.spec, target=target.name or req.spec, workspace=str(workspace), case=case,
        warm_repeats=preset.warm_repeats, blocks=preset.blocks, min_blocks=preset.min_blocks,
        timeout_s=float(req.timeout_s if req.timeout_s is not None else getattr(target, "timeout_s", 600.0)),
        default={**fixed, **default}, fixed=fixed,
        code=tune_store.code_version(workspace, list(target.scope), _definition_files(target, workspace)),
        machine=tune_store.machine_key(machine), storage=url, seed=req.seed, refresh=req.refresh,
    )
    counters = Counters()
    proto.warm_repeats = calibrated_repeats(target, proto, store, counters, preset)
    say(f"tune {proto.target} ({req.strategy}, preset {preset.name}, case {case}): "
        f"{space_size(space)} configurations; default {_label(default)}"
        + (f"; fixed {_label(fixed)}" if fixed else ""))
    rss0 = _peak_child_rss_mb()
    try:
        base = measure_default(target, proto, store, counters)
        base["searched"] = dict(default)
        say(f"  default {_label(default)}: {base['time_s'] * 1e3:.1f} ms ({'cache' if base['cached'] else 'measured'})")
        hint = parallel_hint(target, proto, base["time_s"], store) if req.hint else None
        if hint and hint.get("costs") is None:
            say(f"  no analytical hint: {hint.get('error')}")
            hint = None
        study = None
        with _Runner(target, proto, store, counters, base["outputs"], req.executor, req.concurrency, say) as runner:
            if req.strategy == "grid":
                _strategy_grid(space, default, runner, hint)
            elif req.strategy == "quick":
                _strategy_quick(space, default, runner, hint)
            else:
                budget = req.trials or preset.smart_trials
                study = _strategy_smart(space, default, runner, hint, store, proto, budget)
        configs = [base] + list(runner.results.values())
        report = _report(req, proto, target, space, default, fixed, machine, env, configs, hint, counters,
                         time.perf_counter() - t_start, max(_peak_child_rss_mb(), rss0), study)
        if req.save:
            store.save_run(req.save, proto.target, proto.machine, report)
            report["saved_as"] = req.save
    except tune_store.StoreError as exc:
        raise TuneError(str(exc)) from None
    finally:
        store.close()
    return report


def _report(req, proto, target, space, default, fixed, machine, env, configs, hint, counters, total_s, rss_mb, study):
    rows = []
    for res in configs:
        full = {**fixed, **res["searched"]}
        pred = 1.0 if res.get("is_default") and hint else _predicted(hint, full)
        rows.append({
            "knobs": res["searched"],
            "status": res["status"],
            "default": bool(res.get("is_default")),
            "time_s": res.get("time_s"),
            "speedup": res.get("speedup"),
            "ci": res.get("ci"),
            "verdict": res.get("verdict"),
            "blocks": res.get("blocks"),
            "predicted_speedup": pred,
            "cached": bool(res.get("cached")),
            "error": res.get("error"),
            "stopped": res.get("stopped"),
        })
    winners = [r for r in rows if not r["default"] and r["status"] == "ok" and r["verdict"] == "faster"]
    best = max(winners, key=lambda r: r["speedup"]) if winners else None
    base_row = rows[0]
    workers_knob, _ = parallel_model.knob_roles(list(space))
    if best is None:
        chosen = dict(default)
        measured_best = max((r for r in rows[1:] if r["status"] == "ok" and r["speedup"]), default=None,
                            key=lambda r: r["speedup"])
        extra = (f" The best other configuration, {_label(measured_best['knobs'])}, measured "
                 f"{measured_best['speedup']:.3f}x ({stats.describe_interval(measured_best['ci'], measured_best.get('ci_level'))}, "
                 f"{measured_best['verdict']}).") if measured_best else ""
        recommendation = (f"Keep the default ({_label(default)}): no configuration beat it beyond the noise." + extra)
        winner = dict(base_row)
    else:
        chosen = dict(best["knobs"])
        winner = dict(best)
        recommendation = (f"Use {_label(chosen)}: {best['speedup']:.3f}x faster than the default "
                          f"({_label(default)}), {stats.describe_interval(best['ci'], best.get('ci_level'))}.")
    eff = None
    if workers_knob and best is not None:
        try:
            w = float(best["knobs"][workers_knob])
            eff = best["speedup"] / w if w > 0 else None
        except (TypeError, ValueError):
            eff = None
    winner["parallel_efficiency"] = eff
    measured = counters.measured
    looked_up = counters.measured + counters.cache_hits
    n = len(rows)
    metrics = {
        "total_s": total_s,
        "configurations": n,
        "measured": measured,
        "cache_hits": counters.cache_hits,
        "cache_hit_rate": counters.cache_hits / looked_up if looked_up else None,
        "new_runs": counters.runs,
        "time_per_configuration_s": total_s / n if n else None,
        "measure_s_per_measured": counters.measure_s / measured if measured else None,
        "pruned": sum(r["status"] == "pruned" for r in rows),
        "failed": sum(r["status"] in ("failed", "wrong") for r in rows),
        "timed_out": sum(r["status"] == "timeout" for r in rows),
        "stopped_early": sum(bool(r["stopped"]) and r["status"] == "ok" for r in rows),
        "peak_child_rss_mb": rss_mb if counters.runs else None,  # no fresh process: nothing to report
        "parallel_efficiency": eff,
    }
    return {
        "target": proto.target,
        "spec": proto.spec,
        "case": proto.case,
        "strategy": req.strategy,
        "preset": req.preset,
        "executor": req.executor,
        "concurrency": req.concurrency,
        "space": space,
        "default": default,
        "fixed": fixed,
        "protocol": {"warm_repeats": proto.warm_repeats, "blocks": proto.blocks, "timeout_s": proto.timeout_s},
        "code_version": proto.code,
        "machine": dict(machine, key=proto.machine),
        "load_avg": env.get("load_avg"),
        "storage": tune_store.redact(proto.storage),
        "study": study,
        "hint": hint,
        "configs": rows,
        "winner": winner,
        "chosen": chosen,
        "improved": best is not None,
        "recommendation": recommendation,
        "metrics": metrics,
    }


# --------------------------------------------------------------------------- the loop


def tune_for_iteration(
    spec: str,
    workspace: Path,
    knobs: list[str] | dict[str, list[Any]] | None = None,
    *,
    strategy: str = "quick",
    preset: str = "fast",
    predicted_speedup: float | None = None,
    progress: Callable[[str], None] | None = None,
    **options: Any,
) -> dict:
    """Run a tune as one iteration's measurement; returns the ``tune`` journal event's data.

    ``{"knobs": {name: value}, "report": {...}}`` - the chosen knobs and the
    whole report, plus ``report["prediction"]`` (THINK's predicted speedup and
    the measured one) so that LOG can write the Surprise.
    """
    req = TuneRequest(spec=spec, workspace=Path(workspace), knobs=knobs, strategy=strategy, preset=preset, **options)
    report = tune(req, progress)
    measured = report["winner"].get("speedup") if report["improved"] else 1.0
    report["prediction"] = {
        "predicted_speedup": predicted_speedup,
        "measured_speedup": measured,
        "ratio": (measured / predicted_speedup) if predicted_speedup and measured else None,
    }
    return {"knobs": report["chosen"], "report": report}


# --------------------------------------------------------------------------- text


def _fmt_s(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-3:
        return f"{s * 1e6:.0f} us"
    return f"{s * 1e3:.1f} ms" if s < 1 else f"{s:.2f} s"


def format_table(report: dict) -> str:
    """The configurations as a Markdown table (measured numbers; prediction beside)."""
    lines = ["| configuration | status | time | speedup vs default | decisive interval (level) | verdict | predicted | source |",
             "|---|---|---|---|---|---|---|---|"]
    for r in report["configs"]:
        name = _label(r["knobs"]) + (" (default)" if r["default"] else "")
        sp = f"{r['speedup']:.3f}x" if r.get("speedup") is not None else "-"
        ci = stats.describe_interval(r["ci"], r.get("ci_level")) if r.get("ci") else "-"
        pred = f"{r['predicted_speedup']:.2f}x" if r.get("predicted_speedup") is not None else "-"
        status = r["status"] + (f" ({r['stopped']})" if r.get("stopped") and r["status"] == "ok" else "")
        lines.append(f"| {name} | {status} | {_fmt_s(r.get('time_s'))} | {sp} | {ci} | {r.get('verdict') or '-'} "
                     f"| {pred} | {'cache' if r['cached'] else 'measured'} |")
    return "\n".join(lines)


def format_report(report: dict) -> str:
    m = report["metrics"]
    rate = f"{m['cache_hit_rate'] * 100:.0f}%" if m["cache_hit_rate"] is not None else "-"
    lines = [
        f"tune {report['target']}: strategy {report['strategy']}, preset {report['preset']}, case {report['case']}, "
        f"{report['protocol']['blocks']} blocks x {report['protocol']['warm_repeats']} warm repeats, "
        f"timeout {report['protocol']['timeout_s']:g} s per run",
        "",
        format_table(report),
        "",
        report["recommendation"],
    ]
    w = report["winner"]
    if report["improved"] and w.get("predicted_speedup") is not None:
        lines.append(f"Prediction vs measured: the parallel model predicted {w['predicted_speedup']:.2f}x, "
                     f"measured {w['speedup']:.3f}x.")
    if m.get("parallel_efficiency") is not None:
        lines.append(f"Parallel efficiency of the winner: {m['parallel_efficiency']:.2f} "
                     f"(serial time / (parallel time x workers)).")
    lines += [
        "",
        f"total {m['total_s']:.1f} s; {m['configurations']} configurations ({m['measured']} measured, "
        f"{m['cache_hits']} from cache, hit rate {rate}); {m['new_runs']} fresh runs; "
        f"{_fmt_s(m['time_per_configuration_s'])} per configuration; pruned {m['pruned']}, "
        f"failed {m['failed']}, timed out {m['timed_out']}; peak child memory "
        + (f"{m['peak_child_rss_mb']:.0f} MB" if m["peak_child_rss_mb"] is not None else "- (no fresh runs)"),
    ]
    if report.get("saved_as"):
        lines.append(f"saved as {report['saved_as']!r} (campaign tune --history {report['saved_as']})")
    return "\n".join(lines)


def history(workspace: Path, storage: str | None, name: str | None) -> dict:
    """Saved tunes (all, or those saved under ``name``), with a comparison of their configurations."""
    url, store = open_store(Path(workspace), storage)
    try:
        runs = store.list_runs(name)
    except tune_store.StoreError as exc:
        raise TuneError(str(exc)) from None
    finally:
        store.close()
    if name is not None and not runs:
        raise TuneError(f"no saved tune named {name!r} in {tune_store.redact(url)} (save one with --save {name}).")
    summary = []
    for r in runs:
        rep = r["report"]
        summary.append({
            "id": r["id"], "name": r["name"], "target": r["target"],
            "created": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r["created"])),
            "strategy": rep.get("strategy"), "preset": rep.get("preset"), "code_version": rep.get("code_version"),
            "chosen": rep.get("chosen"), "speedup": rep.get("winner", {}).get("speedup") if rep.get("improved") else 1.0,
            "improved": rep.get("improved"), "machine": rep.get("machine", {}).get("cpu_model"),
        })
    compare: dict[str, dict[str, Any]] = {}
    for r in runs:
        for row in r["report"].get("configs", []):
            compare.setdefault(_label(row["knobs"]), {})[str(r["id"])] = row.get("speedup")
    return {"storage": tune_store.redact(url), "name": name, "runs": summary, "compare": compare}


def format_history(data: dict) -> str:
    if not data["runs"]:
        return f"no saved tunes in {data['storage']} (save one with campaign tune ... --save NAME)"
    lines = ["| id | name | target | when | strategy/preset | code | chosen | speedup |", "|---|---|---|---|---|---|---|---|"]
    for r in data["runs"]:
        sp = f"{r['speedup']:.3f}x" if r["speedup"] is not None else "-"
        lines.append(f"| {r['id']} | {r['name']} | {r['target']} | {r['created']} | {r['strategy']}/{r['preset']} "
                     f"| {r['code_version']} | {_label(r['chosen'] or {})} | {sp} |")
    if data["name"] is not None and len(data["runs"]) >= 1:
        ids = [str(r["id"]) for r in data["runs"]]
        lines += ["", "speedup vs default per configuration and saved run:", "",
                  "| configuration | " + " | ".join(f"run {i}" for i in ids) + " |",
                  "|---|" + "---|" * len(ids)]
        for cfg, by_run in data["compare"].items():
            cells = [f"{by_run[i]:.3f}x" if by_run.get(i) is not None else "-" for i in ids]
            lines.append(f"| {cfg} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
