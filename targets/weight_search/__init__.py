"""weight_search -- the flagship built-in target and its drop-in API.

``WeightCombinationSearch`` is a drop-in for the original class, built on the
fastest exact playbook stage (meet in the middle, ``stages/07_parallel_mitm.py``)
and on its seeded SAMPLED mode when N exceeds ``sampling_threshold`` (default:
the exact mode's documented limit, ``EXHAUSTIVE_MAX_N`` = 44) or when asked.

Importing this package is cheap: numpy/numba and the kernel load on first use.
``TARGET`` is the campaign plugin (``target.WeightSearchTarget``).
"""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

from targets.weight_search.target import WeightSearchTarget

HERE = Path(__file__).resolve().parent
STAGES = HERE / "stages"
FASTEST_STAGE = "07_parallel_mitm.py"
EXHAUSTIVE_MAX_N = 44  # stages/07 MAX_N: 2**22 right-half sums at most

_loaded: dict[str, object] = {}


def load_stage(filename: str):
    """Import a stage file (``stages/NN_key.py``) as a module, once per process."""
    if filename not in _loaded:
        name = "targets.weight_search.stages._" + Path(filename).stem
        spec = importlib.util.spec_from_file_location(name, STAGES / filename)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses resolve their module while executing
        spec.loader.exec_module(module)
        _loaded[filename] = module
    return _loaded[filename]


def kernel():
    """The module behind the API (the fastest exact stage)."""
    return load_stage(FASTEST_STAGE)


class WeightCombinationSearch:
    """Find W with |sum(c*W) - target| <= tolerance (spec: shared/specs/weight_search.md).

    Exhaustive mode returns exactly what the naive baseline returns (same W bit for
    bit on integer problems) for N <= 44. Beyond ``sampling_threshold`` (or always, with
    ``adaptive_sampling='always'``) the seeded sampled mode runs an exact search over a
    subset of k = 2*log2(sample_size/8) parameters per cycle (``sampling_strategy``:
    'random' or 'importance'); ``sample_size`` is the evaluation budget per cycle.
    ``parallel``/``n_jobs`` never change the answer.
    """

    def __init__(self, tolerance=0.0, max_iter=32, initial_wpn=1.0, wpn_bounds=(-math.inf, math.inf),
                 early_stopping=True, adaptive_sampling=True, sampling_threshold=EXHAUSTIVE_MAX_N,
                 sample_size=10_000, sampling_strategy="random", use_numba=True, parallel=False,
                 n_jobs=-1, seed=0):
        self.tolerance = tolerance
        self.max_iter = max_iter
        self.initial_wpn = initial_wpn
        self.wpn_bounds = tuple(wpn_bounds)
        self.early_stopping = early_stopping
        self.adaptive_sampling = adaptive_sampling
        self.sampling_threshold = int(sampling_threshold)
        self.sample_size = int(sample_size)
        self.sampling_strategy = sampling_strategy
        self.use_numba = use_numba
        self.parallel = parallel
        self.n_jobs = n_jobs
        self.seed = seed
        self.last_result = None

    def mode_for(self, n: int) -> str:
        if self.adaptive_sampling == "always":
            return "sampled"
        if self.adaptive_sampling and n > self.sampling_threshold:
            return "sampled"
        return "exhaustive"

    def search(self, coefficients, target, tolerance=None, max_iter=None):
        """Run the search; returns (and stores as ``last_result``) the rich SearchResult."""
        k = kernel()
        coefficients = [float(x) for x in coefficients]
        args = dict(
            tolerance=self.tolerance if tolerance is None else tolerance,
            max_iter=self.max_iter if max_iter is None else max_iter,
            initial_wpn=self.initial_wpn, wpn_bounds=self.wpn_bounds,
            early_stopping=self.early_stopping, use_numba=self.use_numba,
            n_jobs=self.n_jobs if self.parallel else 1,
        )
        if self.mode_for(len(coefficients)) == "sampled":
            result = k.search_sampled(coefficients, target, sample_size=self.sample_size,
                                      strategy=self.sampling_strategy, seed=self.seed, **args)
        else:
            result = k.search(coefficients, target, **args)
        self.last_result = result
        return result

    def find_optimal_weights(self, coefficients, target, tolerance=None, max_iter=None):
        """The original API: returns W as a numpy array (details in ``last_result``)."""
        import numpy as np

        return np.array(self.search(coefficients, target, tolerance, max_iter).W, dtype=float)


TARGET = WeightSearchTarget()

__all__ = ["WeightCombinationSearch", "WeightSearchTarget", "TARGET", "kernel", "load_stage", "EXHAUSTIVE_MAX_N"]
