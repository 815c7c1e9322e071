"""Stage 06 -- meet in the middle: beat 2**N enumeration, exact contract kept.

Profile after stage 05: ~3-8 ns/line, but the count of lines is 2**N per full
cycle (rand-24: 16.7M lines, 0.20 s per cycle; N=40 impossible). Per cycle the
result is a fold of a fixed prefix, a left half and a right half of parameters.
Canonical lines are walked in blocks [2^(m-1), 2^m) (top m-1 free parameters),
each split in two halves: left sums A[L] in canonical order, right sums B[R] sorted
once; per L a binary search finds the closest / first-within-tolerance right
sums. Exact (dyadic) cycles compare sums directly; otherwise every candidate
within a rigorous rounding bound is refolded the reference way (bit-identical).
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
# Exhaustive-exact up to N = 44: the right half then holds 2**22 sums (~100 MB of
# tables); a cycle that never stops early costs ~2**(N/2) log work.
MAX_N = 44


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
except Exception:  # clean fallback: the same functions run as plain Python (slow)
    _numba = None

EPS = 2.0 ** -52
SMALL_BITS = 12  # lines below 2**12 are walked directly (odometer)
_COMPILE_S = 0.0
_KERNELS = {}
# Numba's on-disk cache, on only where the kernel is loaded as the campaign's ``kernel``
# module (workers and the self-check set CAMPAIGN_JIT_CACHE=1): every fresh benchmark
# process then loads the compiled code instead of compiling for seconds. Off elsewhere:
# the cache is keyed by file, not by module name or by constants patched before compiling.
_JIT_CACHE = __import__("os").environ.get("CAMPAIGN_JIT_CACHE") == "1"


def _scan(u, s, n, k, target, tol, early):
    """Odometer over lines 0 .. 2**k - 1 (params n-k..n-1 free, others unselected).

    Returns (best_delta, best_result, best_line, some_nonneg, early_line, evaluated).
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


def _table(pre, u, s, first, cnt):
    """out[x] = fold(pre, params first..first+cnt-1 selected by the bits of x), canonical order."""
    out = np.empty(1 << cnt)
    out[0] = pre
    size = 1
    for j in range(cnt):
        i = first + j
        for x in range(size - 1, -1, -1):
            v = out[x]
            out[2 * x + 1] = v + s[i]
            out[2 * x] = v + u[i]
        size *= 2
    return out


def _fold(a, u, s, first, cnt, bits):
    """The reference fold from a over params first..first+cnt-1 with the given bits."""
    r = a
    for j in range(cnt):
        if (bits >> (cnt - 1 - j)) & 1:
            r += s[first + j]
        else:
            r += u[first + j]
    return r


def _better(d, r, line, bd, br, bl):
    """Winner order: smaller delta, then larger result, then earlier line."""
    return d < bd or (d == bd and (r > br or (r == br and line < bl)))


def _half_right(u, s, n, fr, exact):
    """Sorted right-half sums: (values, min R per value) -- deduplicated when exact."""
    B = _table(0.0, u, s, n - fr, fr)
    order = np.argsort(B, kind="mergesort")  # stable: equal sums keep R ascending
    Bs = B[order]
    if not exact:
        return Bs, order.astype(np.int64)
    m = len(Bs)
    keep = np.empty(m, np.int64)
    cnt = 0
    for p in range(m):
        if p == 0 or Bs[p] != Bs[p - 1]:
            keep[cnt] = p
            cnt += 1
    keep = keep[:cnt]
    return Bs[keep].copy(), order[keep].astype(np.int64)


def _process(A, L0, L1, Bu, Rm, u, s, n, fr, target, tol, early, exact, SR, base_line,
             bd, br, bl, nonneg):
    """Lines base_line + L*2^fr + R for L in [L0, L1): early hit, best, nonneg.

    Returns (hit_line or -1, hit_delta, hit_result, bd, br, bl, nonneg).
    """
    m = len(Bu)
    big = 1 << 62
    for L in range(L0, L1):
        a = A[L]
        need = target - a
        if exact:
            E = 0.0
        else:
            E = (2 * fr + 8) * EPS * (abs(a) + SR + abs(target))
        lbase = base_line + (L << fr)
        if early:
            if exact:
                lo = np.searchsorted(Bu, need - tol, side="left")
                hi = np.searchsorted(Bu, need + tol, side="right")
                if lo < hi:
                    minR = big
                    for p in range(lo, hi):
                        if Rm[p] < minR:
                            minR = Rm[p]
                    v = a + Bu[lo]
                    for p in range(lo, hi):
                        if Rm[p] == minR:
                            v = a + Bu[p]
                    return lbase + minR, abs(v - target), v, bd, br, bl, nonneg
            else:
                Ew = E + 4 * EPS * tol
                lo = np.searchsorted(Bu, need - tol - Ew, side="left")
                hi = np.searchsorted(Bu, need + tol + Ew, side="right")
                minR = big
                minv = 0.0
                for p in range(lo, hi):
                    R = Rm[p]
                    if R < minR:
                        v = _fold(a, u, s, n - fr, fr, R)
                        if abs(v - target) <= tol:
                            minR = R
                            minv = v
                if minR < big:
                    return lbase + minR, abs(minv - target), minv, bd, br, bl, nonneg
        if not nonneg:
            if exact:
                if (a + Bu[m - 1]) - target >= 0:
                    nonneg = True
            else:
                p = m - 1
                while p >= 0 and a + Bu[p] >= target - E:
                    v = _fold(a, u, s, n - fr, fr, Rm[p])
                    if v - target >= 0:
                        nonneg = True
                        break
                    p -= 1
        p = np.searchsorted(Bu, need, side="left")
        if exact:
            for q in range(p - 1, p + 1):
                if 0 <= q < m:
                    v = a + Bu[q]
                    d = abs(v - target)
                    line = lbase + Rm[q]
                    if _better(d, v, line, bd, br, bl):
                        bd, br, bl = d, v, line
        else:
            for q in range(p - 1, p + 1):
                if 0 <= q < m:
                    v = _fold(a, u, s, n - fr, fr, Rm[q])
                    d = abs(v - target)
                    line = lbase + Rm[q]
                    if _better(d, v, line, bd, br, bl):
                        bd, br, bl = d, v, line
            q = p - 2
            while q >= 0 and need - Bu[q] <= bd + E:
                v = _fold(a, u, s, n - fr, fr, Rm[q])
                d = abs(v - target)
                line = lbase + Rm[q]
                if _better(d, v, line, bd, br, bl):
                    bd, br, bl = d, v, line
                q -= 1
            q = p + 1
            while q < m and Bu[q] - need <= bd + E:
                v = _fold(a, u, s, n - fr, fr, Rm[q])
                d = abs(v - target)
                line = lbase + Rm[q]
                if _better(d, v, line, bd, br, bl):
                    bd, br, bl = d, v, line
                q += 1
    return -1, 0.0, 0.0, bd, br, bl, nonneg


def _cycle(u, s, n, target, tol, early, exact, n_chunks):
    """One cycle. Returns (best_delta, best_result, best_line, some_nonneg, early_line, accounted)."""
    k0 = min(n, SMALL_BITS)
    bd, br, bl, nonneg, eline, ev = _scan(u, s, n, k0, target, tol, early)
    if eline >= 0:
        return bd, br, bl, nonneg, eline, eline
    cache_fr = -1
    Bu = np.empty(0)
    Rm = np.empty(0, np.int64)
    SR = 0.0
    for mm in range(k0 + 1, n + 1):
        f = mm - 1
        fr = (f + 1) // 2
        fl = f - fr
        pre = 0.0
        for i in range(n - mm):
            pre += u[i]
        pre += s[n - mm]
        A = _table(pre, u, s, n - f, fl)
        if fr != cache_fr:
            Bu, Rm = _half_right(u, s, n, fr, exact)
            SR = 0.0
            for j in range(n - fr, n):
                SR += max(abs(u[j]), abs(s[j]))
            cache_fr = fr
        base_line = 1 << (mm - 1)
        hit, hd, hr, bd, br, bl, nonneg = _process(A, 0, len(A), Bu, Rm, u, s, n, fr, target, tol,
                                                   early, exact, SR, base_line, bd, br, bl, nonneg)
        if hit >= 0:
            return hd, hr, hit, nonneg, hit, hit
    return bd, br, bl, nonneg, -1, (1 << n) - 1


def compile_seconds():
    """Seconds spent compiling the JIT kernels in this process (0 without numba)."""
    return _COMPILE_S


def _kernel(use_numba):
    global _COMPILE_S
    if not use_numba or _numba is None:
        return _cycle
    if "cycle" not in _KERNELS:
        t0 = time.perf_counter()
        g = globals()
        jit = _numba.njit(cache=_JIT_CACHE, nogil=True)
        for name in ("_scan", "_table", "_fold", "_better", "_half_right", "_process"):
            g[name] = jit(g[name])
        f = _numba.njit("Tuple((f8, f8, i8, b1, i8, i8))(f8[:], f8[:], i8, f8, f8, b1, b1, i8)",
                        cache=_JIT_CACHE, nogil=True)(_cycle)
        _COMPILE_S += time.perf_counter() - t0
        _KERNELS["cycle"] = f
    return _KERNELS["cycle"]


def _lowest_bit_exponent(x):
    m, e = math.frexp(x)
    mant = int(m * 9007199254740992.0)  # m * 2**53, an exact integer
    return e - 53 + ((mant & -mant).bit_length() - 1)


def exact_regime(u, s, target, tol):
    """True when every fold, difference and bound of this cycle is exact in float64.

    All values are multiples of 2**q (q = lowest set bit over terms, target, tol) and
    any partial sum is bounded by M = sum(max|term|) + |target| + tol: if M < 2**(q+52)
    every intermediate is representable, so any summation order gives the same bits.
    """
    vals = [target, tol]
    vals.extend(u)
    vals.extend(s)
    q = math.inf
    for x in vals:
        if not math.isfinite(x):
            return False
        if x != 0:
            q = min(q, _lowest_bit_exponent(x))
    if q == math.inf:
        return True
    M = abs(target) + tol + sum(max(abs(a), abs(b)) for a, b in zip(u, s))
    return M < math.ldexp(1.0, int(q) + 52)


def search(coefficients, target, tolerance=0.0, max_iter=32, initial_wpn=1.0,
           wpn_bounds=(-math.inf, math.inf), early_stopping=True, *, use_numba=True, n_jobs=1):
    c, target, tol, max_iter, wpn, lo, hi = validate(
        coefficients, target, tolerance, max_iter, initial_wpn, wpn_bounds, MAX_N)
    n = len(c)
    cycle = _kernel(use_numba)
    W = [0.0] * n
    history = []
    combinations = 0
    converged = False
    cycles = 0
    for _ in range(max_iter):
        cycles += 1
        b = [w if w != 0 else 1.0 for w in W]
        with phase("evaluate"):
            u = [c[i] * W[i] for i in range(n)]
            s = [c[i] * (b[i] * wpn) for i in range(n)]
            exact = exact_regime(u, s, target, tol)
            d, r, line, nonneg, early_line, accounted = cycle(
                np.array(u), np.array(s), n, target, tol, bool(early_stopping), exact, int(n_jobs))
            combinations += int(accounted)
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
