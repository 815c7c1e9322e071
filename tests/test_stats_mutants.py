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
