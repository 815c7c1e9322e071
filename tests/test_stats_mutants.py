"""The benchmark decision as it is recorded (``Decision.to_dict``: the journal's and ``--json``'s numbers).

Written against the surviving mutants of ``campaign/measure/stats.py`` (docs/mutation.md).
"""

from campaign.measure.stats import INTERVAL_NAME, Decision


def test_decision_record_names_every_number_and_its_interval():
    d = Decision("faster", 1.5, (1.4, 1.6), 0.99, 0.02, 12, alpha=0.01, pooled=True, df=11, block_sd=0.03,
                 run_noise=0.01, drift=0.004, blocks_needed=None, notes=["n"])
    assert d.to_dict() == {
        "verdict": "faster", "speedup": 1.5, "ci": [1.4, 1.6], "confidence": 0.99, "ci_level": 0.99,
        "ci_kind": "ci", "interval": INTERVAL_NAME + " pooled with the A/A pairs", "alpha": 0.01,
        "min_effect": 0.02, "blocks": 12, "df": 11, "block_sd": 0.03, "run_noise": 0.01, "drift": 0.004,
        "blocks_needed": None, "overwhelming": False,
    }
    assert Decision("same", 1.0, (0.99, 1.01), 0.95, 0.02, 8).to_dict()["interval"] == INTERVAL_NAME + " (blocks only)"
    fast = Decision("faster", 100.0, (90.0, 110.0), None, 0.02, 3, overwhelming=True, blocks_needed=7).to_dict()
    assert fast["ci_kind"] == "range" and fast["interval"] == "range of the blocks (overwhelming rule)"
    assert fast["confidence"] is None and fast["blocks_needed"] == 7 and fast["overwhelming"] is True


import math  # noqa: E402

import pytest  # noqa: E402
from scipy import stats as sp  # noqa: E402

from campaign.measure import stats  # noqa: E402


@pytest.mark.parametrize("level, text", [(0.95, "95%"), (0.99, "99%"), (0.999, "99.9%"), (0.9975, "99.75%"),
                                         (1 - 0.01 / 28, "99.964%"), (0.5, "50%")])
def test_format_level(level, text):
    assert stats.format_level(level) == text


@pytest.mark.parametrize("sd, level, pooled, aa", [(0.01, 0.95, False, 0), (0.03, 0.99, False, 0), (0.02, 0.999, True, 2)])
def test_blocks_needed_is_the_fewest_that_decide(sd, level, pooled, aa):
    want = math.log1p(0.02)  # an estimate of exactly 1.0: "same" needs the half-width below log(1.02)

    def half(n):
        df = (n - 1) + (round(aa * n) if pooled else 0)
        return sp.t.ppf(1 - (1 - level) / 2, max(df, 1)) * sd / math.sqrt(n)

    n = stats.blocks_needed(1.0, sd, 3, aa, level, 0.02, pooled)
    assert half(n) < want <= half(n - 1)


def test_blocks_needed_edges():
    assert stats.blocks_needed(1.0, 0.0, 5, 0, 0.95, 0.02, False) == 5  # no noise: decided now
    assert stats.blocks_needed(1.0, 0.5, 3, 0, 0.95, 0.02, False, limit=10) is None  # beyond the limit


def test_geometric_mean_ignores_what_has_no_logarithm():
    assert stats.geometric_mean([2.0, 8.0, 0.0, -1.0, math.inf]) == pytest.approx(4.0)
    assert math.isnan(stats.geometric_mean([0.0]))
