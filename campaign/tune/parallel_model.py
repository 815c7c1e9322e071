"""The analytical hint for parallel-map knobs: Amdahl's law plus the overheads.

A parallel map (``Pool.map(fn, items, chunksize)``) is only worth its workers
when the work per item outweighs what the pool costs: starting the workers,
pickling every argument and result through the parent, and one round trip per
chunk. Given those costs (measured by a short dry run) the model predicts the
whole-run time for ``n`` workers and a chunk size, and so the speedup over the
serial run. The tuner shows that prediction beside the measured speedup
(prediction vs measured, as the loop does at THINK vs BENCHMARK) and uses it
to order and seed its search.

Everything here is a pure function over ``ParallelCosts`` except ``dry_run``
(which times a callable) and ``main`` (``python -m campaign.tune.parallel_model``:
load a target, ask it for its parallel map, dry-run it, print JSON).

The model, for ``w`` workers, ``n`` items and chunk size ``c``::

    T(1) = serial_s + n * item_s
    T(w) = serial_s                              # Amdahl's serial part
         + w * worker_start_s                    # workers start one after another
         + ceil(n / c) * chunk_overhead_s        # the parent dispatches chunks one by one
         + n * pickle_s                          # the parent pickles args/results
         + max(n * item_s / p, c * item_s)       # the parallel part, never finer than a chunk
    p    = min(w, cores / cpu_fraction)          # CPU-bound items cannot use more than the cores;
                                                 # items that wait (sleep, I/O) can
"""

from __future__ import annotations

import json
import math
import os
import pickle
import sys
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Iterable

# knob names the tuner recognises as "number of workers" and "chunk size"
WORKER_KNOBS = ("n_jobs", "workers", "processes", "n_workers", "threads", "n_threads")
CHUNK_KNOBS = ("chunksize", "chunk_size", "chunk")


@dataclass(frozen=True)
class ParallelCosts:
    """What one parallel map costs, from a dry run (all times in seconds)."""

    n_items: int
    item_s: float  # compute time of one item, run in-process
    cpu_fraction: float  # CPU time / wall time of one item: 1 = CPU-bound, ~0 = waits (sleep, I/O)
    pickle_s: float  # per item: pickling + unpickling its argument and its result
    worker_start_s: float  # starting one worker of the pool
    chunk_overhead_s: float  # one chunk's dispatch + result round trip, empty work
    serial_s: float = 0.0  # time of the run outside the parallel map (Amdahl's serial part)
    cores: int = 1
    executor: str = "process"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ParallelCosts":
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in fields})

    def with_serial(self, serial_s: float) -> "ParallelCosts":
        data = self.to_dict()
        data["serial_s"] = max(0.0, float(serial_s))
        return ParallelCosts(**data)


def amdahl_speedup(parallel_fraction: float, workers: float) -> float:
    """Amdahl's law: the speedup of a run whose ``parallel_fraction`` runs on ``workers``."""
    f = min(max(float(parallel_fraction), 0.0), 1.0)
    n = max(float(workers), 1.0)
    return 1.0 / ((1.0 - f) + f / n)


def default_chunksize(n_items: int, workers: int) -> int:
    """The chunk size ``multiprocessing.Pool.map`` picks when none is given."""
    if workers <= 0 or n_items <= 0:
        return 1
    chunks, extra = divmod(n_items, workers * 4)
    return max(1, chunks + (1 if extra else 0))


def effective_parallelism(costs: ParallelCosts, workers: int) -> float:
    """How many workers can actually run at once: CPU-bound items are capped by the cores."""
    if workers <= 1:
        return 1.0
    frac = max(costs.cpu_fraction, 1e-6)
    return max(1.0, min(float(workers), max(costs.cores, 1) / frac))


def predict_time(costs: ParallelCosts, workers: int, chunksize: int | None = None) -> float:
    """Predicted whole-run seconds with ``workers`` workers (1 = serial, no pool)."""
    n = max(int(costs.n_items), 0)
    if workers <= 1:
        return costs.serial_s + n * costs.item_s
    c = int(chunksize) if chunksize and chunksize > 0 else default_chunksize(n, workers)
    chunks = math.ceil(n / c) if n else 0
    p = effective_parallelism(costs, workers)
    parallel = max(n * costs.item_s / p, min(c, n) * costs.item_s)
    return (
        costs.serial_s
        + workers * costs.worker_start_s
        + chunks * costs.chunk_overhead_s
        + n * costs.pickle_s
        + parallel
    )


def predict_speedup(costs: ParallelCosts, workers: int, chunksize: int | None = None) -> float:
    """Predicted speedup of ``workers`` workers (and ``chunksize``) over the serial run."""
    parallel = predict_time(costs, workers, chunksize)
    if parallel <= 0:
        return 1.0
    return predict_time(costs, 1) / parallel


def parallel_fraction(costs: ParallelCosts) -> float:
    """The share of the serial run spent inside the map (Amdahl's ``f``)."""
    total = predict_time(costs, 1)
    return (costs.n_items * costs.item_s) / total if total > 0 else 0.0


def knob_roles(knob_names: Iterable[str]) -> tuple[str | None, str | None]:
    """(the workers knob, the chunk-size knob) among ``knob_names``, each or None."""
    names = list(knob_names)
    workers = next((k for k in WORKER_KNOBS if k in names), None)
    chunk = next((k for k in CHUNK_KNOBS if k in names), None)
    return workers, chunk


def predict_for_knobs(costs: ParallelCosts, knobs: dict[str, Any]) -> float | None:
    """Predicted speedup over serial of a knob configuration, or None without a workers knob."""
    workers_knob, chunk_knob = knob_roles(knobs)
    if workers_knob is None:
        return None
    try:
        workers = int(knobs[workers_knob])
    except (TypeError, ValueError):
        return None
    chunk = knobs.get(chunk_knob) if chunk_knob else None
    try:
        chunk = int(chunk) if chunk is not None else None
    except (TypeError, ValueError):
        chunk = None
    return predict_speedup(costs, workers, chunk)


# --------------------------------------------------------------------------- dry run


def _noop(x):
    return x


def _time_pool(executor: str, rounds: int) -> tuple[float, float]:
    """(start-up of one worker, one empty chunk's round trip), measured on a 1-worker pool."""
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    pool_cls = ThreadPoolExecutor if executor == "thread" else ProcessPoolExecutor
    t0 = time.perf_counter()
    pool = pool_cls(max_workers=1)
    try:
        pool.submit(_noop, 0).result()
        first = time.perf_counter() - t0
        t1 = time.perf_counter()
        for i in range(rounds):
            pool.submit(_noop, i).result()
        per_chunk = (time.perf_counter() - t1) / max(rounds, 1)
    finally:
        pool.shutdown(wait=True)
    return max(first - per_chunk, 0.0), per_chunk


def dry_run(
    fn: Callable[[Any], Any],
    items: list,
    executor: str = "process",
    sample: int = 8,
    rounds: int = 20,
    cores: int | None = None,
) -> ParallelCosts:
    """Time ``fn`` on a few of ``items`` in-process and a 1-worker pool's overheads.

    ``items`` is the whole list the map runs over (its length is ``n_items``);
    only the first ``sample`` are computed. ``serial_s`` is left at 0: the
    caller knows the whole run's time and sets it with ``with_serial``.
    """
    items = list(items)
    picked = items[: max(1, sample)] if items else []
    walls, cpus, pickles = [], [], []
    for item in picked:
        c0, w0 = time.process_time(), time.perf_counter()
        result = fn(item)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
        p0 = time.perf_counter()
        pickle.loads(pickle.dumps(item))
        pickle.loads(pickle.dumps(result))
        pickles.append(time.perf_counter() - p0)
    item_s = sum(walls) / len(walls) if walls else 0.0
    cpu_fraction = min(1.0, sum(cpus) / sum(walls)) if sum(walls) > 0 else 1.0
    pickle_s = (sum(pickles) / len(pickles)) if pickles and executor != "thread" else 0.0
    start_s, chunk_s = _time_pool(executor, rounds)
    if cores is None:
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cores = os.cpu_count() or 1
    return ParallelCosts(
        n_items=len(items),
        item_s=item_s,
        cpu_fraction=cpu_fraction,
        pickle_s=pickle_s,
        worker_start_s=start_s,
        chunk_overhead_s=chunk_s,
        cores=int(cores),
        executor=executor,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m campaign.tune.parallel_model SPEC CASE [--knobs JSON]``: dry-run a target's parallel map.

    The target (loaded as the worker loads it, the workspace first on
    ``sys.path``) must define ``parallel_map(case, workdir, knobs) -> (fn, items)``
    and may set ``parallel_executor`` ("process" or "thread"). Prints one JSON
    object: ``{"costs": {...}}`` or ``{"error": "..."}``.
    """
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(prog="python -m campaign.tune.parallel_model")
    parser.add_argument("spec")
    parser.add_argument("case")
    parser.add_argument("--knobs", default=None)
    args = parser.parse_args(argv)
    try:
        from campaign.plugins.loading import load_target

        workdir = Path.cwd()
        sys.path.insert(0, str(workdir))
        target = load_target(args.spec, workdir)
        if not hasattr(target, "parallel_map"):
            print(json.dumps({"error": f"target {target.name or args.spec!r} declares no parallel_map"}))
            return 0
        knobs = json.loads(args.knobs) if args.knobs else {}
        fn, items = target.parallel_map(args.case, workdir, knobs)
        executor = getattr(target, "parallel_executor", "process")
        costs = dry_run(fn, items, executor=executor)
    except Exception as exc:  # noqa: BLE001 - reported as data: the hint is optional
        print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
        return 1
    print(json.dumps({"costs": costs.to_dict()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
