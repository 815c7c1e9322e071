"""Fast, exact tests of ``campaign/measure/stats.py``, written against its surviving mutants (docs/mutation.md).

The simulations in ``tests/test_stats.py`` check the decision rule's rates; these check each function's
numbers and edges directly (an independent scipy computation, a brute-force search, hand-chosen data), so a
one-character change to the rule fails here in milliseconds.
"""

import math

import pytest
from scipy import stats as sp
from scipy.special import ndtr
from scipy.stats import multivariate_normal

from campaign.measure import looks, stats
from campaign.measure.stats import INTERVAL_NAME, Decision


def pairs_from(diffs):
    """A/A pairs whose ``log(first / second)`` are ``diffs``."""
    return [(math.exp(e), 1.0) for e in diffs]


def ratios_from(logs):
    return [math.exp(x) for x in logs]


# three blocks whose log ratios are 0.10, 0.12, 0.08: mean 0.1, sd 0.02 (variance 0.0004, 2 df)
LOGS = [0.10, 0.12, 0.08]
# A/A differences that agree with those blocks (F = 2.2 < F(2, 6) at 5% = 5.14): pooled, sd below the blocks'
AGREE = [0.02, -0.02, 0.03, -0.01, 0.0, 0.02]
# ... and larger ones (F = 0.56): pooled, sd above the blocks'
NOISY = [0.04, -0.04, 0.03, -0.05, 0.02, 0.04]
# ... and smaller ones (F = 9.9 > 5.14): the blocks disagree with the A/A noise, not pooled
QUIET = [0.009, -0.009] * 3


def reference_interval(logs, aa, level, pooled):
    n = len(logs)
    mean = sum(logs) / n
    ss_blocks = sum((x - mean) ** 2 for x in logs)
    ss_aa = sum(e * e for e in aa) / 2
    if pooled:
        df = n - 1 + len(aa)
        sd = max(math.sqrt((ss_blocks + ss_aa) / df), math.sqrt(ss_blocks / (n - 1)))
    else:
        df, sd = n - 1, math.sqrt(ss_blocks / (n - 1))
    half = sp.t.ppf(1 - (1 - level) / 2, df) * sd / math.sqrt(n)
    return math.exp(mean), math.exp(mean - half), math.exp(mean + half), df, sd


# --- the record ---------------------------------------------------------------------------------------------------


def test_decision_record_names_every_number_and_its_interval():
    d = Decision("faster", 1.5, (1.4, 1.6), 0.99, 0.02, 12, alpha=0.01, pooled=True, df=11, block_sd=0.03,
                 run_noise=0.01, drift=0.004, blocks_needed=None, notes=["n"])
    assert d.to_dict() == {
        "verdict": "faster", "speedup": 1.5, "ci": [1.4, 1.6], "confidence": 0.99, "ci_level": 0.99,
        "ci_kind": "ci", "interval": INTERVAL_NAME + " pooled with the A/A pairs", "alpha": 0.01, "alpha_same": 0.05,
        "min_effect": 0.02, "blocks": 12, "df": 11, "block_sd": 0.03, "run_noise": 0.01, "drift": 0.004,
        "blocks_needed": None, "overwhelming": False,
    }
    assert Decision("same", 1.0, (0.99, 1.01), 0.95, 0.02, 8).to_dict()["interval"] == INTERVAL_NAME + " (blocks only)"
    fast = Decision("faster", 100.0, (90.0, 110.0), None, 0.02, 3, overwhelming=True, blocks_needed=7).to_dict()
    assert fast["ci_kind"] == "range" and fast["interval"] == "range of the blocks (overwhelming rule)"
    assert fast["confidence"] is None and fast["blocks_needed"] == 7 and fast["overwhelming"] is True


# --- ratios and the A/A pairs ---------------------------------------------------------------------------------------


def test_paired_ratios_divide_and_a_zero_time_is_infinitely_faster():
    assert stats.paired_ratios([2.0, 3.0, 1.0], [0.5, 3.0, 0.0]) == [4.0, 1.0, math.inf]
    with pytest.raises(ValueError, match="^paired samples must have the same length$"):
        stats.paired_ratios([1.0, 2.0], [1.0])


def test_aa_log_diffs_keep_only_pairs_with_two_finite_positive_times():
    pairs = [(2.0, 1.0), (0.5, 2.0), (0.0, 1.0), (1.0, 0.0), (-1.0, 1.0), (1.0, -1.0), (math.inf, 1.0),
             (1.0, math.inf), (math.nan, 1.0), (1.0, math.nan)]
    assert stats.aa_log_diffs(pairs) == pytest.approx([math.log(2.0), math.log(0.25)])


def test_noise_measures_are_exact():
    pairs = [(1.1, 1.0), (1.0, 1.2), (1.0, 1.3)]  # logs 0.0953, -0.182, -0.262: median -0.182
    assert stats.noise_floor(pairs) == pytest.approx(1.2 - 1)  # |median|, as a relative change
    assert stats.noise_floor([]) == 0.0 and stats.noise_floor([(0.0, 1.0)]) == 0.0
    assert stats.pair_spread(pairs) == pytest.approx(0.2)  # median of |logs|
    assert stats.pair_spread([]) == 0.0 and stats.pair_spread([(1.0, 0.0)]) == 0.0
    e1, e2 = math.log(1.1), math.log(1 / 1.2)
    assert stats.run_noise(pairs[:2]) == pytest.approx(math.expm1(math.sqrt((e1 * e1 + e2 * e2) / 4)))
    assert stats.run_noise([(0.0, 1.0)]) is None


def test_minimum_effect_is_the_floor():
    assert stats.minimum_effect(0.5, 0.03) == 0.03
    assert stats.minimum_effect() == stats.MIN_EFFECT


# --- the looks ------------------------------------------------------------------------------------------------------


def test_look_schedule_edges():
    assert stats.look_schedule(10, 1) == (1, 2, 3, 4, 5, 6, 8, 10)
    assert stats.look_schedule(10, 0) == (1, 2, 3, 4, 5, 6, 8, 10)  # a block is the least to look at
    assert stats.look_schedule(4, 3) == (3, 4) and stats.look_schedule(8, 3) == (3, 4, 5, 6, 7, 8)
    assert stats.look_schedule(9, 3) == (3, 4, 5, 6, 7, 8, 9)  # max_blocks is always the last look
    assert stats.looks(4, 3) == 3 and stats.looks(9, 3) == 8
    assert stats.look_level(0.05, 4, 3) == pytest.approx(1 - 0.05 / 3)
    assert stats.is_look(4, 4, 3) and not stats.is_look(5, 4, 3) and not stats.is_look(2, 4, 3)
    assert stats.is_look(2, 10, 2) and stats.is_look(1, 10, 1) and not stats.is_look(9, 10, 1)
    assert stats.look_level(0.05, 10, 1) == pytest.approx(1 - 0.05 / 9)  # 1..6, 8, 10 and the final look


# --- the interval ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("aa, pooled", [(AGREE, True), (NOISY, True), (QUIET, False), ([], False)])
def test_t_interval_matches_an_independent_computation(aa, pooled):
    iv = stats.t_interval(ratios_from(LOGS), aa, 0.99)
    est, lo, hi, df, sd = reference_interval(LOGS, aa, 0.99, pooled)
    assert iv.pooled is pooled and iv.df == df and iv.level == 0.99
    assert (iv.estimate, iv.lo, iv.hi, iv.sd) == pytest.approx((est, lo, hi, sd), rel=1e-12)


def test_a_pooled_interval_is_never_narrower_than_the_blocks_own_spread():
    agree = stats.t_interval(ratios_from(LOGS), AGREE, 0.99)
    assert agree.sd == pytest.approx(0.02)  # pooled 0.0154, the blocks' own 0.02
    noisy = stats.t_interval(ratios_from(LOGS), NOISY, 0.99)
    assert noisy.sd == pytest.approx(math.sqrt((0.0008 + 0.0043) / 8))  # pooled 0.0252 > 0.02


def test_t_interval_edges():
    assert stats.t_interval([], [0.01], 0.95) is None
    assert stats.t_interval([0.0, math.inf, -1.0], [], 0.95) is None
    assert stats.t_interval([1.2], [0.01, 0.02], 0.95) is None  # one block: no pooling, no spread
    # blocks that are not finite and positive are left out
    with_junk = stats.t_interval([1.1, 0.0, math.inf, -2.0, 1.2], [], 0.95)
    assert with_junk == stats.t_interval([1.1, 1.2], [], 0.95) and with_junk.df == 1
    # two blocks: the F test cannot tell, so nothing is pooled however many A/A pairs there are
    two = stats.t_interval([1.1, 1.2], [0.05, -0.05, 0.04, -0.04], 0.95)
    assert not two.pooled and two.df == 1
    # no A/A noise at all: pooled only when the blocks agree exactly
    same = stats.t_interval([1.1] * 3, [0.0] * 6, 0.95)
    assert same.pooled and same.df == 8 and same.sd == 0 and same.lo == same.hi == pytest.approx(1.1)
    spread = stats.t_interval([1.1, 1.2, 1.15], [0.0] * 6, 0.95)
    assert not spread.pooled and spread.df == 2


def test_exp_saturates_only_beyond_the_float_range():
    assert stats._exp(700.0) == math.exp(700.0)
    assert stats._exp(700.5) == math.inf
    assert stats._exp(-745.0) == math.exp(-745.0) > 0
    assert stats._exp(-800.0) == math.exp(-745.0)  # the smallest positive float, not 0
    assert stats._exp(0.5) == math.exp(0.5)


# --- verdicts -------------------------------------------------------------------------------------------------------


def test_verdict_from_ci_at_its_boundaries():
    m = 0.02
    up, down = 1 + m, 1 / (1 + m)
    assert stats.verdict_from_ci(up, (1.0 + 1e-9, 1.1), m) == "faster"
    assert stats.verdict_from_ci(1.05, (1.0, 1.1), m) == "inconclusive"  # the interval touches 1
    assert stats.verdict_from_ci(up - 1e-9, (1.001, 1.03), m) == "inconclusive"  # above 1 but below the effect
    assert stats.verdict_from_ci(down, (0.9, 1.0 - 1e-9), m) == "slower"
    assert stats.verdict_from_ci(0.95, (0.9, 1.0), m) == "inconclusive"
    assert stats.verdict_from_ci(down + 1e-9, (0.97, 0.999), m) == "inconclusive"
    assert stats.verdict_from_ci(1.0, (down, up), m) == "same"
    assert stats.verdict_from_ci(1.0, (down - 1e-9, up), m) == "inconclusive"
    assert stats.verdict_from_ci(1.0, (down, up + 1e-9), m) == "inconclusive"
    assert stats.verdict_from_ci(1.0, (0.99, 1.05), m) == "inconclusive"
    assert stats.verdict_from_ci(1.0, (0.95, 1.01), m) == "inconclusive"
    assert stats.verdict_from_ci(1.04, (1.03, 1.05), 0.05) == "same"  # the margin is the argument


def test_overwhelming_factor_is_2x_or_ten_times_the_aa_spread():
    assert stats.is_overwhelming([2.0, 2.0, 2.0], 0.0) == "faster"
    assert stats.is_overwhelming([0.5, 0.5, 0.5], 0.0) == "slower"
    assert stats.is_overwhelming([2.0, 2.0, 1.99], 0.0) is None
    assert stats.is_overwhelming([0.5, 0.5, 0.51], 0.0) is None
    assert stats.is_overwhelming([2.5, 3.0, 2.5], 0.15) == "faster"  # factor 1 + 10 * 0.15
    assert stats.is_overwhelming([2.5, 3.0, 2.49], 0.15) is None
    assert stats.is_overwhelming([0.4, 0.3, 0.4], 0.15) == "slower"
    assert stats.is_overwhelming([0.4, 0.3, 0.41], 0.15) is None
    assert stats.is_overwhelming([3.0, 3.0], 0.0) is None  # fewer than min_blocks
    assert stats.is_overwhelming([3.0, 3.0], 0.0, min_blocks=2) == "faster"
    assert stats.is_overwhelming([3.0], 0.0, min_blocks=0) == "faster"  # one block is the least
    assert stats.is_overwhelming([], 0.0, min_blocks=0) is None


# --- blocks needed and the noise cap --------------------------------------------------------------------------------


def half_width(n, sd, aa, level, pooled):
    df = (n - 1) + (round(aa * n) if pooled else 0)
    return sp.t.ppf(1 - (1 - level) / 2, max(df, 1)) * sd / math.sqrt(n)


def fewest_blocks(estimate, sd, n_now, aa, level, m, pooled):
    """Brute force: the fewest blocks (at least two, and at least ``n_now``) whose half-width decides."""
    x, margin = abs(math.log(estimate)), math.log1p(m)
    want = x if x >= margin else margin - x
    n = 2
    while half_width(n, sd, aa, level, pooled) >= want:
        n += 1
    return max(n, n_now)


@pytest.mark.parametrize("estimate", [1.0, 1.005, 1 / 1.012, 1.015, 1.03, 1 / 1.06, 1.2])
@pytest.mark.parametrize("sd, level, pooled, aa, n_now", [
    (0.01, 0.95, False, 0, 3), (0.03, 0.99, False, 0, 1), (0.02, 0.999, True, 2, 3), (0.05, 0.9996, True, 2, 5),
    (0.004, 0.95, True, 1.5, 2), (0.08, 0.99, False, 0, 4),
    (0.03, 0.99, False, 2, 3),  # A/A pairs count only when pooled
])
def test_blocks_needed_is_the_fewest_that_decide(estimate, sd, level, pooled, aa, n_now):
    want = fewest_blocks(estimate, sd, n_now, aa, level, 0.02, pooled)
    got = stats.blocks_needed(estimate, sd, n_now, aa, level, 0.02, pooled, limit=100_000)
    assert type(got) is int and got == want


def test_blocks_needed_sweep_finds_the_minimum_everywhere():
    # many noise levels: a wrong doubling or bisection shows at some of them
    for k in range(1, 40):
        sd = 0.002 * k
        assert stats.blocks_needed(1.0, sd, 2, 0, 0.99, 0.02, False) == fewest_blocks(1.0, sd, 2, 0, 0.99, 0.02, False)


def test_blocks_needed_edges():
    assert stats.blocks_needed(1.0, 0.0, 5, 0, 0.95, 0.02, False) == 5  # no noise: decided now
    assert stats.blocks_needed(1.0, 0.0, 1, 0, 0.95, 0.02, False) == 1
    assert stats.blocks_needed(1.0, 1e-6, 1, 0, 0.95, 0.02, False) == 2  # an interval needs two blocks
    # an estimate exactly at the minimum effect (log 1.25 == log1p(0.25) in floats) can be called faster
    n = stats.blocks_needed(1.25, 0.05, 3, 0, 0.99, 0.25, False)
    assert n is not None and n == fewest_blocks(1.25, 0.05, 3, 0, 0.99, 0.25, False)
    assert stats.blocks_needed(1.3, 0.0, 4, 0, 0.95, 0.02, False) == 4
    assert stats.blocks_needed(1.0, 0.0, 5, 0, 0.95, 0.0, False) is None  # no margin: nothing ever decides
    assert stats.blocks_needed(1.0, 0.01, 5, 0, 0.95, 0.0, False) is None
    assert stats.blocks_needed(1.0, 0.5, 3, 0, 0.95, 0.02, False, limit=10) is None  # beyond the limit
    n = stats.blocks_needed(1.0, 0.05, 3, 0, 0.95, 0.02, False)
    assert stats.blocks_needed(1.0, 0.05, 3, 0, 0.95, 0.02, False, limit=n) == n  # the limit itself decides
    assert stats.blocks_needed(1.0, 0.05, 3, 0, 0.95, 0.02, False, limit=n - 1) is None


def test_blocks_needed_gives_up_beyond_ten_thousand_blocks_by_default():
    want, q = math.log1p(0.02), 1 - (1 - 0.95) / 2
    # the noise at which exactly 10 001 blocks would decide
    sd = 2 * want / (sp.t.ppf(q, 9999) / math.sqrt(10_000) + sp.t.ppf(q, 10_000) / math.sqrt(10_001))
    assert stats.blocks_needed(1.0, sd, 3, 0, 0.95, 0.02, False) is None
    assert stats.blocks_needed(1.0, sd, 3, 0, 0.95, 0.02, False, limit=10_001) == 10_001


def test_resolve_cap_is_the_blocks_for_a_half_width_of_half_the_effect():
    def fewest(sd, level, m):
        n = 2
        while half_width(n, sd, 0, level, False) >= math.log1p(m) / 2:
            n += 1
        return n

    for sd in (0.01, 0.02, 0.03):
        want = fewest(sd, 0.999, 0.02)
        assert 3 < want < 200
        assert stats.resolve_cap(sd, 3, 0, 0.999, 0.02, False, 200) == want
    assert stats.resolve_cap(0.03, 3, 0, 0.999, 0.05, False, 200) == fewest(0.03, 0.999, 0.05)
    assert stats.resolve_cap(0.0001, 3, 0, 0.999, 0.02, False, 200) == 3  # clamped to min_blocks
    assert stats.resolve_cap(0.0001, 3, 0, 0.999, 0.02, False, 200, min_blocks=6) == 6
    assert stats.resolve_cap(0.03, 3, 0, 0.999, 0.02, False, 40) == 40  # ... and to max_blocks
    assert stats.resolve_cap(5.0, 3, 0, 0.999, 0.02, False, 40) == 40  # no number of blocks would do
    assert stats.resolve_cap(0.0, 3, 0, 0.999, 0.02, False, 200, min_blocks=1) == 1  # no noise: one block
    # the search goes as far as four times max_blocks, beyond blocks_needed's default limit of 10 000
    big = stats.resolve_cap(0.6, 3, 0, 0.95, 0.02, False, 20_000)
    assert 10_000 < big < 20_000
    assert half_width(big, 0.6, 0, 0.95, False) < math.log1p(0.02) / 2 <= half_width(big - 1, 0.6, 0, 0.95, False)
    pooled = stats.resolve_cap(0.02, 3, 2, 0.999, 0.02, True, 200)
    assert pooled == stats.blocks_needed(math.exp(math.log1p(0.02) / 2), 0.02, 1, 2, 0.999, 0.02, True)
    assert pooled < stats.resolve_cap(0.02, 3, 0, 0.999, 0.02, False, 200)


# --- decide: every way out ------------------------------------------------------------------------------------------


def level(max_blocks=stats.MAX_BLOCKS, min_blocks=stats.MIN_BLOCKS, alpha=stats.ALPHA):
    return stats.look_level(alpha, max_blocks, min_blocks)


def test_decide_without_blocks():
    d = stats.decide([], 0.5, pairs=pairs_from([0.1, 0.3]), alpha=0.02, max_blocks=10, min_effect=0.03)
    assert d.verdict == "inconclusive" and math.isnan(d.speedup) and all(math.isnan(v) for v in d.ci)
    assert d.confidence == level(10, alpha=0.02) and d.min_effect == 0.03 and d.blocks == 0 and d.alpha == 0.02
    assert d.run_noise == stats.run_noise(pairs_from([0.1, 0.3])) and d.drift == pytest.approx(math.expm1(0.2))
    assert d.notes == [] and d.blocks_needed is None


@pytest.mark.parametrize("bad", [0.0, math.inf, -1.2, math.nan])
def test_decide_refuses_a_block_without_a_finite_positive_ratio(bad):
    d = stats.decide([1.2, bad, 1.3], alpha=0.05, noise=0.04, min_effect=0.03)
    assert d.verdict == "inconclusive" and math.isnan(d.speedup) and all(math.isnan(v) for v in d.ci)
    assert d.notes == ["a block had a zero or infinite time"]
    assert d.blocks == 3 and d.confidence == level(alpha=0.05) and d.alpha == 0.05 and d.drift == 0.04
    assert d.min_effect == 0.03


def test_decide_with_one_block_and_no_pairs_shows_the_ratio():
    d = stats.decide([1.3], 0.06, min_effect_floor=0.04, alpha=0.05)
    assert d.verdict == "inconclusive" and d.speedup == pytest.approx(1.3) and all(math.isnan(v) for v in d.ci)
    assert d.blocks == 1 and d.min_effect == 0.04 and d.confidence == level(alpha=0.05) and d.run_noise is None
    assert d.alpha == 0.05 and d.drift == 0.06


def test_decide_when_every_block_is_identical_and_there_is_no_noise():
    quiet = [(1.0, 1.0)] * 6
    d = stats.decide([1.5] * 3, pairs=quiet, alpha=0.02, min_effect=0.03)
    assert d.verdict == "faster" and d.speedup == pytest.approx(1.5) and d.ci == (d.speedup, d.speedup)
    assert d.blocks == 3 and d.min_effect == 0.03
    assert d.pooled and d.df == 8 and d.block_sd == 0.0 and d.blocks_needed is None and d.alpha == 0.02
    assert d.confidence == level(alpha=0.02) and d.run_noise == 0.0 and d.drift == 0.0
    assert stats.decide([1.5] * 3, pairs=quiet, min_blocks=4).verdict == "inconclusive"
    assert stats.decide([1.5] * 3, pairs=quiet, at_look=False).verdict == "inconclusive"
    assert stats.decide([1.01] * 3, pairs=quiet).verdict == "same"
    assert stats.decide([1.01] * 3, pairs=quiet, min_effect=0.005).verdict == "faster"


def test_decide_takes_the_interval_and_its_fields_from_t_interval():
    ratios, aa = ratios_from(LOGS), AGREE
    d = stats.decide(ratios, pairs=pairs_from(aa), alpha=0.05, max_blocks=20)
    iv = stats.t_interval(ratios, aa, level(20, alpha=0.05))
    assert d.verdict == "faster" and not d.overwhelming and d.notes == []
    assert d.speedup == iv.estimate and d.ci == (iv.lo, iv.hi) and d.confidence == iv.level
    assert d.pooled and d.df == iv.df == 8 and d.block_sd == pytest.approx(math.expm1(iv.sd))
    assert d.blocks == 3 and d.blocks_needed is None and d.alpha == 0.05 and d.min_effect == 0.02
    assert d.run_noise == stats.run_noise(pairs_from(aa)) and d.drift == stats.noise_floor(pairs_from(aa))
    # without the pairs only the blocks' own spread is used, and the drift is what the caller said
    alone = stats.decide(ratios, 0.07, max_blocks=20)
    assert not alone.pooled and alone.df == 2 and alone.run_noise is None and alone.drift == 0.07
    assert stats.decide(ratios).drift == 0.0  # no pairs, no drift given: none claimed


def test_decide_decides_only_at_a_look_from_min_blocks_on():
    ratios, pairs = ratios_from(LOGS), pairs_from(AGREE)
    assert stats.decide(ratios, pairs=pairs, min_blocks=3).verdict == "faster"
    for d in (stats.decide(ratios, pairs=pairs, min_blocks=4), stats.decide(ratios, pairs=pairs, at_look=False)):
        assert d.verdict == "inconclusive" and d.ci[0] > 1 and d.blocks_needed is not None


def test_decide_says_how_many_blocks_an_undecided_estimate_needs():
    ratios, aa = ratios_from([0.01, -0.01, 0.012]), AGREE  # pooled, the estimate close to 1
    d = stats.decide(ratios, pairs=pairs_from(aa))
    iv = stats.t_interval(ratios, aa, d.confidence)
    assert d.verdict == "inconclusive" and d.pooled
    # the estimate is inside the margin, so what it needs is `same`, counted at `same`'s own level
    assert d.blocks_needed == stats.blocks_needed(iv.estimate, iv.sd, 3, 2, d.confidence, 0.02, True,
                                                  same_at=stats.same_level())
    assert d.blocks_needed < stats.blocks_needed(iv.estimate, iv.sd, 3, 2, d.confidence, 0.02, True)
    assert d.blocks_needed != stats.blocks_needed(iv.estimate, iv.sd, 3, 0, d.confidence, 0.02, False,
                                                  same_at=stats.same_level())
    # before min_blocks the count starts at min_blocks
    early = stats.decide(ratios_from([0.001, -0.001]), pairs=pairs_from([0.001, -0.001] * 2), min_blocks=7)
    assert early.verdict == "inconclusive" and early.blocks_needed == 7


def test_decide_overwhelming_path_records_the_range_and_the_factor():
    aa = [0.02, -0.01, 0.01, -0.02]
    d = stats.decide([61.0, 45.0], pairs=pairs_from(aa), min_blocks=2, max_blocks=3, alpha=0.04)
    iv = stats.t_interval([61.0, 45.0], aa, d.confidence or level(3, 2, 0.04))
    assert d.verdict == "faster" and d.overwhelming and d.ci == (45.0, 61.0) and d.confidence is None
    assert d.speedup == pytest.approx(iv.estimate) and d.df == 1 and not d.pooled
    assert d.block_sd == pytest.approx(math.expm1(iv.sd)) and d.blocks == 2 and d.min_effect == 0.02
    assert d.alpha == 0.04 and d.run_noise == stats.run_noise(pairs_from(aa)) and d.blocks_needed is None
    assert d.notes == ["decided on an overwhelming change: every block beyond 2.00x in one direction"]
    wide = [math.log(1.15), -math.log(1.15), 0.2, -0.1]  # A/A spread 15%: the factor is 2.5
    w = stats.decide([61.0, 45.0], pairs=pairs_from(wide), min_blocks=2, max_blocks=3)
    assert w.overwhelming and w.notes == ["decided on an overwhelming change: every block beyond 2.50x in one direction"]
    assert stats.decide([2.4, 45.0], pairs=pairs_from(wide), min_blocks=2, max_blocks=3).verdict == "inconclusive"
    # no overwhelming decision between looks, before min_blocks, or without the A/A pairs
    assert stats.decide([61.0, 45.0], pairs=pairs_from(aa), min_blocks=2, max_blocks=3, at_look=False).verdict == \
        "inconclusive"
    assert stats.decide([61.0, 45.0, 50.0], pairs=pairs_from(aa), min_blocks=4).verdict == "inconclusive"
    assert stats.decide([61.0, 45.0], min_blocks=2, max_blocks=3).verdict == "inconclusive"


def test_an_overwhelming_decision_records_whether_the_interval_was_pooled():
    # three blocks near 20x that agree with very noisy A/A pairs (spread 172%: the factor is 18.2)
    d = stats.decide(ratios_from([3.0, 3.1, 2.95]), pairs=pairs_from([1.0, -1.0]))
    assert d.verdict == "faster" and d.overwhelming and d.pooled and d.df == 4


def test_a_change_the_interval_decides_is_not_called_overwhelming():
    ratios = ratios_from([1.1, 1.12, 1.08])  # about 3x, every block
    d = stats.decide(ratios, pairs=pairs_from(AGREE))
    assert d.verdict == "faster" and not d.overwhelming and d.confidence == level() and d.notes == []


def test_decide_level_uses_the_caps_and_the_alpha():
    ratios, pairs = ratios_from(LOGS), pairs_from(AGREE)
    assert stats.decide(ratios, pairs=pairs, max_blocks=10, min_blocks=1, alpha=0.03).confidence == \
        pytest.approx(1 - 0.03 / 9)  # looks after blocks 1..6, 8 and 10, and the final one
    assert stats.decide(ratios, pairs=pairs, max_blocks=2, min_blocks=3).confidence == pytest.approx(1 - 0.01 / 2)


# --- how intervals and levels are printed ---------------------------------------------------------------------------


def test_describe_interval_every_shape():
    assert stats.describe_interval((1.1, 1.2), 0.99) == "99% CI 1.100-1.200"
    assert stats.describe_interval((1.1, 1.2), None) == "interval 1.100-1.200"
    assert stats.describe_interval((1.1, 1.2), 0.99, "range") == "every block 1.100-1.200, overwhelming"
    assert stats.describe_interval((1.1, 1.2), 0.99, "ci") == "99% CI 1.100-1.200"
    assert stats.describe_interval((1, 2), 0.95) == "95% CI 1.000-2.000"  # ints are numbers too
    for empty in (None, (), (None, 1.0), (1.0, None), (math.nan, 1.0), (1.0, math.nan)):
        assert stats.describe_interval(empty, 0.99) == "no interval yet"


@pytest.mark.parametrize("value, text", [
    (0.0, "0.000"), (0.001, "0.001"), (0.000999, "0.000999"), (1.23456, "1.235"), (999.9, "999.900"),
    (1000.0, "1e+03"), (-5.0, "-5.000"), (-0.0005, "-0.0005"), (-2000.0, "-2e+03"), (math.inf, "inf"),
])
def test_num(value, text):
    assert stats._num(value) == text


@pytest.mark.parametrize("level, text", [
    (0.95, "95%"), (0.99, "99%"), (0.999, "99.9%"), (0.9975, "99.75%"), (1 - 0.01 / 28, "99.964%"), (0.5, "50%"),
    (0.9999999999, "99.999999%"),  # at most six decimals
    (0.5554, "55.5%"),  # at least one
    (0.99000001, "99%"),  # nothing left after the zeros, nor the point
    (0.999496, "99.949%"),  # never rounded up
    (0.999999, "99.9999%"), (0.9, "90%"), (0.95 + 1e-13, "95%"),
    (1.0, "100%"),  # alpha 0: nothing left to 100%
])
def test_format_level(level, text):
    assert stats.format_level(level) == text


# --- the rest -------------------------------------------------------------------------------------------------------


def test_geometric_mean_ignores_what_has_no_logarithm():
    assert stats.geometric_mean([2.0, 8.0, 0.0, -1.0, math.inf]) == pytest.approx(4.0)
    assert math.isnan(stats.geometric_mean([0.0]))
    assert stats.geometric_mean([3.0]) == pytest.approx(3.0)
    assert stats.geometric_mean([0.5, 2.0, 0.25, 4.0]) == pytest.approx(1.0)


def test_amdahl_edges():
    assert stats.amdahl_speedup(0.5, math.inf) == pytest.approx(2.0)
    assert stats.amdahl_speedup(1.0, math.inf) == math.inf
    assert stats.amdahl_speedup(0.75, 3.0) == pytest.approx(1 / (0.25 + 0.25))
    assert stats.amdahl_speedup(0.5, 0.5) == pytest.approx(1 / 1.5)  # a phase made slower
    with pytest.raises(ValueError, match="^phase_speedup must be > 0$"):
        stats.amdahl_speedup(0.5, 0.0)
    with pytest.raises(ValueError):
        stats.amdahl_speedup(0.5, -2.0)
    assert stats.amdahl_bound(-0.5) == 1.0 and stats.amdahl_bound(1.5) == math.inf
    assert stats.amdahl_bound(0.75) == pytest.approx(4.0) and stats.amdahl_bound(0.5, 3.0) == pytest.approx(1.5)
    assert stats.amdahl_bound(1.5, 3.0) == pytest.approx(3.0) and stats.amdahl_bound(-0.5, 3.0) == 1.0  # clamped


def test_same_has_its_own_level_spent_over_the_looks():
    # the final look off the schedule keeps its union-bound share: two one-sided tests at alpha_same / looks
    assert stats.same_level(0.05, 30, 3, blocks=9) == pytest.approx(1 - 2 * 0.05 / 14)
    assert stats.same_level(blocks=9) == pytest.approx(1 - 2 * stats.ALPHA_SAME / stats.looks())
    # the scheduled looks share the rest on one boundary: one look's z at that share, and every scheduled n alike
    share = 0.05 - 0.05 / 14
    c = looks.same_boundary(share, 30, 3)
    assert stats.same_level(0.05, 30, 3) == pytest.approx(1 - 2 * float(ndtr(-c)))
    assert stats.same_level(0.05, 30, 3, blocks=10) == stats.same_level(0.05, 30, 3, blocks=30) == stats.same_level(0.05, 30, 3)
    # cheaper than the union bound, dearer than a single look; still narrower for `same` than for faster/slower
    assert ndtr(-c) > share / 13 and ndtr(-c) < share
    assert 1 - 2 * share < stats.same_level(0.05, 30, 3) < 1 - 2 * 0.05 / 14
    assert stats.ALPHA_SAME == 0.05 and stats.same_level() < stats.look_level()


def test_the_same_boundary_is_the_exact_crossing_probability():
    # one look: the normal quantile itself
    assert looks.crossing_probability(2.0, (5,)) == pytest.approx(ndtr(-2.0))
    assert looks.same_boundary(0.05, 3, 3) == pytest.approx(sp.norm.isf(0.05), abs=1e-3)
    # two looks: one minus the bivariate normal's mass below (c, c), correlation sqrt(n1/n2)
    rho = math.sqrt(10 / 40)
    joint = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([2.2, 2.2])
    assert looks.crossing_probability(2.2, (10, 40)) == pytest.approx(1 - joint, abs=2e-4)
    # many correlated looks: more than any one of them, far less than their sum; rounded up, never below the rate
    ns = looks.look_schedule()
    assert ndtr(-2.54) < looks.crossing_probability(2.54, ns) < len(ns) * ndtr(-2.54)
    c = looks.same_boundary(0.05, 200, 3)
    assert looks.crossing_probability(c, ns) <= 0.05 < looks.crossing_probability(c - 0.002, ns)


def test_same_on_its_own_interval_only_at_a_look_and_from_min_blocks():
    ratios, aa = ratios_from([0.004, -0.004, 0.003, -0.003]), [0.8 * x for x in AGREE * 2]
    assert stats.decide(ratios, pairs=pairs_from(aa), min_blocks=4, alpha_same=1e-12).verdict == "inconclusive"
    d = stats.decide(ratios, pairs=pairs_from(aa), min_blocks=4)
    assert d.verdict == "same" and d.confidence == pytest.approx(stats.same_level(0.05, 200, 4))
    assert stats.decide(ratios, pairs=pairs_from(aa), min_blocks=5).verdict == "inconclusive"
    assert stats.decide(ratios, pairs=pairs_from(aa), at_look=False).verdict == "inconclusive"


def test_same_is_spent_over_the_looks_taken_first_look_at_its_share():
    # one look at a fifth of the benchmark: the normal quantile of alpha_same * (1/5)^2, rounded up
    b = looks.SameBoundaries(0.05)
    assert b.look(3, 0.2) == pytest.approx(sp.norm.isf(0.05 * 0.2 ** 2), abs=1.5e-3) and b.look(3, 0.2) >= sp.norm.isf(0.002)
    assert looks.same_spent(0.2) == pytest.approx(0.002) and looks.same_spent(1.7) == looks.same_spent(1.0) == 0.05
    assert b.spent == pytest.approx(0.002, abs=2e-5) and b.spent <= 0.002


def test_a_second_look_spends_exactly_its_increment():
    # two looks: the second boundary c2 solves P(Z1 > c1 or Z2 > c2) = alpha_same, checked on the bivariate normal
    b = looks.SameBoundaries(0.05)
    c1, c2 = b.look(10, 0.4), b.look(40, 1.0)
    rho = math.sqrt(10 / 40)
    joint = multivariate_normal(mean=[0, 0], cov=[[1, rho], [rho, 1]]).cdf([c1, c2])
    assert 1 - joint == pytest.approx(0.05, abs=3e-4) and 1 - joint <= 0.05 + 2e-4
    assert c2 < sp.norm.isf(0.05 / 2) and c2 > sp.norm.isf(0.05)  # cheaper than halves, dearer than one look


def test_the_spent_rate_holds_by_simulation_over_a_realistic_schedule():
    # the looks of a 60 s benchmark that fits ~100 blocks, the final one where the budget ended it: simulated
    # standardized means of normal blocks cross some boundary in alpha_same of the benchmarks
    import numpy as np

    ns = [n for n in looks.look_schedule() if n < 100] + [100]
    b = looks.SameBoundaries(0.05)
    cs = np.array([b.look(n, n / 100) for n in ns])
    assert b.spent == pytest.approx(0.05, abs=1e-4) and b.spent <= 0.05
    assert cs[-1] < 1.9 < looks.same_boundary(0.05, 200, 3) < cs[0]  # the last look pays least, the first most
    rng = np.random.default_rng(7)
    sums = np.cumsum(rng.standard_normal((40_000, 100)), axis=1)
    z = sums[:, np.array(ns) - 1] / np.sqrt(ns)
    rate = float((z > cs).any(axis=1).mean())
    assert 0.045 < rate < 0.055


def test_the_final_look_on_a_looked_at_block_count_takes_that_look_again_at_the_larger_share():
    b = looks.SameBoundaries(0.05)
    b.look(3, 0.1)
    early = b.look(10, 0.5)
    assert b.look(10, 0.5) == early  # the same look asked twice: the same boundary, nothing spent twice
    final = b.look(10, 1.0)  # the budget ended the benchmark right after that look: what was left is spent there
    assert final < early and [n for n, _ in b.looks] == [3, 10] and b.spent == pytest.approx(0.05, abs=1e-4)
    assert math.isinf(looks.SameBoundaries(0.0).look(5, 1.0))  # nothing to spend: no `same` at all
    assert looks.SameBoundaries.level(math.inf) == 1.0 and looks.SameBoundaries.level(1.96) == pytest.approx(0.95, abs=1e-4)
