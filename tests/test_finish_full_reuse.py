"""FINISH takes the full case from the last kept change's own full-scale check when it measured the same trees.

The final tree is the last kept commit; where the iteration that kept it measured its full case against the
baseline on this machine, measuring it again at FINISH repeated the same comparison (beside six burners, the
naive kernel's full case at 2.1 s a call: ~40 s of the demo).
"""

from __future__ import annotations

from campaign.loop import record
from campaign.loop.state import Iteration
from campaign.loop.steps.finish import full_from_last_kept

HOST = "5bce98f73f3e"


def iteration(n: int, kept: bool, commit: str, full: dict | None, host: str = HOST) -> Iteration:
    bench = {"case": "fast", "verdict": "faster", "speedup": 4.2, "ci": [4.0, 4.4], "full": full,
             "environment": {"hostname_hash": host}}
    return Iteration(n=n, benchmark=record.load_data("benchmark", bench),
                     log=record.load_data("log", {"kept": kept}),
                     commit=record.load_data("commit", {"commit": commit}) if kept else None)


FULL = {"case": "full", "verdict": "faster", "speedup": 2.74, "ci": [2.68, 2.80],
        "vs_baseline": {"speedup": 3123.6, "ci": [2730.0, 3580.0], "verdict": "faster", "ci_level": 0.995,
                        "ci_kind": "ci", "blocks": 3, "metric": "cpu"}}


def test_the_last_kept_changes_full_scale_check_is_finishs_full_case():
    its = [iteration(3, True, "c3", None), iteration(5, True, "c5", FULL), iteration(6, False, "c6", None)]
    full = full_from_last_kept(its, "c5", "full", HOST)
    assert full is not None and full["measured_at_iteration"] == 5
    assert (full["speedup"], full["ci"], full["ci_level"], full["blocks"], full["metric"]) == \
        (3123.6, [2730.0, 3580.0], 0.995, 3, "cpu")  # against the baseline, not against the last kept (2.74x)
    assert record.load_data("finish", {"full": full}).full.measured_at_iteration == 5


def test_finish_measures_the_full_case_when_the_check_is_not_of_the_final_tree_or_this_machine():
    older = [iteration(3, True, "c3", FULL), iteration(5, True, "c5", None)]
    assert full_from_last_kept(older, "c5", "full", HOST) is None  # the last kept change checked no full case
    assert full_from_last_kept([iteration(5, True, "c5", FULL)], "c7", "full", HOST) is None  # not the final tree
    assert full_from_last_kept([iteration(5, True, "c5", FULL)], "c5", "full", "another") is None
    assert full_from_last_kept([iteration(5, True, "c5", FULL)], "c5", "huge", HOST) is None  # another case
    unmeasured = {**FULL, "vs_baseline": {}}
    assert full_from_last_kept([iteration(5, True, "c5", unmeasured)], "c5", "full", HOST) is None
    assert full_from_last_kept([], None, "full", HOST) is None
