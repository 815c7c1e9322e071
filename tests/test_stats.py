import math
import random

import pytest

from campaign.measure import stats


def lognormal_ratios(n, effect, sigma, seed):
    rng = random.Random(seed)
    return [effect * math.exp(rng.gauss(0, sigma)) for _ in range(n)]


def test_identical_samples_are_same():
    d = stats.decide([1.0] * 10, 0.0, final=True)
    assert d.verdict == "same" and d.speedup == 1.0 and d.ci == (1.0, 1.0)


def test_twenty_percent_slower():
    ratios = lognormal_ratios(20, 1 / 1.2, 0.03, 1)
    d = stats.decide(ratios, 0.03, final=True)
    assert d.verdict == "slower" and d.ci[1] < 1


def test_twenty_percent_faster():
    d = stats.decide(lognormal_ratios(20, 1.2, 0.03, 2), 0.03, final=True)
    assert d.verdict == "faster" and d.ci[0] > 1 and d.speedup == pytest.approx(1.2, rel=0.05)


def test_noisy_aa_is_never_faster_or_slower(monkeypatch):
    monkeypatch.setattr(stats, "BOOTSTRAP_RESAMPLES", 200)
    wrong = 0
    for seed in range(200):
        d = stats.decide(lognormal_ratios(30, 1.0, 0.05, seed), 0.05, final=True)
        wrong += d.verdict in ("faster", "slower")
    assert wrong <= 2  # < 1%


def test_small_effect_below_minimum_is_not_faster():
    # a real but 1% change with tiny noise: below the 2% minimum effect
    d = stats.decide(lognormal_ratios(30, 1.01, 0.002, 3), 0.002, final=True)
    assert d.verdict == "same"


def test_too_few_blocks_inconclusive_unless_overwhelming():
    assert stats.decide([1.1, 1.12, 1.09], 0.01, final=True).verdict == "inconclusive"
    d = stats.decide([0.1, 0.11, 0.09], 0.02, final=False, min_blocks=3)
    assert d.verdict == "slower" and d.overwhelming
    assert stats.decide([0.1, 0.11], 0.02, final=False, min_blocks=3).verdict == "inconclusive"
    # one block against the trend breaks "overwhelming"
    assert not stats.is_overwhelming([3.0, 3.0, 1.1], 0.02, 3)


def test_interim_looks_are_stricter():
    ratios = lognormal_ratios(7, 1.06, 0.02, 5)  # 7 blocks: 95% interval exists, 99% does not
    assert stats.order_statistic_ci(ratios, 0.95) is not None
    assert stats.order_statistic_ci(ratios, 0.99) is None
    assert stats.decide(ratios, 0.02, final=False).verdict == "inconclusive"


def test_order_statistic_ci_coverage_sizes():
    assert stats.order_statistic_ci([1, 2, 3, 4, 5], 0.95) is None
    assert stats.order_statistic_ci([1, 2, 3, 4, 5, 6], 0.95) == (1, 6)
    lo, hi = stats.order_statistic_ci(list(range(1, 31)), 0.95)
    assert (lo, hi) == (10, 21)


def test_bootstrap_is_seeded():
    """Same seed, same interval; the seed is really used (other seeds move it); the interval holds the median."""
    x = lognormal_ratios(15, 1.0, 0.1, 7)
    assert stats.bootstrap_median_ci(x, 0.95, seed=3) == stats.bootstrap_median_ci(x, 0.95, seed=3)
    intervals = {stats.bootstrap_median_ci(x, 0.95, seed=s, resamples=200) for s in range(6)}
    assert len(intervals) > 1
    med = sorted(x)[len(x) // 2]
    assert all(min(x) <= lo <= med <= hi <= max(x) for lo, hi in intervals)


def test_noise_floor_and_min_effect():
    assert stats.noise_floor([(1.0, 1.0)] * 4) == 0.0
    # A/A pairs (first run, second run): the systematic part is what counts
    assert stats.noise_floor([(1.0, 1.1), (1.1, 1.0), (1.0, 1.0)]) == 0.0
    assert stats.noise_floor([(1.0, 1.1), (1.0, 1.1), (1.1, 1.0)]) == pytest.approx(0.1)
    assert stats.pair_spread([(1.0, 1.1), (1.1, 1.0), (1.0, 1.0)]) == pytest.approx(0.1)
    assert stats.minimum_effect(0.005) == 0.02 and stats.minimum_effect(0.07) == 0.07


def test_paired_ratios():
    assert stats.paired_ratios([2.0, 3.0], [1.0, 3.0]) == [2.0, 1.0]
    with pytest.raises(ValueError):
        stats.paired_ratios([1.0], [])


def test_amdahl():
    assert stats.amdahl_bound(0.5) == pytest.approx(2.0)
    assert stats.amdahl_bound(0.0) == 1.0
    assert stats.amdahl_bound(1.0) == math.inf
    assert stats.amdahl_speedup(0.5, 2.0) == pytest.approx(1 / 0.75)
    assert stats.amdahl_bound(0.9, 10) == pytest.approx(stats.amdahl_speedup(0.9, 10))


def simulate_sequential(effect, sigma, seed, max_blocks=30):
    rng = random.Random(seed)
    ratios, pairs = [], []
    for b in range(1, max_blocks + 1):
        runs = [rng.gauss(0, sigma) for _ in range(4)]
        if rng.random() < 0.1:  # an interference spike hits one run of the block
            runs[rng.randrange(4)] += abs(rng.gauss(0, 0.3))
        a1, a2, c1, c2 = runs
        ratios.append(math.exp((a1 + a2) / 2 - (c1 + c2) / 2 - math.log(1 + effect)))
        pairs += [(math.exp(a1), math.exp(a2)), (math.exp(c1), math.exp(c2))]
        d = stats.decide(ratios, stats.noise_floor(pairs), final=b == max_blocks, spread=stats.pair_spread(pairs))
        if d.verdict != "inconclusive" or b == max_blocks:
            return d.verdict


def test_sequential_false_verdicts_are_rare(monkeypatch):
    monkeypatch.setattr(stats, "BOOTSTRAP_RESAMPLES", 50)
    verdicts = [simulate_sequential(0.0, 0.08, seed, 20) for seed in range(200)]
    assert sum(v in ("faster", "slower") for v in verdicts) <= 2  # <= 1% of 200
    detected = [simulate_sequential(0.25, 0.08, seed, 20) for seed in range(30)]
    assert sum(v == "slower" for v in detected) >= 27 and "faster" not in detected


def test_signed_rank_ci_matches_scipy_test():
    from scipy.stats import wilcoxon

    for seed in range(20):
        x = lognormal_ratios(12, 1.03, 0.04, seed)
        lo, hi = stats.signed_rank_ci(x, 0.95)
        p = wilcoxon([math.log(v) for v in x], method="exact").pvalue
        # the interval excludes 1 exactly when the exact two-sided test rejects at 5%
        assert (lo > 1 or hi < 1) == (p < 0.05)
    assert stats.signed_rank_ci([1.1] * 5, 0.95) is None  # too few blocks for 95%
    assert stats.signed_rank_ci([1.0] * 8, 0.99) == (1.0, 1.0)
