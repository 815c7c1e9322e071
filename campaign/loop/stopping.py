"""Stopping rules: pure functions over plain data (no journal, no git, no I/O).

The campaign stops at DECIDE when ANY of these holds (checked in this order):

``goal``         the cumulative speedup over the baseline (of the last KEPT
                 iteration) is >= the goal speedup set at ``campaign init``;
``budget``       the agent's reported spend reached the budget of the
                 ``campaign run`` (``--budget-usd``, ``--budget-tokens``);
                 spend an agent did not report cannot count, so a budget in
                 dollars never stops an agent that reports no price;
``diminishing``  each of the last ``window`` (3) iterations, kept or not, gained
                 less than ``min_gain`` (5%): a failed or reverted iteration
                 counts as no gain;
``cap``          ``max_iterations`` (default 15) iterations are done;
``exhausted``    every phase with more than ``significant_share`` (5%) of the
                 latest profile's runtime has been declared exhausted
                 (``campaign decide --exhausted``) or skipped (``campaign skip``);
                 when no phase has that share (a target made so fast that its
                 start-up dominates), every profiled phase must be.

Besides the rules, a person or an agent may stop with a written reason
(``campaign decide --stop --why T``: out of time, the goal changed): rule
``declared``, the reason being their words (``declared_stop``).

Skipping a bottleneck (``skip_allowed``) needs ``skip_after`` (3) failed
attempts on it: iterations whose PLAN named that phase and that were not kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

DEFAULT_MAX_ITERATIONS = 15
MIN_GAIN = 0.05
WINDOW = 3
SIGNIFICANT_SHARE = 0.05
SKIP_AFTER = 3
POSTMORTEM_FACTOR = 1.5


@dataclass(frozen=True)
class Attempt:
    """One finished iteration, as the stopping rules see it."""

    iteration: int
    phase: str | None
    kept: bool
    speedup: float | None  # vs the last kept version; None when not measured (test failed)


@dataclass(frozen=True)
class Decision:
    stop: bool
    rule: str  # goal | budget | diminishing | cap | exhausted | declared | none
    reason: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"stop": self.stop, "rule": self.rule, "reason": self.reason}


def gain(attempt: Attempt) -> float:
    """The fractional gain of one iteration; 0 when it was not kept or not measured."""
    if not attempt.kept or attempt.speedup is None:
        return 0.0
    return attempt.speedup - 1.0


def goal_reached(cumulative: float | None, goal: float) -> bool:
    return cumulative is not None and cumulative >= goal


def budget_spent(spent_usd: float | None, spent_tokens: int | None,
                 budget_usd: float | None, budget_tokens: int | None) -> str | None:
    """The reason to stop when the reported spend reached a budget, else None."""
    if budget_usd is not None and spent_usd is not None and spent_usd >= budget_usd:
        return f"agent budget spent: ${spent_usd:.2f} of ${budget_usd:.2f}"
    if budget_tokens is not None and spent_tokens is not None and spent_tokens >= budget_tokens:
        return f"agent budget spent: {spent_tokens:,} of {budget_tokens:,} tokens"
    return None


def diminishing_returns(attempts: list[Attempt], window: int = WINDOW, min_gain: float = MIN_GAIN) -> bool:
    if len(attempts) < window:
        return False
    return all(gain(a) < min_gain for a in attempts[-window:])


def cap_reached(attempts: list[Attempt], max_iterations: int) -> bool:
    return len(attempts) >= max_iterations


def significant_phases(shares: dict[str, float], threshold: float = SIGNIFICANT_SHARE) -> list[str]:
    return sorted(p for p, s in shares.items() if s is not None and s > threshold)


def phases_to_exhaust(shares: dict[str, float], threshold: float = SIGNIFICANT_SHARE) -> list[str]:
    """The phases that must be exhausted or skipped before the rule stops: the significant ones, else all."""
    return significant_phases(shares, threshold) or sorted(shares)


def all_exhausted(shares: dict[str, float], done: Iterable[str], threshold: float = SIGNIFICANT_SHARE) -> bool:
    """True when every phase with more than ``threshold`` share is in ``done`` (exhausted or skipped).

    With no phase above ``threshold``, every profiled phase must be in ``done``:
    otherwise the agent, finding nothing left, would declare the phases
    exhausted one by one and, the last one gone, have none left to name.
    """
    phases = phases_to_exhaust(shares, threshold)
    done = set(done)
    return bool(phases) and all(p in done for p in phases)


def failed_attempts_on(attempts: list[Attempt], phase: str) -> int:
    """Failed (not kept) attempts on ``phase`` since the last kept iteration on that phase."""
    count = 0
    for attempt in attempts:
        if attempt.phase != phase:
            continue
        count = 0 if attempt.kept else count + 1
    return count


def skip_allowed(attempts: list[Attempt], phase: str, skip_after: int = SKIP_AFTER) -> bool:
    return failed_attempts_on(attempts, phase) >= skip_after


def postmortem_required(predicted: float | None, actual: float | None, factor: float = POSTMORTEM_FACTOR) -> bool:
    """A postmortem is due when the measured speedup misses the prediction by > ``factor`` either way."""
    if not predicted or not actual or predicted <= 0 or actual <= 0:
        return False
    return max(predicted / actual, actual / predicted) > factor


def amdahl_bound(share: float) -> float:
    """The best whole-run speedup from making a phase with ``share`` of runtime infinitely fast."""
    if share >= 1.0:
        return float("inf")
    return 1.0 / (1.0 - max(0.0, share))


def declared_stop(why: str) -> Decision:
    """A stop that no rule forced: the campaign ends for the reason given (``decide --stop --why``)."""
    return Decision(True, "declared", f"stopped by decision: {why}")


def decide(
    attempts: list[Attempt],
    cumulative: float | None,
    goal: float,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
    shares: dict[str, float] | None = None,
    done_phases: Iterable[str] = (),
    min_gain: float = MIN_GAIN,
    window: int = WINDOW,
    spent: tuple[float | None, int | None] = (None, None),
    budget: tuple[float | None, int | None] = (None, None),
) -> Decision:
    """Apply the stopping rules in order; the first that holds stops the campaign.

    ``spent`` and ``budget``: (US dollars, tokens) the agent reported and may spend.
    """
    if goal_reached(cumulative, goal):
        return Decision(True, "goal", f"cumulative speedup {cumulative:.2f}x reached the goal of {goal:g}x")
    over = budget_spent(spent[0], spent[1], budget[0], budget[1])
    if over:
        return Decision(True, "budget", over)
    if diminishing_returns(attempts, window, min_gain):
        return Decision(
            True, "diminishing",
            f"each of the last {window} iterations gained less than {min_gain:.0%}",
        )
    if cap_reached(attempts, max_iterations):
        return Decision(True, "cap", f"the iteration cap of {max_iterations} is reached")
    done = sorted(set(done_phases))
    if shares and all_exhausted(shares, done):
        which = (f"every phase with more than {SIGNIFICANT_SHARE:.0%} of runtime" if significant_phases(shares)
                 else f"no phase has more than {SIGNIFICANT_SHARE:.0%} of runtime, and every profiled phase")
        return Decision(True, "exhausted", f"{which} is exhausted or skipped ({', '.join(done)})")
    so_far = f"{cumulative:.2f}x" if cumulative else "no kept speedup yet"
    return Decision(False, "none", f"no stopping rule holds ({so_far} of the {goal:g}x goal, {len(attempts)}/{max_iterations} iterations)")
