"""Statistics of a benchmark: pure functions over lists of numbers.

The unit of evidence is the *block*: one interleaved round in which every
variant ran in fresh processes (``campaign.measure.bench``). Per block we get one
paired ratio ``time_reference / time_candidate`` (> 1: the candidate is
faster). Over blocks:

* the speedup is the **median of the paired ratios**;
* its confidence interval is the exact **Wilcoxon signed-rank** interval of
  the centre of the log ratios (from the Walsh averages). It needs no
  normality, only symmetry, which the randomized mirrored block order
  provides (see below). With too few blocks for the requested level (below 6
  blocks at 95%, 8 at 99%, 11 at 99.9%) there is no exact interval, the range
  of the blocks is shown instead and nothing is decided from it. A seeded
  percentile bootstrap interval of the median is reported beside it
  (``bootstrap_ci``), for reference;
* the **minimum effect** is ``max(2%, noise floor)``. The noise floor is the
  machine's A/A result in the same session, for free: the mirrored block
  order runs every variant twice, so ``median(first run / second run)`` over
  blocks is an A/A "speedup" of identical code; its distance from 1 (drift,
  order effects, load changes) is the noise floor;
* the verdict is ``faster`` when the interval lies above 1 and the estimate
  is at least ``1 + min_effect``; ``slower`` symmetrically; ``same`` when the
  whole interval lies within ``[1/(1+s), 1+s]`` with ``s = min(min_effect,
  5%)`` (a benchmark too noisy to exclude a 5% change cannot call two
  variants the same); otherwise ``inconclusive``;
* an **overwhelming** result (every block's ratio beyond 1.2x and beyond
  ``1 + 5 x`` the typical difference between two runs of the same code, in
  the same direction) may be decided after ``min_blocks`` blocks, so a 20 s
  baseline against a 10 ms candidate does not run 30 blocks.

Why the signed-rank interval is honest here: each block's order (e.g. ABBA
or BAAB) is drawn at random, and swapping the two mirrored orders turns a
block's log ratio ``effect + e`` into ``effect - e`` under the same machine
noise, so the log ratios are symmetric about the true effect whatever the
noise looks like - exactly the condition of the signed-rank test.

Sequential testing: the benchmark looks at the data after every block. To
keep the false-verdict rate down, interim stops use a much stricter interval
(``EARLY_CONFIDENCE``, 99.9%) and the last look uses 99%
(``DECISION_CONFIDENCE``); the reported ``ci`` is the 95% interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

FINAL_CONFIDENCE = 0.95  # the reported interval
DECISION_CONFIDENCE = 0.99  # the interval that decides at the last look
EARLY_CONFIDENCE = 0.999  # the interval that may stop the benchmark early
MIN_EFFECT_FLOOR = 0.02
SAME_MAX_EFFECT = 0.05
OVERWHELMING_FACTOR = 1.2
OVERWHELMING_NOISE_MULTIPLE = 5.0
BOOTSTRAP_RESAMPLES = 2000


@dataclass
class Decision:
    """A verdict with the numbers that support it."""

    verdict: str
    speedup: float
    ci: tuple[float, float]
    confidence: float
    min_effect: float
    blocks: int
    overwhelming: bool = False
    ci_exact: bool = True  # False: too few blocks for a distribution-free interval at this level
    decision_ci: tuple[float, float] | None = None  # the (stricter) interval the verdict was read from
    bootstrap_ci: tuple[float, float] | None = None  # percentile bootstrap of the median (95%), for reference

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "speedup": self.speedup,
            "ci": list(self.ci),
            "confidence": self.confidence,
            "min_effect": self.min_effect,
            "blocks": self.blocks,
            "overwhelming": self.overwhelming,
            "ci_exact": self.ci_exact,
            "decision_ci": list(self.decision_ci) if self.decision_ci else None,
            "bootstrap_ci": list(self.bootstrap_ci) if self.bootstrap_ci else None,
            "interval": "exact Wilcoxon signed-rank (Walsh averages) of the log ratios",
        }


def paired_ratios(reference: list[float], candidate: list[float]) -> list[float]:
    """Per-block ratios ``reference / candidate`` (> 1: candidate faster)."""
    if len(reference) != len(candidate):
        raise ValueError("paired samples must have the same length")
    return [r / c if c > 0 else math.inf for r, c in zip(reference, candidate)]


def _binom_cdf_half(k: int, n: int) -> float:
    """P(X <= k) for X ~ Binomial(n, 1/2)."""
    return sum(math.comb(n, i) for i in range(0, k + 1)) / 2**n


def order_statistic_ci(values: list[float], confidence: float) -> tuple[float, float] | None:
    """Distribution-free CI of the median (sign-test inversion); ``None`` when ``n`` is too small."""
    x = sorted(values)
    n = len(x)
    alpha = 1 - confidence
    best = None
    # the interval [x_(k), x_(n-k+1)] (1-based) has coverage 1 - 2 P(X <= k-1)
    for k in range(1, n // 2 + 1):
        if 2 * _binom_cdf_half(k - 1, n) <= alpha:
            best = k
        else:
            break
    if best is None:
        return None
    return x[best - 1], x[n - best]


def bootstrap_median_ci(values: list[float], confidence: float, seed: int = 0, resamples: int = BOOTSTRAP_RESAMPLES) -> tuple[float, float]:
    """Seeded percentile bootstrap CI of the median."""
    n = len(values)
    if n == 0:
        return (math.nan, math.nan)
    if n == 1 or min(values) == max(values):
        return (values[0], values[0]) if n == 1 else (min(values), max(values))
    import numpy as np

    x = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    meds = np.sort(np.median(x[rng.integers(0, n, size=(resamples, n))], axis=1))
    lo_i = int(math.floor((1 - confidence) / 2 * resamples))
    hi_i = min(resamples - 1, int(math.ceil((1 + confidence) / 2 * resamples)) - 1)
    return float(meds[lo_i]), float(meds[hi_i])


def _signed_rank_null_cdf(n: int) -> list[float]:
    """P(T+ <= t) for t = 0..n(n+1)/2 under the null (exact, by counting subsets of ranks)."""
    top = n * (n + 1) // 2
    counts = [1] + [0] * top
    for r in range(1, n + 1):
        for t in range(top, r - 1, -1):
            counts[t] += counts[t - r]
    total = 2.0**n
    cdf, acc = [], 0
    for c in counts:
        acc += c
        cdf.append(acc / total)
    return cdf


def signed_rank_ci(ratios: list[float], confidence: float) -> tuple[float, float] | None:
    """Exact CI of the centre of the log ratios (Wilcoxon signed-rank inversion, Walsh averages), as ratios.

    Valid when the log ratios are symmetric about their centre, which the
    randomized mirrored block order guarantees (swapping the order of a block
    mirrors its log ratio about the true effect). ``None`` when ``n`` is too
    small for ``confidence``.
    """
    logs = [math.log(r) for r in ratios]
    n = len(logs)
    if n == 0:
        return None
    walsh = sorted((logs[i] + logs[j]) / 2 for i in range(n) for j in range(i, n))
    cdf = _signed_rank_null_cdf(n)
    alpha = 1 - confidence
    best = None
    # [W_(k), W_(N-k+1)] (1-based) covers the centre with probability 1 - 2 P(T+ <= k-1)
    for k in range(1, len(walsh) // 2 + 1):
        if 2 * cdf[k - 1] <= alpha:
            best = k
        else:
            break
    if best is None:
        return None
    return math.exp(walsh[best - 1]), math.exp(walsh[len(walsh) - best])


def median_ci(values: list[float], confidence: float, seed: int = 0) -> tuple[tuple[float, float], bool]:
    """The interval the verdict is read from: ``(ci, exact_available)``.

    The exact signed-rank interval when there are enough blocks for
    ``confidence``; otherwise the range of the blocks widened by the
    bootstrap interval (and ``exact_available`` is False: nothing may be
    decided from it).
    """
    exact = signed_rank_ci(values, confidence) if all(v > 0 and math.isfinite(v) for v in values) else None
    if exact is None:
        boot = bootstrap_median_ci(values, confidence, seed)
        return (min(boot[0], min(values)), max(boot[1], max(values))), False
    return exact, True


def noise_floor(pairs: list[tuple[float, float]]) -> float:
    """Same-session A/A effect: ``|median(first / second)| - 1`` over pairs of runs of the same code."""
    logs = [math.log(a / b) for a, b in pairs if a > 0 and b > 0]
    if not logs:
        return 0.0
    return math.expm1(abs(median(logs)))


def pair_spread(pairs: list[tuple[float, float]]) -> float:
    """Typical relative difference between two runs of the same code (0.03 = 3%)."""
    devs = [abs(math.log(a / b)) for a, b in pairs if a > 0 and b > 0]
    if not devs:
        return 0.0
    return math.expm1(median(devs))


def minimum_effect(noise: float, floor: float = MIN_EFFECT_FLOOR) -> float:
    """The smallest relative change a verdict may claim: ``max(2%, noise floor)``."""
    return max(floor, noise)


def is_overwhelming(ratios: list[float], noise: float, min_blocks: int) -> str | None:
    """``"faster"``/``"slower"`` when every block shows a huge change in one direction, else ``None``."""
    if len(ratios) < min_blocks or not ratios:
        return None
    factor = max(OVERWHELMING_FACTOR, 1 + OVERWHELMING_NOISE_MULTIPLE * noise)
    if all(r >= factor for r in ratios):
        return "faster"
    if all(r <= 1 / factor for r in ratios):
        return "slower"
    return None


def verdict_from_ci(speedup: float, ci: tuple[float, float], min_effect: float) -> str:
    """Map an estimate and its interval to faster / slower / same / inconclusive."""
    lo, hi = ci
    up, down = 1 + min_effect, 1 / (1 + min_effect)
    if lo > 1 and speedup >= up:
        return "faster"
    if hi < 1 and speedup <= down:
        return "slower"
    same = min(min_effect, SAME_MAX_EFFECT)
    if lo >= 1 / (1 + same) and hi <= 1 + same:
        return "same"
    return "inconclusive"


def decide(
    ratios: list[float],
    noise: float,
    *,
    final: bool,
    min_blocks: int = 3,
    seed: int = 0,
    min_effect_floor: float = MIN_EFFECT_FLOOR,
    spread: float | None = None,
) -> Decision:
    """The verdict after the blocks seen so far.

    ``noise`` is the same-session A/A noise floor (``noise_floor``);
    ``spread`` the typical difference between two runs of the same code
    (``pair_spread``; defaults to ``noise``), used only for the overwhelming
    rule. ``final=False`` is an interim look (99.9% interval: a verdict stops
    the benchmark early); ``final=True`` the last look (99%).
    """
    m = minimum_effect(noise, min_effect_floor)
    n = len(ratios)
    if n == 0:
        return Decision("inconclusive", math.nan, (math.nan, math.nan), FINAL_CONFIDENCE, m, 0, ci_exact=False)
    speedup = median(ratios)
    ci95, exact95 = median_ci(ratios, FINAL_CONFIDENCE, seed)
    over = is_overwhelming(ratios, noise if spread is None else spread, min_blocks)
    if over:
        return Decision(over, speedup, ci95, FINAL_CONFIDENCE, m, n, overwhelming=True, ci_exact=exact95)
    if n < min_blocks:
        return Decision("inconclusive", speedup, ci95, FINAL_CONFIDENCE, m, n, ci_exact=exact95)
    level = DECISION_CONFIDENCE if final else EARLY_CONFIDENCE
    ci_dec, exact_dec = median_ci(ratios, level, seed)
    verdict = verdict_from_ci(speedup, ci_dec, m) if exact_dec else "inconclusive"
    # the reported 95% interval lies inside the stricter one that decided
    return Decision(verdict, speedup, ci95, level, m, n, ci_exact=exact95, decision_ci=ci_dec,
                    bootstrap_ci=bootstrap_median_ci(ratios, FINAL_CONFIDENCE, seed))


def geometric_mean(values: list[float]) -> float:
    vals = [v for v in values if v > 0 and math.isfinite(v)]
    if not vals:
        return math.nan
    return math.exp(sum(math.log(v) for v in vals) / len(vals))


def amdahl_speedup(share: float, phase_speedup: float) -> float:
    """Whole-run speedup when a phase holding ``share`` of the time gets ``phase_speedup`` faster."""
    if phase_speedup <= 0:
        raise ValueError("phase_speedup must be > 0")
    if math.isinf(phase_speedup):
        return math.inf if share >= 1 else 1 / (1 - share)
    return 1 / ((1 - share) + share / phase_speedup)


def amdahl_bound(share: float, factor: float = math.inf) -> float:
    """The best whole-run speedup from speeding up a phase with ``share`` by ``factor`` (default: infinitely)."""
    share = min(max(share, 0.0), 1.0)
    return amdahl_speedup(share, factor)
