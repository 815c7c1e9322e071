"""Stage 05 -- Numba @njit odometer: O(1) amortized work per line, exact early exit.

Profile after stage 03 (rand-13, rand-16): NumPy fold ~12-25 ns/line, bound by
memory traffic of N-1 temporary arrays; it also evaluates whole blocks past an
early stop. Change: walk the canonical order like an odometer, keeping the prefix
sums s[i] = fold of terms 0..i-1; moving to the next line only refolds from the
highest flipped parameter (2 additions per line on average), in compiled code.
Same additions in the same order as the reference: bit-identical. Without numba
the same function runs as plain Python (correct, slow). ``compile_seconds()``.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field

try:  # phase timing when running under the campaign framework
    from campaign.plugins.phases import phase
except Exception:  # standalone drop-in: no-op phases

    @contextmanager
    def phase(name):
        yield


MODE = "exhaustive"
MAX_N = 32  # ~2-4 ns per line compiled: N = 32 is ~10 s per cycle


@dataclass
class SearchResult:
    W: list
    error: float
    converged: bool
    cycles: int
    combinations: int
    history: list = field(default_factory=list)
    mode: str = MODE


def validate(coefficients, target, tolerance, max_iter, initial_wpn, wpn_bounds, max_n):
    try:
        c = [float(x) for x in coefficients]
    except TypeError:
        raise ValueError("coefficients must be a sequence of numbers") from None
    if len(c) == 0:
        raise ValueError("coefficients must not be empty")
    if not all(math.isfinite(x) for x in c):
        raise ValueError("coefficients must be finite (found nan or inf)")
    if all(x == 0.0 for x in c):
        raise ValueError("coefficients must not be all zero")
    target = float(target)
    if not math.isfinite(target):
        raise ValueError("target must be finite")
    tolerance = float(tolerance)
    if math.isnan(tolerance) or tolerance < 0:
        raise ValueError("tolerance must be >= 0")
    if int(max_iter) != max_iter or max_iter < 1:
        raise ValueError("max_iter must be an integer >= 1")
    initial_wpn = float(initial_wpn)
    if not math.isfinite(initial_wpn):
        raise ValueError("initial_wpn must be finite")
    if initial_wpn == 0:
        raise ValueError("initial_wpn must not be 0")
    lo, hi = (float(v) for v in wpn_bounds)
    if math.isnan(lo) or math.isnan(hi):
        raise ValueError("wpn_bounds must not contain nan")
    if lo > hi:
        raise ValueError(f"wpn_bounds are inverted: lower {lo} > upper {hi}")
    if len(c) > max_n:
        raise ValueError(
            f"coefficients: N={len(c)} exceeds this mode's documented limit of {max_n} parameters"
        )
    return c, target, tolerance, int(max_iter), initial_wpn, lo, hi


def final_error(c, W, target):
    total = 0.0
    for ci, wi in zip(c, W):
        total += ci * wi
    return abs(total - target)



import time

import numpy as np

try:
    import numba as _numba
except Exception:  # clean fallback: the same functions run as plain Python
    _numba = None

_COMPILE_S = 0.0
_KERNELS = {}
# Numba's on-disk cache, on only where the kernel is loaded as the campaign's ``kernel``
# module (workers and the self-check set CAMPAIGN_JIT_CACHE=1): every fresh benchmark
# process then loads the compiled code instead of compiling for seconds. Off elsewhere:
# the cache is keyed by file, not by module name or by constants patched before compiling.
_JIT_CACHE = __import__("os").environ.get("CAMPAIGN_JIT_CACHE") == "1"


def _scan(u, s, n, k, target, tol, early):
    """Lines 0 .. 2**k - 1 (params n-k..n-1 free, the others unselected).

    Returns (best_delta, best_result, best_line, some_nonneg, early_line, evaluated);
    early_line is -1 when no early stop happened.
    """
    pre = np.zeros(n + 1)
    sel = np.zeros(n, np.int8)
    for i in range(n):
        pre[i + 1] = pre[i] + u[i]
    best_d = np.inf
    best_r = -np.inf
    best_line = 0
    nonneg = False
    total = 1 << k
    for line in range(1, total):
        j = n - 1
        while sel[j] == 1:
            sel[j] = 0
            j -= 1
        sel[j] = 1
        for i in range(j, n):
            if sel[i] == 1:
                pre[i + 1] = pre[i] + s[i]
            else:
                pre[i + 1] = pre[i] + u[i]
        r = pre[n]
        cond = r - target
        d = abs(cond)
        if cond >= 0:
            nonneg = True
        if early and d <= tol:
            return d, r, line, nonneg, line, line
        if d < best_d or (d == best_d and r > best_r):
            best_d = d
            best_r = r
            best_line = line
    return best_d, best_r, best_line, nonneg, -1, total - 1


def compile_seconds():
    """Seconds spent compiling the JIT kernels in this process (0 without numba)."""
    return _COMPILE_S


def _kernel(use_numba):
    global _COMPILE_S
    if not use_numba or _numba is None:
        return _scan
    if "scan" not in _KERNELS:
        t0 = time.perf_counter()
        f = _numba.njit("Tuple((f8, f8, i8, b1, i8, i8))(f8[:], f8[:], i8, i8, f8, f8, b1)",
                        cache=_JIT_CACHE, nogil=True)(_scan)
        _COMPILE_S += time.perf_counter() - t0
        _KERNELS["scan"] = f
    return _KERNELS["scan"]


def search(coefficients, target, tolerance=0.0, max_iter=32, initial_wpn=1.0,
           wpn_bounds=(-math.inf, math.inf), early_stopping=True, *, use_numba=True):
    c, target, tol, max_iter, wpn, lo, hi = validate(
        coefficients, target, tolerance, max_iter, initial_wpn, wpn_bounds, MAX_N)
    n = len(c)
    scan = _kernel(use_numba)
    W = [0.0] * n
    history = []
    combinations = 0
    converged = False
    cycles = 0
    for _ in range(max_iter):
        cycles += 1
        b = [w if w != 0 else 1.0 for w in W]
        with phase("evaluate"):
            u = np.array([c[i] * W[i] for i in range(n)])
            s = np.array([c[i] * (b[i] * wpn) for i in range(n)])
            d, r, line, nonneg, early_line, evaluated = scan(u, s, n, n, target, tol, bool(early_stopping))
            combinations += int(evaluated)
        with phase("select"):
            winner_line, winner_delta = int(line), float(d)
            early_line = int(early_line) if early_line >= 0 else None
        with phase("update"):
            for i in range(n):
                if (winner_line >> (n - 1 - i)) & 1:
                    W[i] = b[i] * wpn
            history.append({"wpn": wpn, "best_delta": winner_delta, "early_stop_line": early_line})
            if winner_delta <= tol:
                converged = True
                break
            wpn = wpn / 2 if nonneg else wpn * 2
            wpn = min(max(wpn, lo), hi)
    return SearchResult(W=W, error=final_error(c, W, target), converged=converged,
                        cycles=cycles, combinations=combinations, history=history)
