"""Stopping rules: pure functions over plain data."""

from campaign.loop import stopping
from campaign.loop.stopping import Attempt, Decision, decide


def _a(n, speedup, kept=True, phase="p"):
    return Attempt(n, phase, kept, speedup)


def test_goal_reached_stops_first():
    d = decide([_a(1, 3.0)], cumulative=3.0, goal=2.0)
    assert d.stop and d.rule == "goal"


def test_goal_not_reached_continues():
    d = decide([_a(1, 1.5)], cumulative=1.5, goal=2.0)
    assert not d.stop and d.rule == "none"


def test_diminishing_counts_failed_and_reverted_iterations():
    attempts = [_a(1, 2.0), _a(2, 1.04), _a(3, None, kept=False), _a(4, 1.3, kept=False)]
    d = decide(attempts, cumulative=2.1, goal=10)
    assert d.stop and d.rule == "diminishing"


def test_diminishing_needs_three():
    assert not stopping.diminishing_returns([_a(1, 1.01), _a(2, 1.01)])
    assert not stopping.diminishing_returns([_a(1, 1.01), _a(2, 1.06), _a(3, 1.01)])
    assert stopping.diminishing_returns([_a(1, 1.5), _a(2, 1.01), _a(3, 1.049), _a(4, 1.0)])


def test_cap():
    attempts = [_a(i, 1.5) for i in range(1, 16)]
    d = decide(attempts, cumulative=1.5 ** 15 if False else 1.9, goal=100, max_iterations=15)
    assert d.stop and d.rule == "cap"
    assert not decide(attempts[:14], cumulative=1.9, goal=100, max_iterations=15).stop


def test_exhausted_needs_every_significant_phase():
    shares = {"a": 0.7, "b": 0.27, "c": 0.03}
    assert not decide([], None, 2.0, shares=shares, done_phases=["a"]).stop
    d = decide([], None, 2.0, shares=shares, done_phases=["a", "b"])
    assert d.stop and d.rule == "exhausted"
    assert not stopping.all_exhausted({}, ["a"])


def test_exhausted_when_no_phase_is_significant_needs_every_phase():
    """A target made so fast that no phase has 5% (start-up dominates): the agent declares the phases
    exhausted one by one, and the rule stops once all are, rather than leave no phase to declare."""
    shares = {"build": 0.004, "reduce": 0.03}
    assert stopping.phases_to_exhaust(shares) == ["build", "reduce"]
    assert not decide([], None, 2.0, shares=shares, done_phases=[]).stop
    assert not decide([], None, 2.0, shares=shares, done_phases=["reduce"]).stop
    d = decide([], None, 2.0, shares=shares, done_phases=["reduce", "build"])
    assert d == Decision(True, "exhausted", "no phase has more than 5% of runtime, and every profiled phase is "
                                            "exhausted or skipped (build, reduce)")
    # one significant phase: only it counts, as before
    assert stopping.phases_to_exhaust({"a": 0.5, "b": 0.01}) == ["a"]


def test_skip_after_three_failures_on_one_phase():
    attempts = [_a(1, None, False, "x"), _a(2, 0.9, False, "x"), _a(3, 1.2, True, "y"), _a(4, None, False, "x")]
    assert stopping.failed_attempts_on(attempts, "x") == 3
    assert stopping.skip_allowed(attempts, "x")
    assert not stopping.skip_allowed(attempts, "y")
    attempts.append(_a(5, 1.3, True, "x"))
    assert stopping.failed_attempts_on(attempts, "x") == 0


def test_postmortem_factor_either_way():
    assert stopping.postmortem_required(2.0, 1.2)  # 1.67 > 1.5
    assert stopping.postmortem_required(1.2, 2.0)
    assert not stopping.postmortem_required(2.0, 1.5)  # 1.33
    assert not stopping.postmortem_required(2.0, None)


def test_amdahl_bound():
    assert stopping.amdahl_bound(0.5) == 2.0
    assert stopping.amdahl_bound(1.0) == float("inf")
    assert abs(stopping.amdahl_bound(0.9) - 10) < 1e-9
