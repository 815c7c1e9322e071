"""The knob tuner: which values of a target's knobs make its workload fastest.

A target declares ``knobs`` (name -> candidate values; the FIRST value is
the default, e.g. ``n_jobs=[1, 2, 4]``). ``tune`` measures the default
configuration first, then searches the space, and recommends the default
unless some configuration beats it beyond the noise.

Measurement (``campaign.tune.measurement``; the same discipline as BENCHMARK, ``campaign.measure.bench``): every
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

import math
import resource
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from campaign.tune import store as tune_store
from campaign.tune import strategies
from campaign.tune.errors import NotAWorkspaceError, TuneError
from campaign.tune.hint import parallel_hint
from campaign.tune.history import open_store
from campaign.tune.measurement import Counters, Protocol, calibrated_repeats, load_workspace_target, measure_default
from campaign.tune.presets import PRESETS
from campaign.tune.progress import RUNS_PER_BLOCK, Reporter, Tracker, as_reporter, planned_configurations
from campaign.tune.report import build_report
from campaign.tune.runner import EXECUTORS, Runner
from campaign.tune.space import build_space, default_knobs, fixed_knobs, label, space_size


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
    cluster: Any = None  # campaign.scale.cluster.Cluster (the CLI opens it): each trial whole on one of its hosts


def _check_request(req: TuneRequest) -> None:
    if req.strategy not in strategies.STRATEGIES:
        raise TuneError(f"unknown strategy {req.strategy!r}: choose one of {', '.join(strategies.STRATEGIES)}.")
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


def check_workspace(target, workspace: Path) -> None:
    """Refuse a directory that holds none of the target's scope files (say, a tune run from the wrong folder).

    Without this check the default configuration's first run crashes on the
    missing file and the user reads a workload's FileNotFoundError.
    """
    scope = list(getattr(target, "scope", []) or [])
    if not scope or any(p.is_file() for pattern in scope for p in workspace.glob(pattern)):
        return
    label = target.name or target.spec
    raise NotAWorkspaceError(
        f"{str(workspace)!r} is not a workspace of target {label!r}: none of its files ({', '.join(scope)}) are "
        f"there. Run the tune in the folder that holds them, or point --dir at it.",
        {"workspace": str(workspace), "target": label, "scope": scope},
    )


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


def tune(req: TuneRequest, progress: Reporter | Callable[[str], None] | None = None) -> dict:
    """Run one tune; returns the report (plain JSON). Raises TuneError on bad input.

    ``progress`` hears what happens: a function of one line gets the result
    lines; a ``campaign.tune.progress.Reporter`` also gets the live status
    (what runs, runs done of planned, elapsed, ETA).
    """
    from campaign.measure.environment import collect_environment

    reporter = as_reporter(progress)
    say = reporter.line
    _check_request(req)
    t_start = time.perf_counter()
    workspace = Path(req.workspace).resolve()
    if not workspace.is_dir():
        raise TuneError(f"workspace {str(workspace)!r} is not a directory (--dir).")
    target = load_workspace_target(req.spec, workspace)
    check_workspace(target, workspace)
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
    budget = req.trials or preset.smart_trials
    tracker = Tracker(reporter, proto.blocks)
    counters = Counters(tracker)
    say(f"tune {proto.target} ({req.strategy}, preset {preset.name}, case {case}): "
        f"{space_size(space)} configurations; default {label(default)}"
        + (f"; fixed {label(fixed)}" if fixed else ""))
    tracker.plan(3 + planned_configurations(req.strategy, space, budget) * proto.blocks * RUNS_PER_BLOCK)
    rss0 = _peak_child_rss_mb()
    try:
        before = counters.runs
        proto.warm_repeats = calibrated_repeats(target, proto, store, counters, preset)
        tracker.step_done(1, counters.runs - before)
        before = counters.runs
        base = measure_default(target, proto, store, counters)
        tracker.step_done(2, counters.runs - before)
        base["searched"] = dict(default)
        say(f"  default {label(default)}: {base['time_s'] * 1e3:.1f} ms ({'cache' if base['cached'] else 'measured'}"
            f", {proto.warm_repeats} warm repeats per run)")
        if req.hint and hasattr(target, "parallel_map"):
            tracker.doing("analytical hint: a dry run of the parallel map")
        hint = parallel_hint(target, proto, base["time_s"], store) if req.hint else None
        if hint and hint.get("costs") is None:
            say(f"  no analytical hint: {hint.get('error')}")
            hint = None
        study = None
        with Runner(target, proto, store, counters, base["outputs"], req.executor, req.concurrency, say,
                    tracker, req.cluster) as runner:
            if req.strategy == "grid":
                strategies.grid(space, default, runner, hint)
            elif req.strategy == "quick":
                strategies.quick(space, default, runner, hint)
            else:
                study = strategies.smart(space, default, runner, hint, store, proto, budget)
                say(f"  study {study['name']}: {study['trials']} trials by {len(study['workers'])} worker(s)")
        configs = [base] + list(runner.results.values())
        report = build_report(req, proto, target, space, default, fixed, machine, env, configs, hint, counters,
                              time.perf_counter() - t_start, max(_peak_child_rss_mb(), rss0), study)
        if req.save:
            store.save_run(req.save, proto.target, proto.machine, report)
            report["saved_as"] = req.save
    except tune_store.StoreError as exc:
        raise TuneError(str(exc)) from None
    finally:
        store.close()
    return report


# --------------------------------------------------------------------------- the loop


def tune_for_iteration(
    spec: str,
    workspace: Path,
    knobs: list[str] | dict[str, list[Any]] | None = None,
    *,
    strategy: str = "quick",
    preset: str = "fast",
    predicted_speedup: float | None = None,
    progress: Reporter | Callable[[str], None] | None = None,
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
