"""Statistics of a benchmark: pure functions over lists of numbers.

The unit of evidence is the *block*: one interleaved round in which every
variant ran in fresh processes (``campaign.bench``). Per block we get one
paired ratio ``time_reference / time_candidate`` (> 1: the candidate is
faster). Over blocks:

* the speedup is the **median of the paired ratios**;
* its confidence interval is the **union** of a seeded percentile bootstrap
  interval of the median and the distribution-free order-statistic (sign
  test) interval of the median. The bootstrap alone is too narrow with few
  blocks; the exact interval does not exist below 6 blocks at 95% (8 at 99%),
  and then the result cannot be decided on the interval at all;
* the **minimum effect** is ``max(2%, noise floor)``, where the noise floor is
  the typical relative difference between two fresh-process runs of the
  *same* code in the same block (an A/A measurement taken for free by the
  mirrored block order);
* the verdict is ``faster`` when the interval lies above 1 and the estimate
  is at least ``1 + min_effect``; ``slower`` symmetrically; ``same`` when the
  whole interval lies within ``[1/(1+m), 1+m]``; otherwise ``inconclusive``;
* an **overwhelming** result (every block's ratio beyond 1.5x and beyond 5
  noise floors, in the same direction) may be decided after ``min_blocks``
  blocks, so a 20 s baseline against a 10 ms candidate does not run 30 blocks.

Sequential testing: the benchmark looks at the data after every block. To
keep the false-verdict rate down, interim stops use a stricter interval
(``EARLY_CONFIDENCE``, 99%); only the last look uses 95%.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from statistics import median

FINAL_CONFIDENCE = 0.95
EARLY_CONFIDENCE = 0.99
MIN_EFFECT_FLOOR = 0.02
OVERWHELMING_FACTOR = 1.5
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
    rng = random.Random(seed)
    meds = sorted(median(rng.choices(values, k=n)) for _ in range(resamples))
    lo_i = int(math.floor((1 - confidence) / 2 * resamples))
    hi_i = min(resamples - 1, int(math.ceil((1 + confidence) / 2 * resamples)) - 1)
    return meds[lo_i], meds[hi_i]


def median_ci(values: list[float], confidence: float, seed: int = 0) -> tuple[tuple[float, float], bool]:
    """The union of the bootstrap and the order-statistic intervals; ``(ci, exact_available)``."""
    boot = bootstrap_median_ci(values, confidence, seed)
    exact = order_statistic_ci(values, confidence)
    if exact is None:
        return (min(boot[0], min(values)), max(boot[1], max(values))), False
    return (min(boot[0], exact[0]), max(boot[1], exact[1])), True


def noise_floor(pairs: list[tuple[float, float]]) -> float:
    """A/A noise: median relative difference between two runs of the same code (0.03 = 3%)."""
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
    if lo >= down and hi <= up:
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
) -> Decision:
    """The verdict after the blocks seen so far.

    ``final=False`` is an interim look (stricter 99% interval; a verdict
    stops the benchmark early); ``final=True`` is the last look (95%).
    """
    m = minimum_effect(noise, min_effect_floor)
    n = len(ratios)
    if n == 0:
        return Decision("inconclusive", math.nan, (math.nan, math.nan), FINAL_CONFIDENCE, m, 0, ci_exact=False)
    speedup = median(ratios)
    ci95, exact95 = median_ci(ratios, FINAL_CONFIDENCE, seed)
    over = is_overwhelming(ratios, noise, min_blocks)
    if over:
        return Decision(over, speedup, ci95, FINAL_CONFIDENCE, m, n, overwhelming=True, ci_exact=exact95)
    if n < min_blocks:
        return Decision("inconclusive", speedup, ci95, FINAL_CONFIDENCE, m, n, ci_exact=exact95)
    if final:
        verdict = verdict_from_ci(speedup, ci95, m) if exact95 else "inconclusive"
        return Decision(verdict, speedup, ci95, FINAL_CONFIDENCE, m, n, ci_exact=exact95)
    ci99, exact99 = median_ci(ratios, EARLY_CONFIDENCE, seed)
    verdict = verdict_from_ci(speedup, ci99, m) if exact99 else "inconclusive"
    # report the 95% interval (it lies inside the 99% one that decided)
    return Decision(verdict, speedup, ci95, EARLY_CONFIDENCE, m, n, ci_exact=exact95)


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
