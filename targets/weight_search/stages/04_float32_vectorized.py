"""Stage 04 (ATTEMPT, expected to be rejected) -- float32 vectorized accumulation.

Profile after stage 03: the NumPy fold is memory-bound (~16 bytes moved per line
per parameter level); halving the element size promises ~1.5-2x. The catch: float32
has a 24-bit mantissa, so sums above 2**24 (or of terms ~1e-7 apart) round, deltas
tie or flip and the winner -- hence W -- changes. A real optimization people try;
the campaign's TEST (W exact vs the naive baseline) must catch and reject it.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

try:  # phase timing when running under the campaign framework
    from campaign.plugins.phases import phase
except Exception:  # standalone drop-in: no-op phases

    @contextmanager
    def phase(name):
        yield


MODE = "exhaustive"
MAX_N = 26  # O(2^N) NumPy work per cycle: N = 26 is ~1 s per cycle
BLOCK_BITS = 16


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


def _block_results(u, s, start, k, n):
    """Results of canonical lines start .. start + 2**k - 1 (start a multiple of 2**k)."""
    pre = 0.0
    for i in range(n - k):  # fixed top parameters, folded left to right
        pre += s[i] if (start >> (n - 1 - i)) & 1 else u[i]
    res = np.array([pre], dtype=np.float32)
    for i in range(n - k, n):
        res = np.stack((res + np.float32(u[i]), res + np.float32(s[i])), axis=1).reshape(-1)
    return res


def _blocks(n):
    """(start, k) blocks covering lines 0 .. 2**n - 1 in canonical order, doubling in size."""
    k0 = min(n, 10)
    yield 0, k0
    for k in range(k0, n):
        kb = min(k, BLOCK_BITS)
        for start in range(1 << k, 1 << (k + 1), 1 << kb):
            yield start, kb


def search(coefficients, target, tolerance=0.0, max_iter=32, initial_wpn=1.0,
           wpn_bounds=(-math.inf, math.inf), early_stopping=True):
    c, target, tol, max_iter, wpn, lo, hi = validate(
        coefficients, target, tolerance, max_iter, initial_wpn, wpn_bounds, MAX_N)
    n = len(c)
    W = [0.0] * n
    history = []
    combinations = 0
    converged = False
    cycles = 0
    for _ in range(max_iter):
        cycles += 1
        b = [w if w != 0 else 1.0 for w in W]
        u = [c[i] * W[i] for i in range(n)]
        s = [c[i] * (b[i] * wpn) for i in range(n)]
        best = (math.inf, -math.inf, 0)  # (delta, result, line)
        some_nonneg = False
        early_line = None
        for start, k in _blocks(n):
            with phase("evaluate"):
                res = _block_results(u, s, start, k, n)
                if start == 0:
                    res[0] = np.nan  # line 0 is excluded (nan fails every comparison)
                cond = res - np.float32(target)
                delta = np.abs(cond)
                combinations += len(res) - (start == 0)
            with phase("select"):
                if early_stopping:
                    hits = np.flatnonzero(delta <= tol)
                    if len(hits):
                        j = int(hits[0])
                        early_line = start + j
                        best = (float(delta[j]), float(res[j]), start + j)
                        break
                if not some_nonneg and bool(np.any(cond >= 0)):
                    some_nonneg = True
                m = np.nanmin(delta)
                if m <= best[0]:
                    cand = np.flatnonzero(delta == m)
                    j = int(cand[np.argmax(res[cand])])
                    r = float(res[j])
                    if m < best[0] or r > best[1]:
                        best = (float(m), r, start + j)
        with phase("update"):
            winner_delta, _, winner_line = best
            for i in range(n):
                if (winner_line >> (n - 1 - i)) & 1:
                    W[i] = b[i] * wpn
            history.append({"wpn": wpn, "best_delta": winner_delta, "early_stop_line": early_line})
            if winner_delta <= tol:
                converged = True
                break
            wpn = wpn / 2 if some_nonneg else wpn * 2
            wpn = min(max(wpn, lo), hi)
    return SearchResult(W=W, error=final_error(c, W, target), converged=converged,
                        cycles=cycles, combinations=combinations, history=history)
