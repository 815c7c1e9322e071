"""What one more warm repeat costs a process, from every process of a benchmark (pure).

The clock guard (``campaign.measure.integrity``) holds a workload's own report
of its repeats against this cost. Blocks alternate their repeat counts
(``executor.repeat_cycle``), so the cost is the slope of a process's time on
its repeat count, fitted over every process; its error shrinks as blocks
gather, and start-up and import costs are the intercept.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SLACK_S = 0.002  # timer and process jitter per process, seconds
ALPHA = 0.01  # the clock guard's one-sided error rate on the cost of a repeat (beside CLOCK_FACTOR's margin)


@dataclass(frozen=True)
class RepeatFit:
    """What one more warm repeat costs a process: the slope of its time on its repeat count, with its error.

    Fitted by least squares over every process of a variant (the calibration's one repeat and the blocks'
    counts, which alternate between blocks: ``executor.repeat_cycle``), so its standard error shrinks as the
    blocks gather; start-up and import costs are the intercept and cancel.
    """

    slope: float  # seconds per repeat
    se: float  # its standard error (0 where the points fit exactly)
    df: int  # residual degrees of freedom (processes less 2)
    sxx: float  # the spread of the repeat counts (sum of squared deviations): the fit's leverage

    def allowance(self, alpha: float | None = None) -> float:
        """The one-sided ``1 - alpha`` bound of the slope's error (Student's t on ``df``), plus timer jitter."""
        from scipy.stats import t

        q = float(t.ppf(1 - (ALPHA if alpha is None else alpha), max(self.df, 1)))
        return q * self.se + self.resolution

    @property
    def resolution(self) -> float:
        """The timer's jitter per process (``SLACK_S``) over the fit's leverage: the least cost per repeat it tells."""
        return SLACK_S / math.sqrt(self.sxx)


def repeat_fit(calibration, runs: list, spent=lambda r: r.cpu_s) -> RepeatFit | None:
    """``RepeatFit`` of ``spent(run)`` on ``run.repeat`` over ``calibration`` and ``runs`` (None: no spread). Pure."""
    points = [(float(r.repeat), float(spent(r))) for r in [calibration, *runs] if r is not None and spent(r)]
    n = len(points)
    if n < 2:
        return None
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx <= 0:
        return None
    slope = sum((x - mx) * (y - my) for x, y in points) / sxx
    rss = sum((y - my - slope * (x - mx)) ** 2 for x, y in points)
    df = n - 2
    se = math.sqrt(rss / df / sxx) if df > 0 else 0.0
    return RepeatFit(slope, se, df, sxx)
