import math
import random

import pytest

from campaign.measure import stats
from campaign.measure.executor import Timing
from campaign.measure.scheduler import Plan, Scheduler

# --- simulated blocks ------------------------------------------------------------------------------------------


def simulate_block(rng, effect, sigma, kind="normal", load=None):
    """One ABBA/BAAB block: (ratio ref/cand, A/A pair of ref, A/A pair of cand). ``effect`` > 1: candidate faster."""
    order = ["r", "c", "c", "r"] if rng.random() < 0.5 else ["c", "r", "r", "c"]
    t = {"r": [], "c": []}
    # bursts: other work arrives for the middle two runs of the block (a burst the A/A pairs cannot see)
    burst = abs(rng.gauss(0, 0.2)) if kind == "bursts" and rng.random() < 0.2 else 0.0
    for k, v in enumerate(order):
        if kind == "heavy":  # Student t with 2 df: heavy tails
            e = sigma * rng.gauss(0, 1) / math.sqrt(rng.gammavariate(1.0, 1.0))
        elif kind == "spikes":  # interference only ever adds time
            e = rng.gauss(0, sigma) + (abs(rng.gauss(0, 0.3)) if rng.random() < 0.1 else 0.0)
        else:
            e = rng.gauss(0, sigma)
        if burst and k in (1, 2):
            e += burst
        if load is not None:
            load[0] += rng.gauss(0, 0.03)  # a random walk of the machine's speed, shared by whatever runs now
            e += load[0]
        t[v].append(e - (math.log(effect) if v == "c" else 0.0))
    (r1, r2), (c1, c2) = t["r"], t["c"]
    return math.exp((r1 + r2) / 2 - (c1 + c2) / 2), (math.exp(r1), math.exp(r2)), (math.exp(c1), math.exp(c2))


def blocks(n, effect, sigma, seed, kind="normal"):
    rng = random.Random(seed)
    ratios, pairs = [], []
    for _ in range(n):
        r, pa, pc = simulate_block(rng, effect, sigma, kind)
        ratios.append(r)
        pairs += [pa, pc]
    return ratios, pairs


class SimulatedBlocks:
    """A fake executor (``campaign.measure.executor``): each block's four runs drawn at once by ``simulate_block``.

    The scheduler asks for runs one at a time in its own mirrored order; every unit gets its two simulated runs
    in the order they were drawn, so the block ratios and A/A pairs are exactly the simulation's.
    """

    def __init__(self, effect, sigma, seed, kind="normal", drift=False):
        self.rng, self.effect, self.sigma, self.kind = random.Random(seed), effect, sigma, kind
        self.load = [0.0] if drift else None
        self.queue = {"r": [], "c": []}

    def run(self, unit, repeat):
        if not self.queue[unit]:
            _, pa, pc = simulate_block(self.rng, self.effect, self.sigma, self.kind, self.load)
            self.queue = {"r": list(pa), "c": list(pc)}
        return Timing(self.queue[unit].pop(0))


def sequential(effect, sigma, seed, kind="normal", drift=False, max_blocks=stats.MAX_BLOCKS, alpha_same=stats.ALPHA_SAME):
    """As bench.benchmark does - with its scheduler: decide only at the planned looks, stop when decided or at
    the noise cap or max_blocks, then take the final look (no time budget, so no futility rule)."""
    plan = Plan(max_blocks=max_blocks, futility=False, alpha_same=alpha_same)
    sched = Scheduler(SimulatedBlocks(effect, sigma, seed, kind, drift), ["r", "c"], {"ref": ("r", "c")}, plan)
    sched.run()
    return sched.decisions["ref"].verdict, sched.blocks


def tiny_budget(seed, kind, sigma):
    """A/A at the test suites' budget: three blocks at most, first look at two; the final verdict."""
    rng = random.Random(seed)
    ratios, pairs = [], []
    for _ in range(3):
        r, pa, pc = simulate_block(rng, 1.0, sigma, kind)
        ratios.append(r)
        pairs += [pa, pc]
        d = stats.decide(ratios, pairs=pairs, min_blocks=2, max_blocks=3)
        if d.verdict != "inconclusive":
            break
    return d.verdict


# --- the decision rule at small n --------------------------------------------------------------------------------


def test_three_agreeing_blocks_above_1_2x_are_faster():
    # a block ratio's noise is that of one run (four runs averaged in pairs), so blocks "agree within the A/A
    # noise" when they spread no more than the A/A pairs predict; then three blocks above 1.2x decide
    pairs = [(1.0, 1.03), (1.02, 1.0), (1.0, 0.98), (0.97, 1.0), (1.0, 1.02), (1.01, 1.0)]
    d = stats.decide([1.25, 1.21, 1.28], pairs=pairs)
    assert d.verdict == "faster" and d.pooled and d.blocks == 3 and d.ci[0] > 1
    flipped = [(b, a) for a, b in pairs]
    assert stats.decide([1 / 1.25, 1 / 1.21, 1 / 1.28], pairs=flipped).verdict == "slower"
    # simulated: whenever the blocks agree with the A/A noise (most seeds), 3 blocks suffice
    agreed = 0
    for seed in range(40):
        ratios, pairs = blocks(3, 1.25, 0.03, seed)
        d = stats.decide(ratios, pairs=pairs)
        if min(ratios) > 1.2 and d.pooled:
            agreed += 1
            assert d.verdict == "faster" and d.ci[0] > 1, (seed, ratios, d)
    assert agreed >= 25


def test_disagreeing_blocks_do_not_decide_at_n_3_4_5():
    # the blocks spread far more than the A/A pairs predict: not pooled, and nothing decided
    quiet_pairs = [(1.0, 1.01), (1.01, 1.0)]
    for ratios in ([1.3, 0.9, 1.25], [1.4, 0.85, 1.3, 1.0], [1.5, 0.8, 1.3, 0.95, 1.35]):
        pairs = quiet_pairs * len(ratios)
        d = stats.decide(ratios, pairs=pairs)
        assert d.verdict == "inconclusive" and not d.pooled, (ratios, d)
        assert d.blocks_needed is None or d.blocks_needed > len(ratios)


def test_agreeing_blocks_at_n_4_and_5_decide_smaller_effects():
    for n in (4, 5):
        ratios, pairs = blocks(n, 1.10, 0.02, n)
        assert stats.decide(ratios, pairs=pairs).verdict == "faster"
        ratios, pairs = blocks(n, 1 / 1.10, 0.02, n)
        assert stats.decide(ratios, pairs=pairs).verdict == "slower"


def test_same_when_the_interval_lies_inside_the_minimum_effect():
    ratios, pairs = blocks(10, 1.0, 0.005, 3)
    d = stats.decide(ratios, pairs=pairs)
    assert d.verdict == "same"
    assert 1 / 1.02 <= d.ci[0] <= d.ci[1] <= 1.02
    # a real 1% change with tiny noise is below the 2% worth resolving: same, not faster
    ratios, pairs = blocks(20, 1.01, 0.002, 4)
    assert stats.decide(ratios, pairs=pairs).verdict == "same"
    # the margin is a setting
    assert stats.decide(ratios, pairs=pairs, min_effect=0.005).verdict == "faster"


def test_before_min_blocks_nothing_is_decided():
    ratios, pairs = blocks(2, 3.0, 0.01, 1)
    assert stats.decide(ratios, pairs=pairs, min_blocks=3).verdict == "inconclusive"
    assert stats.decide(ratios, pairs=pairs, min_blocks=2).verdict == "faster"


def test_identical_samples_are_same():
    d = stats.decide([1.0] * 10, pairs=[(1.0, 1.0)] * 20)
    assert d.verdict == "same" and d.speedup == 1.0 and d.ci == (1.0, 1.0)


def test_without_pairs_the_blocks_alone_decide():
    ratios, _ = blocks(20, 1.2, 0.03, 2)
    d = stats.decide(ratios, 0.0, final=True)  # the old call shape (tune) still works
    assert d.verdict == "faster" and not d.pooled and d.df == 19


def test_the_decisive_interval_has_the_spent_level():
    # looks after blocks 3..8, then ~20% apart, and one final look wherever the benchmark stops
    assert stats.look_schedule(30, 3) == (3, 4, 5, 6, 7, 8, 10, 12, 15, 18, 22, 27, 30)
    assert stats.looks(30, 3) == 14 and stats.look_level(0.01, 30, 3) == pytest.approx(1 - 0.01 / 14)
    assert stats.look_schedule(2, 2) == (2,) and stats.look_schedule(3, 5) == (5,)
    assert stats.looks(200, 3) == 24
    d = stats.decide(*blocks(5, 1.0, 0.02, 1), max_blocks=10, min_blocks=3, alpha=0.02)
    assert d.confidence == pytest.approx(1 - 0.02 / 8)
    assert stats.format_level(d.confidence) == "99.75%"
    assert stats.format_level(0.95) == "95%" and stats.format_level(1 - 0.01 / 28) == "99.964%"


def test_between_looks_the_interval_is_shown_but_nothing_is_decided():
    ratios, pairs = blocks(9, 1.5, 0.01, 2)
    assert not stats.is_look(9) and stats.is_look(8) and stats.is_look(10)
    between = stats.decide(ratios, pairs=pairs, at_look=False)
    assert between.verdict == "inconclusive" and between.ci[0] > 1.3  # the evidence is there, the look is not
    assert stats.decide(ratios, pairs=pairs).verdict == "faster"


def test_t_interval_matches_scipy_without_pairs():
    from scipy.stats import t

    logs = [0.1, 0.12, 0.08, 0.11]
    iv = stats.t_interval([math.exp(x) for x in logs], [], 0.95)
    lo, hi = t.interval(0.95, 3, loc=sum(logs) / 4, scale=t.std if False else (
        math.sqrt(sum((x - sum(logs) / 4) ** 2 for x in logs) / 3) / 2))
    assert (math.log(iv.lo), math.log(iv.hi)) == pytest.approx((lo, hi))


def test_blocks_needed_says_how_many_more_at_this_noise():
    ratios, pairs = blocks(3, 1.0, 0.03, 5)
    d = stats.decide(ratios, pairs=pairs)
    assert d.verdict == "inconclusive" and d.blocks_needed > 3
    # with that many blocks at the same noise, the same estimate would be decided
    assert 3 < stats.blocks_needed(1.0, 0.01, 3, 2, 0.999, 0.02, True) < 30
    # an estimate just inside the margin needs an absurd number of blocks: say so (None), do not promise
    assert stats.blocks_needed(1.0199, 0.05, 3, 2, 0.999, 0.02, True) is None


# --- the false-verdict rate, by simulation (fixed seeds: deterministic) -------------------------------------------


@pytest.mark.parametrize("kind,sigma,drift", [("normal", 0.03, False), ("heavy", 0.02, False),
                                              ("spikes", 0.02, False), ("bursts", 0.02, False),
                                              ("normal", 0.02, True)])
def test_identical_code_is_rarely_faster_or_slower(kind, sigma, drift):
    runs = 300
    verdicts = [sequential(1.0, sigma, seed, kind, drift)[0] for seed in range(runs)]
    false = sum(v in ("faster", "slower") for v in verdicts)
    assert false <= 0.01 * runs, f"{false}/{runs} false verdicts ({kind}, drift={drift})"


def test_quiet_identical_code_is_same():
    verdicts = [sequential(1.0, 0.01, seed)[0] for seed in range(50)]
    assert verdicts.count("same") >= 45


def test_same_is_read_on_its_own_interval_and_says_its_level():
    # noisy identical code: the decisive 99.958% interval still reaches past the 2% margin, the 99.6% one of
    # `same` (alpha_same = 5%, two one-sided tests) lies inside it: `same`, shown with that interval's level
    ratios, pairs = blocks(40, 1.0, 0.035, 0)
    strict = stats.decide(ratios, pairs=pairs, alpha_same=1e-12)
    d = stats.decide(ratios, pairs=pairs)
    assert strict.verdict == "inconclusive" and d.verdict == "same"
    assert d.confidence == pytest.approx(stats.same_level()) and d.confidence < strict.confidence
    assert 1 / 1.02 <= d.ci[0] < d.ci[1] <= 1.02 and d.to_dict()["alpha_same"] == 0.05
    # and what an undecided benchmark says it needs is counted at that level, so futility waits for it
    assert d.blocks_needed is None and strict.blocks_needed > 40


def test_a_real_change_of_the_margin_is_rarely_called_same():
    # the error `alpha_same` bounds: a true 2% change (either way) called `same`, at a noise where `same`
    # is reached for identical code in most benchmarks (both by the same simulation, at most 100 blocks)
    runs = 150
    edge = [sequential(e, 0.05, seed, max_blocks=100)[0] for e in (1.02, 1 / 1.02) for seed in range(runs)]
    assert edge.count("same") <= 0.05 * len(edge)
    aa = [sequential(1.0, 0.05, seed, max_blocks=100)[0] for seed in range(runs)]
    # `same` on the decisive interval, as before alpha_same (the Plan passes it to decide)
    before = [sequential(1.0, 0.05, seed, max_blocks=100, alpha_same=1e-12)[0] for seed in range(runs)]
    assert aa.count("same") >= 2 * before.count("same") and aa.count("same") >= 0.6 * runs


def test_the_plans_alpha_same_reaches_decide():
    sched = Scheduler(SimulatedBlocks(1.0, 0.05, 3), ["r", "c"], {"ref": ("r", "c")},
                      Plan(max_blocks=20, futility=False, alpha_same=0.01))
    sched.run()
    assert sched.decisions["ref"].alpha_same == 0.01 and Plan().alpha_same == stats.ALPHA_SAME


def test_real_changes_are_found_in_the_right_direction():
    found = [sequential(1 / 1.05, 0.02, seed) for seed in range(60)]
    assert sum(v == "slower" for v, _ in found) >= 54 and all(v != "faster" for v, _ in found)
    big = [sequential(1.3, 0.05, seed) for seed in range(30)]
    assert all(v == "faster" for v, _ in big)
    assert sorted(b for _, b in big)[15] <= 4  # decided within a few blocks


# --- the rest of the module ---------------------------------------------------------------------------------------


def test_noise_measures():
    assert stats.noise_floor([(1.0, 1.0)] * 4) == 0.0
    assert stats.noise_floor([(1.0, 1.1), (1.1, 1.0), (1.0, 1.0)]) == 0.0
    assert stats.noise_floor([(1.0, 1.1), (1.0, 1.1), (1.1, 1.0)]) == pytest.approx(0.1)
    assert stats.pair_spread([(1.0, 1.1), (1.1, 1.0), (1.0, 1.0)]) == pytest.approx(0.1)
    assert stats.run_noise([(1.0, 1.0)]) == 0.0 and stats.run_noise([]) is None


def test_describe_interval_never_calls_a_range_a_ci():
    assert stats.describe_interval((1.1, 1.2), 0.99) == "99% CI 1.100-1.200"
    assert stats.describe_interval((1.1, 1.2), None) == "interval 1.100-1.200"
    assert stats.describe_interval((math.nan, math.nan), 0.99) == "no interval yet"


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


def test_overwhelming_blocks_decide_even_when_they_disagree():
    # 61x and 45x: the blocks disagree far beyond the A/A noise (not pooled, 1 df), yet no noise explains them
    pairs = [(1.0, 1.02), (1.0, 0.99), (1.01, 1.0), (0.98, 1.0)]
    d = stats.decide([61.0, 45.0], pairs=pairs, min_blocks=2, max_blocks=3)
    assert d.verdict == "faster" and d.overwhelming and not d.pooled
    # what decided is the blocks' range, and it is shown as one - never with a confidence level
    assert d.ci == (45.0, 61.0) and d.confidence is None and d.to_dict()["ci_kind"] == "range"
    assert stats.describe_interval(d.ci, d.confidence, "range") == "every block 45.000-61.000, overwhelming"
    assert stats.decide([1 / 61.0, 1 / 45.0], pairs=pairs, min_blocks=2, max_blocks=3).verdict == "slower"
    # not before min_blocks, not with one block against the trend, not when the A/A noise is as large
    assert stats.decide([61.0, 45.0], pairs=pairs, min_blocks=3).verdict == "inconclusive"
    assert not stats.is_overwhelming([3.0, 3.0, 1.1], 0.02, 3)
    assert not stats.is_overwhelming([3.0, 3.0, 3.0], 0.3, 3)


@pytest.mark.parametrize("kind,sigma", [("normal", 0.05), ("bursts", 0.1)])
def test_tiny_budgets_keep_the_rate(kind, sigma):
    # the test suites' budget (2 to 3 blocks): alpha is spent over its looks, nothing is pooled below 3 blocks,
    # and a pooled interval is never narrower than the blocks' own spread
    verdicts = [tiny_budget(seed, kind, sigma) for seed in range(1000)]
    assert sum(v in ("faster", "slower") for v in verdicts) <= 10


def test_an_astronomically_wide_interval_saturates_instead_of_overflowing():
    # two blocks that disagree wildly (1 df) and a huge level: the upper bound is inf, not an OverflowError
    d = stats.decide([3.6, 979.0], pairs=[(1.0, 1.0)] * 4, min_blocks=3)
    assert d.verdict == "inconclusive" and d.ci[1] == math.inf and d.ci[0] >= 0
    assert "inf" in stats.describe_interval(d.ci, d.confidence)


class ClockedBlocks(SimulatedBlocks):
    """Simulated blocks on a fake clock: every run costs ``run_s`` seconds, so a time budget ends the benchmark."""

    def __init__(self, effect, sigma, seed, run_s, now):
        super().__init__(effect, sigma, seed)
        self.run_s, self.now = run_s, now

    def run(self, unit, repeat):
        self.now[0] += self.run_s
        return super().run(unit, repeat)


def budgeted(effect, sigma, seed, budget_s=60.0, run_s=0.14, spent=True, futility=True):
    """A benchmark as bench.benchmark runs one in a 60 s budget (no extension), ~100 blocks of four runs; the
    verdict. ``spent=False``: ``same`` read at the constant boundary of the schedule and the final look's
    union-bound share, as before error spending."""
    now = [0.0]
    plan = Plan(budget_s=budget_s, extend_s=0.0, futility=futility)
    sched = Scheduler(ClockedBlocks(effect, sigma, seed, run_s, now), ["r", "c"], {"ref": ("r", "c")}, plan,
                      clock=lambda: now[0])
    if not spent:
        sched.same_confidence = lambda: stats.same_level(blocks=sched.blocks, min_blocks=plan.min_blocks)  # type: ignore[method-assign]
    sched.run()
    return sched.decisions["ref"].verdict, sched


def test_spending_same_over_the_budget_shows_noisy_identical_code_the_same_far_more_often():
    # 2026-12-06, at load 3 on 2 cores: a run's CPU time varied by 6.6% between processes (the host's own noise,
    # not only the burners), a block cost 0.55 s. In 60 s the constant boundary and the final look's union-bound
    # share called identical code `same` about a fifth of the time; spent over the budget, most of the time
    runs = 120
    now = [budgeted(1.0, 0.066, seed)[0] for seed in range(runs)]
    before = [budgeted(1.0, 0.066, seed, spent=False)[0] for seed in range(runs)]
    assert now.count("same") >= 0.65 * runs and now.count("same") >= 2 * before.count("same")
    # faster/slower keep their own rate (alpha = 1% per benchmark: 1.2 of 120 expected, more than 4 under 1%)
    assert sum(v in ("faster", "slower") for v in now) <= 4


def test_spending_same_keeps_a_real_change_of_the_margin_called_same_within_alpha_same():
    # the price: a true 2% change is called `same` up to alpha_same (5%) of the time, no more (binomial: at 5% of
    # 400 benchmarks, 20 expected, more than 32 has a chance under 0.3%)
    edge = [budgeted(e, 0.066, seed)[0] for e in (1.02, 1 / 1.02) for seed in range(200)]
    assert edge.count("same") <= 32, edge.count("same")


def test_the_budgets_final_look_spends_what_the_earlier_looks_left():
    verdict, sched = budgeted(1.0, 0.2, 3, futility=False)  # too noisy to decide anything in 60 s
    b = sched.same_boundaries
    assert sched.stop_reason.startswith("budget") and b.looks[-1][0] == sched.blocks
    assert b.spent == pytest.approx(stats.ALPHA_SAME, abs=2e-4) and b.spent <= stats.ALPHA_SAME
    # a decision off the looks (the clock guard's check between them) reads no `same`
    sched.blocks += 1
    assert sched.same_confidence() == 1.0
