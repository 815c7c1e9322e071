"""Statistics of a benchmark: pure functions over lists of numbers.

The unit of evidence is the *block*: one interleaved round in which every
variant ran twice in fresh processes, in a mirrored random order (ABBA or
BAAB; ``campaign.measure.bench``). Per block we get one paired ratio
``time_reference / time_candidate`` (> 1: the candidate is faster) and, for
free, one A/A pair per variant (its two runs: identical code, same block).

The decision rule (why this one)
--------------------------------

* **What is estimated.** The mean of the block log ratios ``d_i``; the
  speedup shown is ``exp(mean)`` (the geometric mean of the block ratios).
  Timing noise is multiplicative, so logs make it additive and symmetric;
  swapping a block's mirrored order turns ``effect + e`` into
  ``effect - e``, so the ``d_i`` are symmetric about the true effect.
* **The interval: Student t on the paired log ratios.** With few blocks a
  distribution-free interval cannot decide anything (the signed-rank test's
  smallest p at n = 3 is 0.25), while the t interval has power as soon as
  the blocks agree: it is exact for normal noise and conservative for
  heavier symmetric tails.
* **Pooled with the A/A pairs when the blocks agree.** A run's noise shows
  twice per block: in ``d_i`` (variance sigma^2 for four runs of noise
  sigma^2) and in each variant's two runs (``log(first/second)``, variance
  2 sigma^2). When the block ratios spread no more than the A/A pairs
  predict (an F test at 5%), both estimate the same sigma and are pooled:
  ``3n - 1`` degrees of freedom instead of ``n - 1`` (8 instead of 2 at three
  blocks). This is what lets three agreeing blocks decide. Linear drift
  within a block cancels in ``d_i`` (mirrored order) but inflates the A/A
  pairs, so pooling errs towards wider intervals. When the blocks disagree
  (the F test rejects), only the blocks' own spread is used (``n - 1`` df).
  Below three blocks the F test cannot tell, so nothing is pooled there;
  and a pooled spread is never taken below the blocks' own (bursts that
  hit the middle of a block move ``d_i`` but not the A/A pairs).
* **A stated false-verdict rate, whatever the stopping.** ``alpha``
  (default 1%) is the probability that identical code is called ``faster``
  or ``slower`` in a whole benchmark. The benchmark looks at the data at
  planned blocks only (``look_schedule``): after every block for the first
  six looks (where big effects are decided), then each look about 20% later
  than the previous one (10, 12, 15, 18, 22, ... up to ``max_blocks``), plus
  one final look wherever the benchmark stops (the time budget, the noise
  cap). ``alpha`` is spent evenly over those looks: every look uses a
  two-sided interval at level ``1 - alpha / looks`` (99.958% for the 24
  looks of 3..200 blocks). By the union bound the rate holds however many
  looks are actually taken and whenever the benchmark stops, as far as each
  look's interval holds its level; no simulation-tuned constants. Looking
  at every block instead would cost 198 looks (99.995%, t about 4.1 instead
  of 3.5: a third more blocks for the same decision); the spaced looks cost
  at most a fifth more blocks once a decision is reachable. Where the t model
  is only approximate (heavy tails, interference spikes, bursts, drifting
  load) the simulations in ``tests/test_stats.py`` check the rate. The price
  is a wider interval at every look; pooling buys it back.
* **The smallest effect worth resolving** (``min_effect``, default 2%) is
  the equivalence margin: ``faster`` when the interval lies above 1 and the
  estimate is at least ``1 + min_effect``; ``slower`` symmetrically; ``same``
  when the whole interval lies inside ``[1/(1+m), 1+m]`` (two one-sided
  tests); otherwise ``inconclusive`` - together with how many more blocks a
  decision would need at the measured noise (``blocks_needed``).
* **``same`` has its own error rate.** Calling a real change of ``m`` the
  same costs a revert, not a false claim, so ``same`` is held to
  ``alpha_same`` (5%, the usual equivalence test) rather than ``alpha``.
  And since nothing is kept on it, its looks are not paid for with the union
  bound: where a scheduler takes the looks (``Scheduler``), ``alpha_same``
  is spent over the looks actually taken (``looks.SameBoundaries``: error
  spending, 1.81 standard errors at the last look of a 60 s benchmark, where
  noisy identical code is decided), and ``decide`` is given each look's
  level (``same_confidence``). Called without it (``try --more``'s pooled
  look), the scheduled looks share one constant boundary computed for their
  correlation (``looks.same_boundary``: 2.54, a 98.9% interval) and a final
  look off the schedule keeps a union-bound share (99.6%).
* **Overwhelming changes.** When the blocks disagree, the interval has only
  ``n - 1`` degrees of freedom, and two or three blocks cannot decide even
  61x (``t`` with 1 df at 99.75% is 127). A change whose every block, from
  ``min_blocks`` on, is beyond ``max(2x, 1 + 10 x`` the typical A/A
  difference) in one direction is decided anyway (``overwhelming``): no
  noise that leaves two runs of the same code within a few percent of each
  other moves every block by 2x the same way. This rule is outside the
  union bound; the simulations (``tests/test_stats.py``) count it in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import lru_cache
from statistics import median
from typing import Any

from campaign.measure.amdahl import amdahl_bound as amdahl_bound, amdahl_speedup as amdahl_speedup  # re-exported
from campaign.measure.interval_text import _num as _num, describe_interval as describe_interval, format_level as format_level
from campaign.measure.looks import (  # re-exported: stats is where callers have always found them
    ALPHA as ALPHA, ALPHA_SAME as ALPHA_SAME, EARLY_LOOKS as EARLY_LOOKS, LOOK_GROWTH as LOOK_GROWTH,
    MAX_BLOCKS as MAX_BLOCKS, MIN_BLOCKS as MIN_BLOCKS, is_look as is_look, look_level as look_level,
    look_schedule as look_schedule, looks as looks, same_level as same_level,
)

MIN_EFFECT = 0.02  # the smallest effect worth resolving (relative)
OVERWHELMING_FACTOR = 2.0  # every block beyond 2x (and far beyond the A/A noise): decided whatever the spread
OVERWHELMING_NOISE_MULTIPLE = 10.0
POOLING_TEST_LEVEL = 0.05
MIN_POOLING_DF = 2  # below three blocks the F test cannot see blocks that disagree: no pooling
INTERVAL_NAME = "Student t on the block log ratios"


@dataclass
class Interval:
    """A two-sided interval of the mean block log ratio, as ratios."""

    estimate: float  # exp(mean log ratio)
    lo: float
    hi: float
    level: float
    df: int
    sd: float  # standard deviation of one block's log ratio (pooled or not)
    pooled: bool
    # what re-widens it to another level (``at_level``): the blocks behind it and the mean log ratio, exactly
    n: int = field(default=0, compare=False, repr=False)
    log_mean: float = field(default=0.0, compare=False, repr=False)


@dataclass
class Decision:
    """A verdict with the numbers that support it; ``ci`` is the interval that decided, at ``confidence``."""

    verdict: str
    speedup: float
    ci: tuple[float, float]
    confidence: float | None  # None: ``ci`` is not a confidence interval (the blocks' range, overwhelming rule)
    min_effect: float
    blocks: int
    alpha: float = ALPHA
    alpha_same: float = ALPHA_SAME
    pooled: bool = False
    df: int = 0
    block_sd: float = 0.0  # sd of one block's log ratio (~ relative noise of a block ratio)
    run_noise: float | None = None  # relative sd of one run, from the A/A pairs
    drift: float | None = None  # |median A/A log ratio|: first vs second run of the same code
    blocks_needed: int | None = None  # blocks a decision would need at this noise (None: decided)
    overwhelming: bool = False
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "speedup": self.speedup,
            "ci": list(self.ci),
            "confidence": self.confidence,
            "ci_level": self.confidence,
            "ci_kind": "range" if self.overwhelming else "ci",
            "interval": ("range of the blocks (overwhelming rule)" if self.overwhelming else
                         INTERVAL_NAME + (" pooled with the A/A pairs" if self.pooled else " (blocks only)")),
            "alpha": self.alpha,
            "alpha_same": self.alpha_same,
            "min_effect": self.min_effect,
            "blocks": self.blocks,
            "df": self.df,
            "block_sd": self.block_sd,
            "run_noise": self.run_noise,
            "drift": self.drift,
            "blocks_needed": self.blocks_needed,
            "overwhelming": self.overwhelming,
        }


def paired_ratios(reference: list[float], candidate: list[float]) -> list[float]:
    """Per-block ratios ``reference / candidate`` (> 1: candidate faster)."""
    if len(reference) != len(candidate):
        raise ValueError("paired samples must have the same length")
    return [r / c if c > 0 else math.inf for r, c in zip(reference, candidate)]


def aa_log_diffs(pairs: list[tuple[float, float]]) -> list[float]:
    """``log(first / second)`` of each A/A pair (two runs of the same code in one block)."""
    return [math.log(a / b) for a, b in pairs if a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)]


def noise_floor(pairs: list[tuple[float, float]]) -> float:
    """Systematic A/A effect (drift/order): ``exp(|median log(first/second)|) - 1``."""
    logs = aa_log_diffs(pairs)
    return math.expm1(abs(median(logs))) if logs else 0.0


def pair_spread(pairs: list[tuple[float, float]]) -> float:
    """Typical relative difference between two runs of the same code (0.03 = 3%)."""
    devs = [abs(v) for v in aa_log_diffs(pairs)]
    return math.expm1(median(devs)) if devs else 0.0


def run_noise(pairs: list[tuple[float, float]]) -> float | None:
    """Relative sd of one run estimated from the A/A pairs (``sqrt(mean(e^2) / 2)``), None without pairs."""
    diffs = aa_log_diffs(pairs)
    if not diffs:
        return None
    return math.expm1(math.sqrt(sum(e * e for e in diffs) / (2 * len(diffs))))


def minimum_effect(noise: float = 0.0, floor: float = MIN_EFFECT) -> float:
    """The smallest relative change a verdict may claim (the configured floor; ``noise`` kept for callers)."""
    return floor




@lru_cache(maxsize=4096)
def _t_quantile(p: float, df: int) -> float:
    from scipy.stats import t

    return float(t.ppf(p, df))


@lru_cache(maxsize=4096)
def _f_critical(df_num: int, df_den: int) -> float:
    """The F ratio beyond which the blocks spread more than the A/A pairs predict (at ``POOLING_TEST_LEVEL``)."""
    from scipy.stats import f

    return float(f.isf(POOLING_TEST_LEVEL, df_num, df_den))


def t_interval(ratios: list[float], aa_diffs: list[float], level: float) -> Interval | None:
    """The t interval of the mean log ratio, pooled with the A/A pairs when the blocks agree with them.

    ``None`` with fewer than two blocks and no A/A pairs (nothing to estimate a spread from).
    """
    logs = [math.log(r) for r in ratios if r > 0 and math.isfinite(r)]
    n = len(logs)
    if n == 0:
        return None
    mean = sum(logs) / n
    ss_blocks = sum((x - mean) ** 2 for x in logs)
    df_blocks = n - 1
    ss_aa = sum(e * e for e in aa_diffs) / 2  # each A/A difference has variance 2 sigma^2
    df_aa = len(aa_diffs)
    pooled = False
    if df_aa and df_blocks >= MIN_POOLING_DF:
        var_aa = ss_aa / df_aa
        var_blocks = ss_blocks / df_blocks
        if var_aa > 0:
            pooled = var_blocks / var_aa <= _f_critical(df_blocks, df_aa)
        else:
            pooled = var_blocks == 0
    if pooled:
        df, ss = df_blocks + df_aa, ss_blocks + ss_aa
    else:
        df, ss = df_blocks, ss_blocks
    if df == 0:
        return None
    sd = math.sqrt(ss / df)
    if pooled and df_blocks:  # never narrower than the blocks' own spread says
        sd = max(sd, math.sqrt(ss_blocks / df_blocks))
    return at_level(Interval(math.exp(mean), math.nan, math.nan, level, df, sd, pooled, n=n, log_mean=mean), level)


def at_level(iv: Interval, level: float) -> Interval:
    """``iv`` re-widened to another ``level``: the same estimate, spread and df, only the t quantile differs
    (``decide``'s ``same`` interval is the decisive one at ``same_level``)."""
    half = _t_quantile(1 - (1 - level) / 2, iv.df) * iv.sd / math.sqrt(iv.n)
    return replace(iv, lo=_exp(iv.log_mean - half), hi=_exp(iv.log_mean + half), level=level)


def _exp(x: float) -> float:
    """``exp`` that saturates to 0 / inf instead of overflowing (a 1-df interval can be astronomically wide)."""
    return math.inf if x > 700 else math.exp(max(x, -745.0))


def is_overwhelming(ratios: list[float], spread: float, min_blocks: int = MIN_BLOCKS) -> str | None:
    """``"faster"``/``"slower"`` when every block (at least ``min_blocks``) is beyond the overwhelming factor."""
    if len(ratios) < max(min_blocks, 1):
        return None
    factor = max(OVERWHELMING_FACTOR, 1 + OVERWHELMING_NOISE_MULTIPLE * spread)
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


def blocks_needed(estimate: float, sd: float, n_now: int, aa_per_block: float, level: float, min_effect: float,
                  pooled: bool, limit: int = 10_000, same_at: float | None = None) -> int | None:
    """Blocks a decision would need if the estimate and the noise stayed as measured; None if none would do.

    The half-width must drop below the distance that separates the estimate
    from its nearest verdict: ``|log estimate|`` for faster/slower (once the
    estimate is beyond the minimum effect), ``log(1+m) - |log estimate|`` for
    same, whose interval is the one at ``same_at`` (default: ``level``).
    """
    x, margin = abs(math.log(estimate)), math.log1p(min_effect)
    want = max(x if x >= margin else 0.0, margin - x)
    if x < margin and same_at is not None:
        level = same_at
    if want <= 0 or sd <= 0:
        return None if want <= 0 else n_now

    def half(n: int) -> float:
        df = (n - 1) + (round(aa_per_block * n) if pooled else 0)
        return _t_quantile(1 - (1 - level) / 2, max(df, 1)) * sd / math.sqrt(n)

    n = max(n_now, 2)
    if half(limit) >= want:
        return None
    while half(n) >= want:  # doubling, then bisection
        n *= 2
    lo, hi = n // 2, n
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if half(mid) >= want else (lo, mid)
    return max(hi, n_now)


def resolve_cap(sd: float, n_now: int, aa_per_block: float, level: float, min_effect: float, pooled: bool,
                max_blocks: int, min_blocks: int = MIN_BLOCKS) -> int:
    """The blocks worth measuring at this noise: enough for an interval of half-width ``min_effect / 2``.

    At that width any true effect beyond ``min_effect`` is decided and
    anything within half of it is ``same``; more blocks only resolve the
    grey zone between. Clamped to ``[min_blocks, max_blocks]``.
    """
    need = blocks_needed(math.exp(math.log1p(min_effect) / 2), sd, 1, aa_per_block, level, min_effect, pooled,
                         limit=max(max_blocks, 1) * 4)
    return max(min_blocks, min(max_blocks, need if need is not None else max_blocks))


def decide(
    ratios: list[float],
    noise: float = 0.0,
    *,
    final: bool = False,
    min_blocks: int = MIN_BLOCKS,
    max_blocks: int = MAX_BLOCKS,
    seed: int = 0,
    min_effect: float | None = None,
    min_effect_floor: float = MIN_EFFECT,
    spread: float | None = None,
    pairs: list[tuple[float, float]] | None = None,
    alpha: float = ALPHA,
    at_look: bool = True,
    alpha_same: float = ALPHA_SAME,
    same_confidence: float | None = None,
    same_goal: float | None = None,
) -> Decision:
    """The verdict after the blocks seen so far (every look uses the same spent level).

    ``pairs`` are the A/A pairs of the same blocks (first run, second run),
    of both variants; without them only the blocks' own spread is used.
    ``at_look=False``: the blocks are not at a planned look (``is_look``) and
    this is not the final one, so the interval is computed but no verdict
    is taken (``inconclusive``). ``same`` is the weaker claim (a real change
    of ``min_effect`` called same at most ``alpha_same`` of the time): it is
    read on its own, narrower interval (``same_level``), shown when it decides.
    ``noise`` (drift), ``final``, ``seed`` and ``spread`` are accepted for
    older callers and do not change the verdict. ``same_confidence``: the level of this look's ``same``
    interval where the caller spends ``alpha_same`` itself (the scheduler: ``looks.SameBoundaries``; 1.0: no
    ``same`` at this look); ``same_goal``: the level ``blocks_needed`` counts a future ``same`` at. Default:
    ``same_level``'s constant boundary, for both.
    """
    m = min_effect if min_effect is not None else min_effect_floor
    level = look_level(alpha, max(max_blocks, min_blocks), min_blocks)
    n = len(ratios)
    aa = aa_log_diffs(pairs or [])
    extra: dict[str, Any] = {"alpha": alpha, "alpha_same": alpha_same, "run_noise": run_noise(pairs or []), "drift": noise_floor(pairs) if pairs else noise}
    if n == 0:
        return Decision("inconclusive", math.nan, (math.nan, math.nan), level, m, 0, **extra)
    if any(not (r > 0 and math.isfinite(r)) for r in ratios):
        return Decision("inconclusive", math.nan, (math.nan, math.nan), level, m, n,
                        notes=["a block had a zero or infinite time"], **extra)
    iv = t_interval(ratios, aa, level)
    if iv is None:  # one block, no A/A pairs
        g = geometric_mean(ratios)
        return Decision("inconclusive", g, (math.nan, math.nan), level, m, n, **extra)
    if iv.sd == 0:  # every block identical and no run-to-run noise: the interval is the point
        verdict = (verdict_from_ci(iv.estimate, (iv.estimate, iv.estimate), m) if n >= min_blocks and at_look
                   else "inconclusive")
        return Decision(verdict, iv.estimate, (iv.estimate, iv.estimate), level, m, n, pooled=iv.pooled, df=iv.df,
                        **extra)
    verdict = verdict_from_ci(iv.estimate, (iv.lo, iv.hi), m) if n >= min_blocks and at_look else "inconclusive"
    eq_level = (same_level(alpha_same, max(max_blocks, min_blocks), min_blocks, blocks=n)
                if same_confidence is None else same_confidence)
    eq = (at_level(iv, eq_level) if verdict == "inconclusive" and n >= min_blocks and at_look and eq_level < 1
          else None)
    if eq is not None and verdict_from_ci(eq.estimate, (eq.lo, eq.hi), m) == "same":
        return Decision("same", eq.estimate, (eq.lo, eq.hi), eq_level, m, n, pooled=eq.pooled, df=eq.df,
                        block_sd=math.expm1(eq.sd), **extra)
    if verdict == "inconclusive" and pairs and at_look:
        over = is_overwhelming(ratios, pair_spread(pairs), min_blocks)
        if over:
            # what decided is every block's ratio, so the blocks' range is shown - and called a range
            return Decision(over, iv.estimate, (min(ratios), max(ratios)), None, m, n, pooled=iv.pooled, df=iv.df,
                            block_sd=math.expm1(iv.sd), overwhelming=True,
                            notes=["decided on an overwhelming change: every block beyond "
                                   f"{max(OVERWHELMING_FACTOR, 1 + OVERWHELMING_NOISE_MULTIPLE * pair_spread(pairs)):.2f}x"
                                   " in one direction"], **extra)
    needed = None
    if verdict == "inconclusive":
        per_block = len(aa) / n
        needed = blocks_needed(iv.estimate, iv.sd, max(n, min_blocks), per_block, level, m, iv.pooled,
                               same_at=same_level(alpha_same, max(max_blocks, min_blocks), min_blocks)
                               if same_goal is None else same_goal)
    return Decision(verdict, iv.estimate, (iv.lo, iv.hi), level, m, n, pooled=iv.pooled, df=iv.df,
                    block_sd=math.expm1(iv.sd), blocks_needed=needed, **extra)


def geometric_mean(values: list[float]) -> float:
    vals = [v for v in values if v > 0 and math.isfinite(v)]
    if not vals:
        return math.nan
    return math.exp(sum(math.log(v) for v in vals) / len(vals))
