"""Stopping rules at their edges: exact boundaries, rule order and the reasons the user reads.

Written against the surviving mutants of ``campaign/loop/stopping.py`` (docs/mutation.md).
"""

import pytest

from campaign.loop import stopping
from campaign.loop.stopping import Attempt, Decision, decide


def _a(n, speedup, kept=True, phase="p"):
    return Attempt(n, phase, kept, speedup)


def test_gain_of_kept_failed_and_unmeasured_iterations():
    assert stopping.gain(_a(1, 1.25)) == 0.25
    assert stopping.gain(_a(1, 1.25, kept=False)) == 0.0
    assert stopping.gain(_a(1, None)) == 0.0
    assert stopping.gain(_a(1, 0.75)) == -0.25


def test_goal_is_reached_at_exactly_the_goal_and_says_so():
    assert decide([], cumulative=2.0, goal=2.0) == Decision(True, "goal", "cumulative speedup 2.00x reached the goal of 2x")
    assert not decide([], cumulative=1.999, goal=2.0).stop
    assert not stopping.goal_reached(None, 2.0)
    assert stopping.goal_reached(2.5, 2.5)


def test_goal_wins_over_every_other_rule():
    attempts = [_a(i, 1.0) for i in range(1, 16)]
    d = decide(attempts, cumulative=3.0, goal=3.0, max_iterations=15, shares={"a": 1.0}, done_phases=["a"])
    assert d.rule == "goal"


def test_diminishing_window_is_inclusive_and_gain_threshold_strict():
    three_small = [_a(1, 1.01), _a(2, 1.01), _a(3, 1.01)]
    assert stopping.diminishing_returns(three_small)  # exactly `window` iterations are enough
    assert not stopping.diminishing_returns(three_small[:2])
    # a gain of exactly min_gain is not "less than" it
    assert not stopping.diminishing_returns([_a(1, 1.0), _a(2, 1.0), _a(3, 1.25)], min_gain=0.25)
    assert stopping.diminishing_returns([_a(1, 1.0), _a(2, 1.0), _a(3, 1.125)], min_gain=0.25)
    # only the last window counts
    assert stopping.diminishing_returns([_a(1, 5.0), _a(2, 1.0), _a(3, 1.0)], window=2)
    assert not stopping.diminishing_returns([_a(1, 5.0), _a(2, 1.0), _a(3, 1.0)], window=3)


def test_diminishing_reason_names_window_and_gain():
    attempts = [_a(1, 1.01), _a(2, 1.02)]
    d = decide(attempts, cumulative=1.03, goal=5.0, window=2, min_gain=0.1)
    assert d == Decision(True, "diminishing", "each of the last 2 iterations gained less than 10%")
    d = decide(attempts + [_a(3, 1.0)], cumulative=1.03, goal=5.0)
    assert d.reason == "each of the last 3 iterations gained less than 5%"


def test_decide_uses_its_window_and_min_gain():
    attempts = [_a(1, 1.3), _a(2, 1.3), _a(3, 1.3)]
    assert not decide(attempts, cumulative=2.2, goal=5.0).stop
    assert decide(attempts, cumulative=2.2, goal=5.0, min_gain=0.5).rule == "diminishing"
    assert decide(attempts[:2] + [_a(3, 1.0)], cumulative=2.2, goal=5.0, window=1).rule == "diminishing"


def test_diminishing_wins_over_cap():
    attempts = [_a(i, 1.0) for i in range(1, 4)]
    assert decide(attempts, cumulative=1.0, goal=5.0, max_iterations=3).rule == "diminishing"


def test_cap_at_exactly_max_iterations_with_default_of_15():
    attempts = [_a(i, 1.5) for i in range(1, 16)]
    d = decide(attempts, cumulative=1.9, goal=100)
    assert d == Decision(True, "cap", "the iteration cap of 15 is reached")
    assert not decide(attempts[:14], cumulative=1.9, goal=100).stop
    assert stopping.cap_reached(attempts[:3], 3)
    assert not stopping.cap_reached(attempts[:2], 3)


def test_cap_wins_over_exhausted():
    attempts = [_a(1, 1.5)]
    d = decide(attempts, cumulative=1.5, goal=9, max_iterations=1, shares={"a": 1.0}, done_phases=["a"])
    assert d.rule == "cap"


def test_significant_phase_needs_more_than_five_percent():
    shares = {"b": 0.2, "a": 0.06, "edge": 0.05, "tiny": 0.01, "unknown": None}
    assert stopping.significant_phases(shares) == ["a", "b"]
    assert stopping.significant_phases(shares, threshold=0.1) == ["b"]


def test_exhausted_reason_lists_done_phases_sorted_once():
    shares = {"a": 0.7, "b": 0.27, "c": 0.03}
    d = decide([], None, 2.0, shares=shares, done_phases=["b", "a", "b", "c"])
    assert d == Decision(
        True, "exhausted",
        "every phase with more than 5% of runtime is exhausted or skipped (a, b, c)",
    )
    assert not stopping.all_exhausted({"a": 0.01}, [])  # nothing significant: not "all done"
    assert stopping.all_exhausted({"a": 0.5, "b": 0.5}, ["a", "b", "zzz"])
    assert not decide([], None, 2.0, shares={}, done_phases=["a"]).stop
    # a higher threshold leaves the 8% phase out of what must be done
    assert stopping.all_exhausted({"a": 0.5, "b": 0.08}, ["a"], threshold=0.1)
    assert not stopping.all_exhausted({"a": 0.5, "b": 0.08}, ["a"])


def test_continue_reason_reports_progress():
    d = decide([_a(1, 1.5)], cumulative=1.5, goal=2.0)
    assert d == Decision(False, "none", "no stopping rule holds (1.50x of the 2x goal, 1/15 iterations)")
    d = decide([], cumulative=None, goal=2.5, max_iterations=7)
    assert d.reason == "no stopping rule holds (no kept speedup yet of the 2.5x goal, 0/7 iterations)"


def test_decision_to_dict():
    d = Decision(True, "cap", "why", notes=["n"])
    assert d.to_dict() == {"stop": True, "rule": "cap", "reason": "why"}


def test_failed_attempts_reset_by_a_kept_one_and_ignore_other_phases():
    attempts = [_a(1, None, False, "x"), _a(2, 1.2, True, "x"), _a(3, None, False, "x"),
                _a(4, 1.1, True, "y"), _a(5, None, False, "y"), _a(6, 0.9, False, "x")]
    assert stopping.failed_attempts_on(attempts, "x") == 2
    assert stopping.failed_attempts_on(attempts, "y") == 1
    assert stopping.failed_attempts_on(attempts, "z") == 0


def test_skip_needs_exactly_three_failures_by_default():
    two = [_a(1, None, False, "x"), _a(2, None, False, "x")]
    assert not stopping.skip_allowed(two, "x")
    assert stopping.skip_allowed(two + [_a(3, None, False, "x")], "x")
    assert stopping.skip_allowed(two, "x", skip_after=2)


def test_postmortem_boundary_and_invalid_numbers():
    assert not stopping.postmortem_required(3.0, 2.0)  # exactly 1.5: not more than the factor
    assert stopping.postmortem_required(3.0, 1.9)
    assert stopping.postmortem_required(1.0, 2.0)
    assert stopping.postmortem_required(2.0, 1.0)
    assert stopping.postmortem_required(0.5, 1.0)
    assert stopping.postmortem_required(1.0, 0.5)
    assert not stopping.postmortem_required(3.0, 2.0, factor=1.5)
    assert stopping.postmortem_required(3.0, 2.0, factor=1.4)
    for predicted, actual in [(0, 2.0), (2.0, 0), (None, 2.0), (-3.0, -1.0), (-1.0, -3.0), (-1.0, 2.0), (2.0, -1.0)]:
        assert not stopping.postmortem_required(predicted, actual), (predicted, actual)


@pytest.mark.parametrize("share, bound", [(0.0, 1.0), (-0.5, 1.0), (0.75, 4.0), (1.5, float("inf"))])
def test_amdahl_bound_edges(share, bound):
    assert stopping.amdahl_bound(share) == bound


def test_a_declared_stop_carries_the_given_reason():
    assert stopping.declared_stop("out of time") == Decision(True, "declared", "stopped by decision: out of time")


def test_the_budget_rule_stops_at_exactly_the_budget_in_dollars_or_tokens_and_says_which():
    # issue 27's budget stop; written against its surviving mutants (budget_spent and decide's budget branch)
    assert stopping.budget_spent(2.0, None, 2.0, None) == "agent budget spent: $2.00 of $2.00"
    assert stopping.budget_spent(1.99, 10**9, 2.0, None) is None  # tokens without a token budget never stop
    assert stopping.budget_spent(None, 100, None, 100) == "agent budget spent: 100 of 100 tokens"
    assert stopping.budget_spent(None, 99, 5.0, 100) is None  # dollars not reported: only tokens can stop
    assert stopping.budget_spent(1.0, 200, 2.0, 100) == "agent budget spent: 200 of 100 tokens"
    assert stopping.budget_spent(5.0, 5, None, None) is None


def test_decide_applies_the_budget_after_the_goal_and_before_the_other_rules():
    flat = [_a(n, 1.0, kept=False) for n in (1, 2, 3)]  # diminishing would stop too
    assert decide(flat, cumulative=1.0, goal=2.0, spent=(3.0, 10), budget=(2.0, 1000)) == \
        Decision(True, "budget", "agent budget spent: $3.00 of $2.00")
    assert decide([], cumulative=1.0, goal=2.0, spent=(None, 150), budget=(1.0, 100)) == \
        Decision(True, "budget", "agent budget spent: 150 of 100 tokens")
    assert decide([], cumulative=2.0, goal=2.0, spent=(3.0, 10), budget=(2.0, None)).rule == "goal"
    assert not decide([], cumulative=1.0, goal=2.0, spent=(1.0, 10), budget=(2.0, 1000)).stop
