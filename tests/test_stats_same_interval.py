"""``decide``'s ``same`` interval is the decisive one re-widened (``stats.at_level``), not a second t interval.

Over seeded random block series, every ``same`` that ``decide`` gives carries exactly a t interval of its
blocks: the decisive one where that already lies within the margin, else the one at ``same_level`` (which it
used to compute a second time); and ``at_level`` is ``t_interval`` at the other level, bit for bit.
"""

from __future__ import annotations

import math
import random
from typing import Any

from campaign.measure import stats


def _case(rng: random.Random) -> tuple[list[float], dict[str, Any]]:
    """A random block series near no change (so ``same`` is reached often), with or without A/A pairs."""
    n = rng.randint(1, 40)
    effect = rng.choice([1.0, 1.0, 1.005, 1 / 1.01, 1.02, 1.1, 2.5])
    sigma = rng.choice([0.0, 0.002, 0.01, 0.03, 0.08])
    ratios, pairs = [], []
    for _ in range(n):
        a, b, c, d = (math.exp(rng.gauss(0, sigma)) for _ in range(4))
        ratios.append(effect * a / b)
        pairs += [(a, c), (b, d)]
    max_blocks = rng.choice([3, 10, 20, 40, 100])
    kwargs = {"pairs": pairs if rng.random() < 0.7 else None, "min_blocks": rng.choice([2, 3, 4]),
              "max_blocks": max_blocks, "min_effect": rng.choice([0.01, 0.02, 0.05]),
              "alpha": rng.choice([0.05, 0.01]), "at_look": rng.random() < 0.8,
              "alpha_same": rng.choice([stats.ALPHA_SAME, 0.1, 0.01, 1e-12])}
    return ratios, kwargs


def test_a_same_carries_the_t_interval_of_its_blocks_at_the_same_level():
    rng = random.Random(20261205)
    verdicts: dict[str, int] = {}
    for _ in range(1500):
        ratios, kwargs = _case(rng)
        d = stats.decide(ratios, **kwargs)
        verdicts[d.verdict] = verdicts.get(d.verdict, 0) + 1
        if d.verdict != "same" or d.confidence is None:
            continue
        aa = stats.aa_log_diffs(kwargs["pairs"] or [])
        if d.ci[0] == d.ci[1]:  # no spread at all: the point, at the decisive level (no second interval)
            continue
        top = max(kwargs["max_blocks"], kwargs["min_blocks"])
        level = stats.look_level(kwargs["alpha"], top, kwargs["min_blocks"])
        decisive = stats.t_interval(ratios, aa, level)
        if stats.verdict_from_ci(decisive.estimate, (decisive.lo, decisive.hi), kwargs["min_effect"]) != "same":
            # not same on the decisive interval: on the narrower one, the same blocks at same_level
            level = stats.same_level(kwargs["alpha_same"], top, kwargs["min_blocks"], blocks=len(ratios))
        fresh = stats.t_interval(ratios, aa, level)
        assert d.confidence == level and (d.speedup, d.ci) == (fresh.estimate, (fresh.lo, fresh.hi)), (ratios, kwargs)
        assert (d.df, d.pooled) == (fresh.df, fresh.pooled)
    # the branches the re-widened interval feeds were all reached
    assert verdicts.get("same", 0) >= 50 and verdicts.get("inconclusive", 0) >= 50
    assert verdicts.get("faster", 0) >= 20 and verdicts.get("slower", 0) >= 5


def test_at_level_is_t_interval_at_that_level():
    rng = random.Random(7)
    for _ in range(200):
        ratios = [math.exp(rng.gauss(0.01, 0.03)) for _ in range(rng.randint(2, 30))]
        aa = [rng.gauss(0, 0.03) for _ in range(rng.choice([0, 4, 20]))]
        level = rng.choice([0.9, 0.99, 0.9996])
        iv = stats.t_interval(ratios, aa, 0.95)
        wide = stats.at_level(iv, level)
        assert wide == stats.t_interval(ratios, aa, level)
        assert (wide.lo, wide.hi, wide.level) == (stats.t_interval(ratios, aa, level).lo,
                                                  stats.t_interval(ratios, aa, level).hi, level)
        assert (wide.estimate, wide.df, wide.sd, wide.pooled) == (iv.estimate, iv.df, iv.sd, iv.pooled)
