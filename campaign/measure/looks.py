"""When a benchmark may decide, and at what level: alpha spent over planned looks (pure).

``faster`` and ``slower`` spend ``alpha`` evenly (the union bound); ``same``,
which only ever reverts, spends ``alpha_same`` over the looks actually taken
(``SameBoundaries``, the scheduler's), or where no scheduler took them
through one constant boundary computed for the looks' correlation
(``same_level``, ``same_boundary``). Why a schedule, and why the union bound, is told in ``campaign.measure.stats``
and docs/measurement.md; this module only holds the numbers, so that the
scheduler, the result builder and the statistics read one definition.
"""

from __future__ import annotations

import math
from functools import lru_cache

ALPHA = 0.01  # P(identical code is called faster or slower) over a whole benchmark
ALPHA_SAME = 0.05  # P(a real difference of min_effect is called same) over a whole benchmark
MIN_BLOCKS = 3
MAX_BLOCKS = 200  # a cap for cheap blocks; the time budget and the noise cap stop most benchmarks first
EARLY_LOOKS = 6  # one look after each of the first blocks: big effects decide there
LOOK_GROWTH = 1.2  # later looks: each about 20% more blocks than the previous one


@lru_cache(maxsize=256)
def look_schedule(max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS) -> tuple[int, ...]:
    """The blocks after which a benchmark looks: ``EARLY_LOOKS`` consecutive ones, then ~20% apart, ``max_blocks`` last."""
    first = max(min_blocks, 1)
    top = max(max_blocks, first)
    points = list(range(first, min(first + EARLY_LOOKS, top + 1)))
    while points[-1] < top:
        points.append(min(top, max(points[-1] + 1, math.ceil(points[-1] * LOOK_GROWTH))))
    return tuple(points)


def looks(max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS) -> int:
    """How many looks alpha is spent over: the scheduled ones plus one final look wherever the benchmark stops."""
    return len(look_schedule(max_blocks, min_blocks)) + 1


def is_look(blocks: int, max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS) -> bool:
    """Whether the benchmark may decide after ``blocks`` blocks (outside the final look)."""
    return blocks in look_schedule(max_blocks, min_blocks)


def look_level(alpha: float = ALPHA, max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS) -> float:
    """The two-sided level of every look: ``1 - alpha / looks`` (alpha spent evenly, union bound)."""
    return 1 - alpha / looks(max_blocks, min_blocks)


def same_level(alpha_same: float = ALPHA_SAME, max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS,
               blocks: int | None = None) -> float:
    """The two-sided level of the interval that may say ``same`` after ``blocks`` blocks (None: a scheduled look).

    ``same`` is two one-sided tests (not faster by the margin, not slower by
    it); a change of exactly the margin is called ``same`` when its one-sided
    test rejects at any look. The final look, off the schedule wherever the
    benchmark stopped, keeps a union-bound share: ``alpha_same / looks`` per
    side. The scheduled looks share the rest through one constant boundary
    (``same_boundary``): their tests are strongly correlated (each look holds
    every block of the one before), so the union bound would overpay - at the
    default schedule 2.87 standard errors where 2.54 hold the same rate, about
    a fifth fewer blocks to show identical code the same.
    """
    share = alpha_same / looks(max_blocks, min_blocks)
    if blocks is not None and not is_look(blocks, max_blocks, min_blocks):
        return 1 - 2 * share
    c = same_boundary(alpha_same - share, max_blocks, min_blocks)
    return 1 - 2 * _normal_tail(c)


def _normal_tail(z: float) -> float:
    return 0.5 * math.erfc(z / math.sqrt(2))


@lru_cache(maxsize=64)
def same_boundary(alpha: float, max_blocks: int = MAX_BLOCKS, min_blocks: int = MIN_BLOCKS) -> float:
    """The z that one one-sided test crosses at any scheduled look with probability ``alpha``, one for every look.

    Exact for normal block ratios with known spread (the t quantile at the
    same one-sided probability stands in for it at each look's degrees of
    freedom, as group-sequential designs do): the crossing probability is
    computed by recursive numerical integration over the looks (Armitage,
    McPherson and Rowe 1969; Jennison and Turnbull 2000, ch. 19), and the
    boundary is rounded up to a thousandth, so the rate is never exceeded by
    the grid's error.
    """
    from scipy.optimize import brentq  # here, not at import: the CLI's start-up does not pay for SciPy

    ns = look_schedule(max_blocks, min_blocks)
    c = brentq(lambda z: crossing_probability(z, ns) - alpha, 0.0, 10.0, xtol=1e-6)
    return math.ceil(c * 1000) / 1000


def crossing_probability(c: float, blocks: tuple[int, ...], points: int = 200, floor: float = -7.0) -> float:
    """P(the standardized mean of independent normal blocks exceeds ``c`` at some look after ``blocks[k]`` blocks).

    Between looks the statistic moves as ``Z' = r Z + sqrt(1 - r^2) X`` with
    ``r = sqrt(n/n')``; the density of the paths not yet across is carried on
    a grid from ``floor`` to ``c`` (``_grid``, ``_carried``, ``_crossed``: the steps
    ``SameBoundaries`` takes one look at a time).
    """
    from scipy.special import ndtr

    z, weights = _grid(floor, c, points)
    mass = _normal_density(z) * weights
    total = float(ndtr(-c))
    for before, after in zip(blocks, blocks[1:]):
        r = math.sqrt(before / after)
        total += _crossed(c, z, mass, r)
        mass = _carried(z, z, mass, r) * weights
    return total


def _grid(floor: float, top: float, points: int):
    """The grid the density of paths not yet across is carried on, and its trapezoid weights."""
    import numpy as np

    z = np.linspace(floor, top, points)
    weights = np.full(points, (top - floor) / (points - 1))
    weights[[0, -1]] /= 2
    return z, weights


def _normal_density(z):
    import numpy as np

    return np.exp(-z * z / 2) / math.sqrt(2 * math.pi)


def _crossed(c: float, z, mass, r: float) -> float:
    """The chance that paths of ``mass`` on ``z`` cross ``c`` at the next look (``r``: sqrt(n/n'))."""
    from scipy.special import ndtr

    s = math.sqrt(1 - r * r)
    return float(mass @ ndtr(-(c - r * z) / s))


def _carried(grid, z, mass, r: float):
    """The density on ``grid`` at the next look of the paths of ``mass`` on ``z`` (``r``: sqrt(n/n'))."""
    s = math.sqrt(1 - r * r)
    return _normal_density((grid[:, None] - r * z[None, :]) / s) / s @ mass


SAME_SPENDING_POWER = 2  # alpha_same spent as alpha_same * t^2 (Kim and DeMets' power family): little early, most late
_GRID_POINTS = 200
_GRID_FLOOR = -7.0
_GRID_TOP = 8.5  # above this a one-sided normal tail is below 1e-16: a boundary there spends nothing


def same_spent(fraction: float, alpha_same: float = ALPHA_SAME) -> float:
    """How much of ``alpha_same`` may be spent by the look at ``fraction`` of the benchmark (0..1). Pure."""
    return alpha_same * min(1.0, max(0.0, fraction)) ** SAME_SPENDING_POWER


class SameBoundaries:
    """The boundaries ``same``'s one-sided tests are read at, spent over the looks actually taken.

    Error spending (Lan and DeMets 1983): the look after ``blocks`` blocks, at
    ``fraction`` of the benchmark (its time budget spent, or its blocks of
    ``max_blocks``), gets the boundary at which the chance that one one-sided
    test has crossed at any look so far is ``same_spent(fraction)``. The
    looks need not be planned, only not chosen by the data; where the budget
    ends the benchmark, the fraction is 1 and what is left is spent there.
    Before (a constant 2.54 at every scheduled look, and a union-bound share,
    2.88, at the final one wherever the budget stopped) the last look, where
    identical code on a noisy machine is decided, paid the most; here it pays
    about 1.8. The crossing chance is carried across looks as a density on a
    grid (Armitage, McPherson and Rowe 1969), one step per look, so a look
    costs one 200 x 200 product.
    """

    def __init__(self, alpha_same: float = ALPHA_SAME):
        self.alpha_same = alpha_same
        self.looks: list[tuple[int, float]] = []  # (blocks, z boundary; inf: nothing left to spend)
        self.spent = 0.0  # the crossing chance of the looks so far
        self._z = None  # the grid of the last look's statistic (paths not yet across) and their mass on it
        self._mass = None
        self._before: tuple = (0.0, None, None)
        self._last: dict[tuple[int, int], float] = {}  # last_look_at's one cached answer

    def look(self, blocks: int, fraction: float) -> float:
        """The z boundary of the look after ``blocks`` blocks (inf: none), recorded; a repeated look returns its own."""
        target = same_spent(fraction, self.alpha_same)
        if self.looks and self.looks[-1][0] == blocks and target > self.spent + 1e-12:
            # the same blocks looked at again, later in the benchmark (the final look where the budget ended it
            # right after a scheduled one): that look is taken again at the larger share, never two at one place
            self.looks.pop()
            self.spent, self._z, self._mass = self._before
        for n, c in self.looks:
            if n == blocks:
                return c
        self._before = (self.spent, self._z, self._mass)
        c, self.spent, self._z, self._mass = self._solve(blocks, target, self._before)
        self.looks.append((blocks, c))
        return c

    def last_look_at(self, blocks: int) -> float:
        """The boundary a look after ``blocks`` blocks would get if it spent all that is left; nothing recorded.

        What ``same`` would need where the budget ends (``blocks``: the blocks that fit in it): the looks
        between now and then spend some of it too, so this is the lowest such a look could ask, and the
        futility rule that reads it stops a benchmark only when even that is out of reach.
        """
        state = (self.spent, self._z, self._mass)
        if self.looks and self.looks[-1][0] >= blocks:
            blocks, state = self.looks[-1][0], self._before
        key = (blocks, len(self.looks))
        if key not in self._last:  # asked after every block, by every comparison: solved once per look and horizon
            self._last = {key: self._solve(blocks, self.alpha_same, state, carry=False)[0]}
        return self._last[key]

    def _solve(self, blocks: int, target: float, state: tuple, carry: bool = True) -> tuple:
        """(boundary, crossing chance, grid, mass on it) of a look after ``blocks`` blocks spending up to ``target``;
        ``carry=False``: the boundary only, the density not carried past it (grid and mass None)."""
        from scipy.optimize import brentq
        from scipy.special import ndtr

        spent, z, mass = state
        r = 0.0
        if mass is None:
            def crossing(c: float) -> float:
                return float(ndtr(-c))
        else:
            prev = max(n for n, _ in self.looks if n < blocks) if self.looks else blocks
            r = math.sqrt(prev / blocks)

            def crossing(c: float) -> float:
                return spent + _crossed(c, z, mass, r)
        if target - crossing(_GRID_TOP) <= 1e-12:
            c = math.inf
        else:
            c = math.ceil(brentq(lambda x: crossing(x) - target, -_GRID_TOP, _GRID_TOP, xtol=1e-6) * 1000) / 1000
        top = min(c, _GRID_TOP)
        if not carry:
            return c, crossing(top), None, None
        grid, weights = _grid(_GRID_FLOOR, top, _GRID_POINTS)
        density = _normal_density(grid) if mass is None else _carried(grid, z, mass, r)
        return c, crossing(top), grid, density * weights

    @staticmethod
    def level(c: float) -> float:
        """The two-sided level of the interval whose ends are the boundary ``c`` (1.0: no ``same`` at this look)."""
        return 1.0 if not math.isfinite(c) else 1 - 2 * _normal_tail(c)
