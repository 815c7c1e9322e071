"""Stage 07 -- incremental right half + multi-core MITM (+ the seeded SAMPLED mode).

Profile after stage 06 (rand-40, one full no-early-stop cycle 0.51 s): in the
largest block the right-half table + argsort takes 0.17 s, the per-L binary searches
0.07 s (only 9,147 distinct right sums of 1,048,576): the sorts are ~2/3 of the cycle.
Change: in exact (dyadic) cycles the sorted, deduplicated right half grows by one
parameter by MERGING two shifted copies, O(distinct sums) instead of a sort; and large
blocks split their L range into chunks under numba prange, reduced in L order with the
total order (delta, -result, line): the same answer for any n_jobs.
"""

from __future__ import annotations

import math
import os
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

prange = range  # replaced by numba.prange when the kernels are compiled
PAR_MIN_L = 1 << 11  # blocks with fewer left sums run single-threaded
SAMPLED_MAX_N = 100_000

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


def _grow_right(Bu, Rm, up, sp, half):
    """Exact cycles: sorted distinct right sums for one more (leading) parameter, by merging."""
    m = len(Bu)
    outB = np.empty(2 * m)
    outR = np.empty(2 * m, np.int64)
    i = 0
    j = 0
    k = 0
    while i < m or j < m:
        if j >= m or (i < m and Bu[i] + up <= Bu[j] + sp):
            v = Bu[i] + up
            r = Rm[i]
            i += 1
        else:
            v = Bu[j] + sp
            r = Rm[j] + half
            j += 1
        if k > 0 and outB[k - 1] == v:
            if r < outR[k - 1]:
                outR[k - 1] = r
        else:
            outB[k] = v
            outR[k] = r
            k += 1
    return outB[:k].copy(), outR[:k].copy()


def _process_chunks(A, nch, Bu, Rm, u, s, n, fr, target, tol, early, exact, SR, base_line, nonneg):
    """_process over nch chunks of the L range, in parallel; per-chunk answers."""
    nL = len(A)
    step = (nL + nch - 1) // nch
    hits = np.full(nch, -1, np.int64)
    hds = np.zeros(nch)
    hrs = np.zeros(nch)
    bds = np.full(nch, np.inf)
    brs = np.full(nch, -np.inf)
    bls = np.zeros(nch, np.int64)
    nns = np.zeros(nch, np.bool_)
    for ci in prange(nch):
        L0 = ci * step
        L1 = min(nL, L0 + step)
        if L0 < L1:
            h, hd, hr, bd, br, bl, nn = _process(A, L0, L1, Bu, Rm, u, s, n, fr, target, tol, early,
                                                 exact, SR, base_line, np.inf, -np.inf, 0, nonneg)
            hits[ci] = h
            hds[ci] = hd
            hrs[ci] = hr
            bds[ci] = bd
            brs[ci] = br
            bls[ci] = bl
            nns[ci] = nn
    return hits, hds, hrs, bds, brs, bls, nns


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
            if exact and cache_fr == fr - 1:
                Bu, Rm = _grow_right(Bu, Rm, u[n - fr], s[n - fr], 1 << (fr - 1))
            else:
                Bu, Rm = _half_right(u, s, n, fr, exact)
            SR = 0.0
            for j in range(n - fr, n):
                SR += max(abs(u[j]), abs(s[j]))
            cache_fr = fr
        base_line = 1 << (mm - 1)
        if n_chunks > 1 and len(A) >= PAR_MIN_L:
            hits, hds, hrs, bds, brs, bls, nns = _process_chunks(
                A, n_chunks, Bu, Rm, u, s, n, fr, target, tol, early, exact, SR, base_line, nonneg)
            for ci in range(n_chunks):  # reduce in L order: deterministic whatever the threads did
                if hits[ci] >= 0:
                    return hds[ci], hrs[ci], hits[ci], nonneg or nns[ci], hits[ci], hits[ci]
                if bls[ci] > 0 and _better(bds[ci], brs[ci], bls[ci], bd, br, bl):
                    bd, br, bl = bds[ci], brs[ci], bls[ci]
                nonneg = nonneg or nns[ci]
        else:
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
        for name in ("_scan", "_table", "_fold", "_better", "_half_right", "_grow_right", "_process"):
            g[name] = jit(g[name])
        g["prange"] = _numba.prange
        # GNU OpenMP threads spin after a parallel region by default; on 2 cores that
        # steals the CPU from the sequential parts (measured: n_jobs=2 3.5x SLOWER on a
        # rand-40 cycle). Passive waiting must be set before the OpenMP runtime loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        g["_process_chunks"] = _numba.njit(cache=_JIT_CACHE, nogil=True, parallel=True)(g["_process_chunks"])
        f = _numba.njit("Tuple((f8, f8, i8, b1, i8, i8))(f8[:], f8[:], i8, f8, f8, b1, b1, i8)",
                        cache=_JIT_CACHE, nogil=True)(_cycle)
        _COMPILE_S += time.perf_counter() - t0
        _KERNELS["cycle"] = f
    return _KERNELS["cycle"]


def _set_threads(n_jobs, use_numba):
    """Use n_jobs threads (-1: all); returns the chunk count (1: single-threaded)."""
    if n_jobs is None or n_jobs == 1 or not use_numba or _numba is None:
        return 1
    avail = _numba.config.NUMBA_NUM_THREADS
    k = avail if n_jobs < 0 else max(1, min(int(n_jobs), avail))
    _numba.set_num_threads(k)
    return 1 if k == 1 else 4 * k


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
    n_chunks = _set_threads(n_jobs, use_numba)
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
                np.array(u), np.array(s), n, target, tol, bool(early_stopping), exact, n_chunks)
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


def search_sampled(coefficients, target, tolerance=0.0, max_iter=32, initial_wpn=1.0,
                   wpn_bounds=(-math.inf, math.inf), early_stopping=True, *, sample_size=10_000,
                   strategy="random", seed=0, use_numba=True, n_jobs=1):
    """SAMPLED mode: each cycle searches the 2**k - 1 lines over a seeded subset of k parameters.

    ``sample_size`` is the evaluation budget per cycle, as in the original plan (its
    default, 10,000, is the original's "max combos to test per cycle"). Meet in the
    middle evaluates ~8 * 2**(k/2) partial sums for 2**k lines, so the budget buys
    k = floor(2*log2(sample_size/8)) parameters (10,000 -> k = 20, ~1M lines per cycle).
    The subset is the k parameters whose selection moves the result most
    (``importance``, seeded tie-break) or a seeded random subset (``random``); the
    sampled lines are searched EXACTLY (canonical order restricted to the subset).
    Contract: quality (|error| within 1% of exhaustive), not identity.
    """
    c, target, tol, max_iter, wpn, lo, hi = validate(
        coefficients, target, tolerance, max_iter, initial_wpn, wpn_bounds, SAMPLED_MAX_N)
    if strategy not in ("importance", "random"):
        raise ValueError("sampling_strategy must be 'importance' or 'random'")
    if sample_size < 1:
        raise ValueError("sample_size must be >= 1")
    n = len(c)
    k = max(1, min(n, MAX_N, int(2 * math.log2(max(sample_size, 8) / 8.0))))
    cycle = _kernel(use_numba)
    n_chunks = _set_threads(n_jobs, use_numba)
    W = [0.0] * n
    history = []
    combinations = 0
    converged = False
    cycles = 0
    for it in range(max_iter):
        cycles += 1
        b = [w if w != 0 else 1.0 for w in W]
        with phase("evaluate"):
            u = np.array([c[i] * W[i] for i in range(n)])
            s = np.array([c[i] * (b[i] * wpn) for i in range(n)])
            if k == n:
                S = np.arange(n)
            else:
                rng = np.random.default_rng([seed, it])
                if strategy == "random":
                    S = np.sort(rng.choice(n, size=k, replace=False))
                else:
                    move = np.abs(s - u)
                    S = np.sort(np.lexsort((rng.random(n), -move))[:k])
            rest = np.ones(n, bool)
            rest[S] = False
            off = float(np.sum(u[rest]))
            us = u[S].copy()
            ss = s[S].copy()
            us[0] += off
            ss[0] += off
            exact = exact_regime(us.tolist(), ss.tolist(), target, tol)
            d, r, line, nonneg, early_line, accounted = cycle(
                us, ss, k, target, tol, bool(early_stopping), exact, n_chunks)
            combinations += int(accounted)
        with phase("update"):
            line = int(line)
            global_line = 0  # the winner's line number in the full canonical order
            for j in range(k):
                if (line >> (k - 1 - j)) & 1:
                    i = int(S[j])
                    W[i] = b[i] * wpn
                    global_line |= 1 << (n - 1 - i)
            history.append({"wpn": wpn, "best_delta": float(d),
                            "early_stop_line": global_line if early_line >= 0 else None})
            if float(d) <= tol:
                converged = True
                break
            wpn = wpn / 2 if nonneg else wpn * 2
            wpn = min(max(wpn, lo), hi)
    err = final_error(c, W, target)
    return SearchResult(W=W, error=err, converged=converged and err <= tol, cycles=cycles,
                        combinations=combinations, history=history, mode="sampled")
