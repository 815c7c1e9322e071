"""Measuring one configuration: fresh processes interleaved with the default in mirrored blocks.

Every configuration runs in fresh processes (``run_workload``), interleaved
with the default configuration in mirrored blocks (default, candidate,
candidate, default or its mirror, drawn at random), each run timed by its
fastest warm repeat; its speedup is the median of the per-block paired
ratios with the interval and verdict of ``campaign.measure.stats.decide``.
A configuration that is clearly slower than the default stops early, one
that crashes is recorded as ``failed``, one past ``timeout_s`` is killed
with its whole process tree and recorded as ``timeout``. Every result is
cached in ``campaign.tune.store``.
"""

from __future__ import annotations

import random
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Any, Callable

from campaign.measure import stats
from campaign.measure.executor import Timing
from campaign.measure.workload import WorkloadError
from campaign.measure.scheduler import SLOWER, Plan, Scheduler
from campaign.tune import store as tune_store
from campaign.tune.errors import TuneError, first_line
from campaign.tune.presets import Preset
from campaign.tune.space import label


ESTIMATOR = "min"  # a run's time: its fastest warm repeat, as BENCHMARK measures (campaign.measure.bench)


def load_workspace_target(spec: str, workspace: Path):
    from campaign.plugins.loading import load_target

    ws = str(Path(workspace).resolve())
    if ws not in sys.path:
        sys.path.insert(0, ws)  # as the worker does: the workspace's code first
    return load_target(spec, Path(workspace))  # a TargetError is a UserError (code target_error), as everywhere


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

    def study_text(self) -> str:
        """What makes two workers' trials one study: the key without the warm repeats.

        Each worker calibrates its repeats itself (two workers started at
        once may settle on 14 and 15); a trial's value is a ratio to the
        default measured with the same repeats, so the count need not match.
        """
        return f"case={self.case};blocks={self.blocks};est={ESTIMATOR};vs={tune_store.knobs_json(self.default)}"


class Counters:
    """Thread-safe tallies of one tune; a ``tracker`` (``campaign.tune.progress.Tracker``) hears of each run."""

    def __init__(self, tracker=None):
        self.lock = threading.Lock()
        self.runs = 0  # fresh workload processes started
        self.measured = 0  # configurations measured now
        self.cache_hits = 0
        self.measure_s = 0.0
        self.tracker = tracker

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)
        if self.tracker is not None and kw.get("runs"):
            self.tracker.runs_done(int(kw["runs"]))

    def doing(self, what: str) -> None:
        """Say what runs now (the live status line)."""
        if self.tracker is not None:
            self.tracker.doing(what)


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


def _failure_status(exc: BaseException) -> str:
    return "timeout" if getattr(exc, "timed_out", False) else "failed"


def _signalled(exc: BaseException | None) -> bool:
    """A run killed by a signal from outside (not our timeout): it says nothing about the configuration."""
    return isinstance(exc, WorkloadError) and exc.signalled


def measure_default(target, proto: Protocol, store, counters: Counters) -> dict:
    """The default configuration alone: two fresh runs (an A/A pair), cached like any other."""
    key = tune_store.cache_key(proto.target, proto.key_text(), proto.default, proto.code, proto.machine)
    cached = None if proto.refresh else store.get(key)
    if cached and cached.get("status") == "ok":
        counters.add(cache_hits=1)
        return dict(cached, cached=True)
    t0 = time.perf_counter()
    times, outputs = [], None
    counters.doing(f"default {label(proto.default)}: two fresh runs (A/A)")
    try:
        for _ in range(2):
            t, outputs = _run_once(target, proto, proto.default)
            counters.add(runs=1)
            times.append(t)
    except Exception as exc:  # noqa: BLE001 - WorkloadError or any other: the default itself is broken
        status = _failure_status(exc)
        raise TuneError(
            f"the default configuration ({label(proto.default)}) {'timed out' if status == 'timeout' else 'failed'}, "
            f"so there is nothing to compare with: {first_line(exc)} "
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
    counters.doing(f"calibrating warm repeats on the default ({label(proto.default)})")
    try:
        t, _ = _run_once(target, Protocol(**{**asdict(proto), "warm_repeats": 1}), proto.default)
    except Exception as exc:  # noqa: BLE001 - WorkloadError or any other: nothing to compare with
        raise TuneError(f"the default configuration ({label(proto.default)}) failed, so there is nothing to "
                        f"compare with: {first_line(exc)}") from None
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


class _ConfigExecutor:
    """Tune's executor: the default ("d") or the configuration ("c") in a fresh process, its outputs checked."""

    def __init__(self, target, proto: Protocol, knobs: dict[str, Any], counters: Counters,
                 baseline_outputs: dict | None):
        self.target, self.proto, self.knobs, self.counters = target, proto, knobs, counters
        self.baseline_outputs = baseline_outputs

    def run(self, unit: str, repeat: int) -> Timing:
        from campaign.measure.correctness import compare_outputs

        t, out = _run_once(self.target, self.proto, self.proto.default if unit == "d" else self.knobs)
        self.counters.add(runs=1)
        if unit == "c" and self.baseline_outputs is not None:
            check = compare_outputs(self.baseline_outputs, out, getattr(self.target, "tolerances", {}) or {})
            if not check.passed:
                raise _WrongOutputs(check.failures[0].message)
        return Timing(t, None, out)


def _status_of(exc: BaseException | None) -> tuple[str, str | None]:
    """(status, error) of a configuration whose run raised ``exc`` (None: none did)."""
    if exc is None:
        return "ok", None
    if isinstance(exc, _WrongOutputs):
        return "wrong", f"outputs differ from the default configuration's: {exc}"
    return _failure_status(exc), first_line(exc)


def _schedule(target, proto: Protocol, knobs: dict[str, Any], counters: Counters, baseline_outputs: dict | None,
              on_block: Callable[[int, float], bool] | None) -> Scheduler:
    """The configuration against the default, in the blocks of the benchmark's scheduler (its looks, its rules)."""
    searched = label({k: v for k, v in knobs.items() if k not in proto.fixed})

    def pruned(sched: Scheduler) -> str | None:
        return PRUNED if on_block is not None and on_block(sched.blocks - 1, sched.ratios_for("default")[-1]) else None

    sched = Scheduler(_ConfigExecutor(target, proto, knobs, counters, baseline_outputs), ["d", "c"],
                      {"default": ("d", "c")}, Plan.fixed_blocks(proto.blocks, proto.min_blocks),
                      rng=random.Random(f"{proto.seed}:{tune_store.knobs_json(knobs)}"),  # seeded, per configuration
                      before_block=lambda n: counters.doing(f"{searched}: block {n + 1}/{proto.blocks}"),
                      after_block=pruned, catch=(Exception,))  # Exception: WorkloadError, _WrongOutputs
    return sched.run(proto.warm_repeats)


PRUNED = "clearly worse than the best configuration so far"


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

    The blocks, the looks and the stopping are ``campaign.measure.scheduler``'s,
    as for BENCHMARK (``Plan.fixed_blocks``: every block of the preset, unless
    the configuration is clearly slower at a planned look). ``on_block(step,
    ratio)`` is called after every block; returning True prunes the
    configuration (the smart strategy's pruner).
    """
    key = tune_store.cache_key(proto.target, proto.key_text(), knobs, proto.code, proto.machine)
    cached = None if proto.refresh else store.get(key)
    if cached is not None and _usable(cached, proto):
        counters.add(cache_hits=1)
        return dict(cached, cached=True)
    t0 = time.perf_counter()
    sched = _schedule(target, proto, knobs, counters, baseline_outputs, on_block)
    status, error = _status_of(sched.error)
    stop = None
    if sched.stop_reason == PRUNED:
        status, stop = "pruned", PRUNED
    elif sched.stop_reason == SLOWER:
        stop = "clearly slower than the default"
    result = _config_result(knobs, sched, status, error, stop, proto)
    result["measure_s"] = time.perf_counter() - t0
    # a run killed by a signal from outside (not our timeout) says nothing about the configuration: not cached
    if not _signalled(sched.error):
        store.put(key, target=proto.target, machine=proto.machine, code=proto.code, protocol=proto.key_text(),
                  knobs=knobs, result=result)
    counters.add(measured=1, measure_s=result["measure_s"])
    return dict(result, cached=False)


def _config_result(knobs: dict[str, Any], sched: Scheduler, status: str, error: str | None, stop: str | None,
                   proto: Protocol) -> dict:
    ref_t, cand_t = sched.record.series["wall"]["d"], sched.record.series["wall"]["c"]
    pairs = sched.pairs_for("default")
    decision = sched.decisions.get("default")
    return {
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
        "measure_s": 0.0,
        "timeout_s": proto.timeout_s,
    }


class _WrongOutputs(Exception):
    pass
