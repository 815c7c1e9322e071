"""Whether a replayed measurement agrees with the recorded one (pure).

A benchmark on a busy machine is often undecided, and the same patch can be
called ``faster`` once and ``inconclusive`` the next time: comparing labels
makes a record made on one machine impossible to re-verify on another. What a
replay must check is that the two measurements do not contradict each other:

- equal labels agree (the decision that kept or reverted the change holds); a
  magnitude that moved with the machine is noted, not counted against it;
- different labels agree when the two results are statistically compatible:
  the difference of the two log speedups, divided by its standard error (each
  taken from its interval and level), stays inside the recorded level's
  two-sided critical value; where a result was decided on every block's range
  (the overwhelming rule) the test is that the range and the other interval
  overlap;
- opposite significant directions (``faster`` against ``slower``) never agree,
  and neither do a TEST that passed and one that failed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

SIGNIFICANT = ("faster", "slower")
DEFAULT_LEVEL = 0.99


@dataclass(frozen=True)
class Measured:
    """One side of the comparison: a verdict and, where benchmarked, its speedup and interval."""

    verdict: str | None
    speedup: float | None = None
    ci: tuple[float, float] | None = None
    level: float | None = None
    kind: str | None = None  # "ci", or "range" (every block's ratio, the overwhelming rule)

    @property
    def has_interval(self) -> bool:
        return (self.speedup is not None and self.ci is not None and len(self.ci) == 2
                and all(isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in (self.speedup, *self.ci))
                and self.ci[0] <= self.ci[1])


@dataclass(frozen=True)
class Agreement:
    """The answer: ``agrees`` and how it was decided, in words a reviewer reads in the replay table."""

    agrees: bool
    how: str  # "same verdict", "compatible", "incompatible", "opposite", "test differs"
    z: float | None = None  # the difference test's statistic, where one was computed
    note: str | None = None


def _critical(level: float | None) -> float:
    level = level if level and 0 < level < 1 else DEFAULT_LEVEL
    return NormalDist().inv_cdf(0.5 + level / 2)


def log_se(side: Measured) -> float | None:
    """The standard error of the log speedup implied by an interval and its level (None for a range)."""
    if not side.has_interval or side.kind == "range":
        return None
    lo, hi = side.ci  # type: ignore[misc]
    return (math.log(hi) - math.log(lo)) / (2 * _critical(side.level))


def _overlap(a: Measured, b: Measured) -> bool:
    return a.ci[0] <= b.ci[1] and b.ci[0] <= a.ci[1]  # type: ignore[index]


def compatibility(recorded: Measured, replayed: Measured) -> tuple[bool | None, float | None]:
    """(compatible, z): None where the two carry no intervals to compare."""
    if not (recorded.has_interval and replayed.has_interval):
        return None, None
    if "range" in (recorded.kind, replayed.kind):
        return _overlap(recorded, replayed), None
    se1, se2 = log_se(recorded), log_se(replayed)
    spread = math.hypot(se1 or 0.0, se2 or 0.0)
    diff = abs(math.log(recorded.speedup) - math.log(replayed.speedup))  # type: ignore[arg-type]
    if spread == 0:
        return diff == 0, None
    z = diff / spread
    return z <= _critical(recorded.level), z


def agree(recorded: Measured, replayed: Measured) -> Agreement:
    """Do the recorded and the replayed outcome agree? See the module's docstring for the rule."""
    failed = "test-failed"
    if (recorded.verdict == failed) != (replayed.verdict == failed):
        return Agreement(False, "test differs")
    compatible, z = compatibility(recorded, replayed)
    if recorded.verdict == replayed.verdict:
        note = None
        if compatible is False:
            note = (f"same verdict; the magnitude moved: {recorded.speedup:.3g}x recorded, "
                    f"{replayed.speedup:.3g}x replayed")
        return Agreement(True, "same verdict", z, note)
    if {recorded.verdict, replayed.verdict} == set(SIGNIFICANT):
        return Agreement(False, "opposite", z)
    if compatible:
        return Agreement(True, "compatible", z)
    return Agreement(False, "incompatible" if compatible is False else "verdict differs", z)
