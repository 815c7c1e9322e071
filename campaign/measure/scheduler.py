"""The scheduler: blocks, looks and stopping, for every measurement in campaign (BENCHMARK, tune, the tests).

It owns the loop that used to be written three times (``bench.benchmark``,
``tune.measurement.measure_config`` and a copy in the tests), so that the
rules that make its false-verdict rate hold are written once:

- **Blocks.** Every unit runs twice per block in a mirrored random order
  (``block_order``: ABBA or BAAB); a unit's block time is the geometric mean
  of its two runs, and the two runs are its A/A pair.
- **Looks.** A verdict is taken only at the planned looks
  (``stats.look_schedule``), plus one final look wherever the loop stops
  (``Plan.final_look``).
- **Stopping** (each rule switchable in the ``Plan``): every comparison
  decided (with ``precision``, decided within +-precision); the primary one
  ``slower``; the noise cap (the blocks that resolve ``min_effect`` at the
  measured noise are done); futility and the budget's extension
  (``campaign.measure.spending``); the time budget; ``max_blocks``; a
  caller's hook (tune's pruner); a failed run (where ``catch`` says so).
- **Holding** (``Plan.hold_blocks``, a caller's ``hold``): where a rule
  would stop, the hold may keep the loop measuring, at most ``hold_blocks``
  more blocks, until it lets go; then the rule that first stopped it is the
  reason. It may run past ``max_blocks`` (which bounds the rules' search
  for a verdict, not the evidence a verdict reached needs) and into the
  budget's extension, never past that. BENCHMARK's: a ``faster`` claim the
  clock guard cannot back yet (``clock_hold``).

What runs a unit is the executor's business (``campaign.measure.executor``),
what a reader is shown the result builder's (``campaign.measure.bench_result``).
"""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass, field
from statistics import median
from typing import Any, Callable, Protocol

from campaign.measure import looks, spending, stats
from campaign.measure.executor import Executor, Timing
from campaign.measure.metric import MetricChoice
from campaign.measure.progress import progress_line

DECIDED = "decided"
SLOWER = "candidate clearly slower"
NOISE_CAP = "enough blocks to resolve the minimum effect at this noise"
MAX_BLOCKS_REACHED = "max_blocks"
RUN_FAILED = "a run failed"
RELEASED = "released"  # a hold's end where it let go itself (not the cap, the budget or max_blocks)


@dataclass(frozen=True)
class Plan:
    """The stopping rules of one measurement (the defaults are BENCHMARK's)."""

    max_blocks: int = stats.MAX_BLOCKS
    min_blocks: int = stats.MIN_BLOCKS
    alpha: float = stats.ALPHA
    alpha_same: float = stats.ALPHA_SAME  # P(a real change of min_effect called same) over the benchmark
    min_effect: float = stats.MIN_EFFECT
    budget_s: float = math.inf
    extend_s: float = 0.0
    precision: float | None = None  # a headline: decided only once the interval is within +-precision
    stop_when_decided: bool = True
    noise_cap: bool = True
    futility: bool = True
    slower_stops_last_block: bool = True  # False: the last block runs its hook (tune's pruner) whatever it says
    final_look: bool = True  # False: the result is the last block's decision (tune: verdicts as they were taken)
    hold_blocks: int = 0  # at most this many blocks a caller's hold may add where a rule would stop (0: none)

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_blocks", max(self.max_blocks, self.min_blocks))

    @classmethod
    def fixed_blocks(cls, blocks: int, min_blocks: int) -> Plan:
        """Tune's plan: every block of the preset, unless the configuration is clearly slower at a look."""
        return cls(max_blocks=blocks, min_blocks=min_blocks, stop_when_decided=False, noise_cap=False,
                   futility=False, slower_stops_last_block=False, final_look=False)

    @property
    def schedule(self) -> tuple[int, ...]:
        return stats.look_schedule(self.max_blocks, self.min_blocks)

    @property
    def level(self) -> float:
        return stats.look_level(self.alpha, self.max_blocks, self.min_blocks)


class LoadProbe(Protocol):
    """``campaign.measure.load``: the machine's load before and after a block."""

    def sample(self) -> Any: ...

    def block_load(self, before: Any, after: Any) -> dict: ...


def block_order(names: list[str], rng: random.Random) -> list[str]:
    """A mirrored random order: ``p + reversed(p)`` (ABBA / BAAB for two variants)."""
    p = list(names)
    rng.shuffle(p)
    return p + p[::-1]


@dataclass
class Record:
    """What the blocks measured, per unit: every run, the block series and the A/A pairs of each metric."""

    units: list[str]
    runs: dict[str, list[Timing]] = field(default_factory=dict)
    blocks: dict[str, list[tuple[Timing, Timing]]] = field(default_factory=dict)
    series: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    pairs: dict[str, dict[str, list[tuple[float, float]]]] = field(default_factory=dict)
    durations: list[float] = field(default_factory=list)
    load: list[dict] = field(default_factory=list)
    cpu_ok: bool = True  # every run so far reported a usable CPU time

    def __post_init__(self) -> None:
        self.runs.update({u: [] for u in self.units})
        self.blocks.update({u: [] for u in self.units})
        for metric in ("wall", "cpu"):
            self.series[metric] = {u: [] for u in self.units}
            self.pairs[metric] = {u: [] for u in self.units}

    def add_block(self, this: dict[str, list[Timing]]) -> None:
        for unit in self.units:
            a, b = this[unit]
            self.runs[unit] += [a, b]
            self.blocks[unit].append((a, b))
            self.pairs["wall"][unit].append((a.wall, b.wall))
            self.series["wall"][unit].append(stats.geometric_mean([a.wall, b.wall]))
        self.cpu_ok = self.cpu_ok and all(t.cpu is not None for ts in this.values() for t in ts)
        if self.cpu_ok:
            for unit in self.units:
                a, b = this[unit]
                self.pairs["cpu"][unit].append((a.cpu, b.cpu))  # type: ignore[arg-type]
                self.series["cpu"][unit].append(stats.geometric_mean([a.cpu, b.cpu]))  # type: ignore[list-item]

    @property
    def per_block_s(self) -> float:
        return median(self.durations) if self.durations else 0.0


def _same_code(n_blocks: int, min_effect: float, level: float) -> stats.Decision:
    """Two roles that are one measured unit: the same code, nothing to decide."""
    return stats.Decision("same", 1.0, (1.0, 1.0), level, min_effect, n_blocks,
                          notes=["reference and candidate are the same code: measured once"])


class Scheduler:
    """Runs blocks of ``units`` through ``executor`` until a rule of ``plan`` stops it; then ``outcome`` is set.

    ``comparisons``: name -> (reference unit, candidate unit); ``primary`` the
    one whose ``slower`` stops the loop (and that the budget rules follow).
    ``choose_metric(scheduler)``: which time decides, called at the first look
    (default: wall time throughout). ``after_block(scheduler)``: a caller's
    stopping rule, returning a reason. ``hold(scheduler)``: asked where a
    rule would stop, and after every block while it holds; a reason keeps
    the loop measuring (``Plan.hold_blocks`` at most: ``hold_record``).
    ``catch``: exception types of a run that end the loop (kept in
    ``error``) instead of propagating.
    """

    def __init__(self, executor: Executor, units: list[str], comparisons: dict[str, tuple[str, str]], plan: Plan, *,
                 primary: str | None = None, rng: random.Random | None = None,
                 clock: Callable[[], float] = time.perf_counter, started: float | None = None,
                 load: LoadProbe | None = None, say: Callable[[str], None] | None = None,
                 choose_metric: Callable[[Scheduler], MetricChoice] | None = None,
                 before_block: Callable[[int], None] | None = None,
                 after_block: Callable[[Scheduler], str | None] | None = None,
                 hold: Callable[[Scheduler], str | None] | None = None,
                 catch: tuple[type[BaseException], ...] = ()):
        self.executor, self.units, self.comparisons, self.plan = executor, list(units), comparisons, plan
        self.primary = primary or next(iter(comparisons))
        self.rng = rng or random.Random(0)
        self.clock, self.started = clock, clock() if started is None else started
        self.load, self.say, self.chooser = load, say, choose_metric
        self.before_block, self.after_block, self.catch = before_block, after_block, catch
        self.hold = hold
        self.hold_from: int | None = None  # the blocks measured when a hold first kept a stopping loop going
        self.hold_why: str | None = None  # the hold's first reason
        self.held_rule: str | None = None  # the rule that would have stopped the loop then
        self.hold_until: str | None = None  # what ended the hold
        self.hold_to: int | None = None  # the blocks measured when the hold ended
        self.record = Record(self.units)
        self.chosen = MetricChoice("wall", "before the first look, wall time is shown")
        self.decisions: dict[str, stats.Decision] = {}
        self.blocks = 0
        self.stop_reason = MAX_BLOCKS_REACHED
        self.extended = False
        self.error: BaseException | None = None
        self.same_boundaries = looks.SameBoundaries(plan.alpha_same)
        self._final = False

    # --- the numbers of one comparison -------------------------------------------------------------------------

    def same_unit(self, name: str) -> bool:
        ref, cand = self.comparisons[name]
        return ref == cand

    def ratios_for(self, name: str, on: str | None = None) -> list[float]:
        ref, cand = self.comparisons[name]
        t = self.record.series[on or self.chosen.metric]
        return stats.paired_ratios(t[ref], t[cand])

    def pairs_for(self, name: str, on: str | None = None) -> list[tuple[float, float]]:
        ref, cand = self.comparisons[name]
        p = self.record.pairs[on or self.chosen.metric]
        return p[ref] + p[cand]

    def decide(self, name: str, at_look: bool, on: str | None = None) -> stats.Decision:
        p = self.plan
        if self.same_unit(name):
            return _same_code(self.blocks, p.min_effect, p.level)
        return stats.decide(self.ratios_for(name, on), pairs=self.pairs_for(name, on), min_blocks=p.min_blocks,
                            max_blocks=p.max_blocks, min_effect=p.min_effect, alpha=p.alpha, alpha_same=p.alpha_same,
                            at_look=at_look, same_confidence=self.same_confidence(),
                            same_goal=self.same_goal())

    def same_confidence(self) -> float:
        """The level ``same`` is read at after the blocks so far: its look's spent boundary (``take_look``);
        1.0 (no ``same``) where no look was taken, so a caller's off-schedule check decides no ``same``."""
        for n, c in self.same_boundaries.looks:
            if n == self.blocks:
                return looks.SameBoundaries.level(c)
        return 1.0

    def same_goal(self) -> float:
        """The level a ``same`` where the budget ends would be read at, at the lowest (``last_look_at``): what
        ``blocks_needed`` counts, so that the futility rule stops only an A/A that cannot get there."""
        p, per_block = self.plan, self.record.per_block_s
        end = p.max_blocks
        if math.isfinite(p.budget_s) and per_block > 0:
            end = min(end, self.blocks + max(0, int((p.budget_s - self._elapsed()) // per_block)))
        return looks.SameBoundaries.level(self.same_boundaries.last_look_at(max(end, self.blocks, 1)))

    def information(self) -> float:
        """How far through the benchmark its looks are (0..1): the larger of the time budget spent and the blocks
        of ``max_blocks``; 1 at the final look where the budget or ``max_blocks`` ended it (neither is the
        data's choice), so ``same`` spends there what its earlier looks left."""
        p = self.plan
        if self._final and (self.stop_reason == MAX_BLOCKS_REACHED or self.stop_reason.startswith("budget")):
            return 1.0
        t = self.blocks / max(p.max_blocks, 1)
        if math.isfinite(p.budget_s) and p.budget_s > 0:
            t = max(t, self._elapsed() / p.budget_s)
        return min(1.0, t)

    def take_look(self) -> None:
        """Spend ``same``'s share of this look (the scheduled looks and the final one; none twice)."""
        if self.blocks >= self.plan.min_blocks:
            self.same_boundaries.look(self.blocks, self.information())

    def interval(self, name: str, level: float) -> stats.Interval | None:
        return stats.t_interval(self.ratios_for(name), stats.aa_log_diffs(self.pairs_for(name)), level)

    # --- the loop --------------------------------------------------------------------------------------------

    def run(self, repeat: int = 1, cycle: tuple[int, ...] = (), hold_cycle: tuple[int, ...] = ()) -> Scheduler:
        """Measure blocks until a rule stops; then the final look (where the plan takes one).

        ``cycle``: block ``b`` runs every unit with ``cycle[b % len(cycle)]`` repeats instead of ``repeat``
        (BENCHMARK's: ``executor.repeat_cycle``, the clock guard's evidence). Every unit of a block runs the
        same count, so the block's ratios and A/A pairs compare like with like. ``hold_cycle``: the counts of
        the blocks a hold adds, in turn (BENCHMARK's: ``executor.hold_cycle``, counts far apart, the evidence
        its hold waits for).
        """
        p = self.plan
        while self.blocks < p.max_blocks or self.holding:  # a hold ends itself (``_held``)
            if self._budget_spent():
                break
            if self.before_block is not None:
                self.before_block(self.blocks)
            reason = self._one_block(self._repeat_of_next_block(repeat, cycle, hold_cycle))
            if reason is None:
                reason = self._stop_rule()
            if reason is None and self.after_block is not None:
                reason = self.after_block(self)
            reason = self._held(reason)
            if reason is not None:
                self.stop_reason = reason
                break
        if self.holding:  # the budget (or a failed run) ended the hold
            self.hold_until, self.hold_to = self.stop_reason, self.blocks
        if self.blocks < p.min_blocks and self.chooser is not None:  # stopped before the first look
            self.chosen = self.chooser(self)
        if p.final_look:  # alpha has one look reserved for it, wherever the loop stopped
            self._final = True
            self.take_look()
            self.decisions = {name: self.decide(name, True) for name in self.comparisons}
        return self

    def _repeat_of_next_block(self, repeat: int, cycle: tuple[int, ...], hold_cycle: tuple[int, ...]) -> int:
        if self.holding and hold_cycle:
            return hold_cycle[(self.blocks - (self.hold_from or 0)) % len(hold_cycle)]
        return cycle[self.blocks % len(cycle)] if cycle else repeat

    @property
    def holding(self) -> bool:
        """Whether a caller's hold is keeping the loop measuring now (taken, not yet ended)."""
        return self.hold_from is not None and self.hold_to is None

    def _held(self, reason: str | None) -> str | None:
        """``reason``, or None while the caller's ``hold`` keeps a loop that a rule would stop measuring.

        Asked where a rule stops (a failed run aside) and, once holding, after every block whatever the rules
        say: its reason keeps the loop going, at most ``plan.hold_blocks`` blocks past where it began. When it
        lets go (nothing to hold for, or the cap), the rules asked after the last block decide, not the one that
        first would have stopped: the blocks it added may have undone a decision, and then the loop goes on
        under the ordinary rules (budget, extension, ``max_blocks``). A hold is taken once.
        """
        if self.hold is None or self.plan.hold_blocks <= 0 or reason == RUN_FAILED:
            return reason
        if self.hold_from is None:
            if reason is None:
                return None
            why = self.hold(self)
            if why is not None:
                self.hold_from, self.hold_why, self.held_rule = self.blocks, why, reason
                self._say(f"{reason}, but {why}: measuring up to {self.plan.hold_blocks} more blocks")
                return None
            return reason
        if not self.holding:  # held once already: the ordinary rules from here on
            return reason
        why = self.hold(self)
        if why is None or self.blocks - self.hold_from >= self.plan.hold_blocks:
            self.hold_until = RELEASED if why is None else f"the cap of {self.plan.hold_blocks} more blocks"
            self.hold_to = self.blocks
            if reason is None and self.blocks < self.plan.max_blocks:
                self._say(f"the hold let go ({self.hold_until}) and no rule stops here: measuring on")
            return reason
        return None

    @property
    def hold_record(self) -> dict[str, Any] | None:
        """The blocks a hold added past where a rule would stop, why and what ended it (None: no hold)."""
        if self.hold_from is None:
            return None
        end = self.blocks if self.hold_to is None else self.hold_to
        return {"blocks_added": end - self.hold_from, "after_blocks": self.hold_from, "why": self.hold_why,
                "stop_rule": self.held_rule, "until": self.hold_until, "cap": self.plan.hold_blocks}

    def _one_block(self, repeat: int) -> str | None:
        before = self.load.sample() if self.load is not None else None
        b0 = self.clock()
        this: dict[str, list[Timing]] = {u: [] for u in self.units}
        try:
            for unit in block_order(self.units, self.rng):
                this[unit].append(self.executor.run(unit, repeat))
        except self.catch as exc:
            self.error = exc
            return RUN_FAILED
        rec = self.record
        rec.add_block(this)
        if not rec.cpu_ok and self.chosen.metric == "cpu":  # the CPU series ends; wall decides, all blocks
            self.chosen = MetricChoice("wall", "a run reported no usable CPU time, so wall time decides",
                                       self.chosen.evidence)
        self.blocks += 1
        if self.blocks == self.plan.min_blocks and self.chooser is not None:  # chosen once, at the first look
            self.chosen = self.chooser(self)
            self._say(f"deciding on {self.chosen.metric} time: {self.chosen.reason}")
        rec.durations.append(self.clock() - b0)
        if self.load is not None:
            rec.load.append(self.load.block_load(before, self.load.sample()))
        at_look = self.blocks in self.plan.schedule
        if at_look:
            self.take_look()
        self.decisions = {name: self.decide(name, at_look) for name in self.comparisons}
        if self.say is not None:
            self.say(progress_line(self))
        return None

    def _say(self, line: str) -> None:
        if self.say is not None:
            self.say(line)

    def _elapsed(self) -> float:
        return self.clock() - self.started

    def _budget_spent(self) -> bool:
        """Whether the next block would overrun the budget (and the extension does not apply)."""
        p, per_block = self.plan, self.record.per_block_s
        elapsed = self._elapsed()
        if self.blocks < p.min_blocks or not self.record.durations or elapsed + per_block <= p.budget_s:
            return False
        if self.holding:  # a held claim may use the extension: the evidence it waits for
            if elapsed + per_block <= p.budget_s + p.extend_s:
                return False
            self.stop_reason = f"budget and its extension of {p.extend_s:.0f} s"
            return True
        d = self.decisions.get(self.primary)
        if (d is not None and d.verdict == "inconclusive" and elapsed + per_block <= p.budget_s + p.extend_s
                and spending.promising(d.speedup, d.blocks_needed, self.blocks, per_block,
                                       p.budget_s + p.extend_s - elapsed, p.min_effect)):
            if not self.extended:
                self._say(f"promising ({d.speedup:.3f}x, undecided): measuring up to {p.extend_s:.0f} s past the "
                          f"budget of {p.budget_s:.0f} s")
            self.extended = True
            return False
        self.stop_reason = "budget" + (f" and its extension of {p.extend_s:.0f} s" if self.extended else "")
        return True

    def precise(self, name: str) -> bool:
        """Without ``precision``, any decision; with it, an interval no wider than +-precision (log scale)."""
        p = self.plan
        if p.precision is None or self.same_unit(name):
            return True
        iv = self.interval(name, p.level)
        return iv is not None and math.log(iv.hi / iv.lo) / 2 <= math.log1p(p.precision)

    def cap(self) -> int:
        """The noise cap: the blocks that would resolve the minimum effect for the undecided comparisons."""
        p = self.plan
        if self.blocks < p.min_blocks:
            return p.max_blocks
        caps = [stats.resolve_cap(math.log1p(d.block_sd), self.blocks, 2, p.level, p.min_effect, d.pooled,
                                  p.max_blocks, p.min_blocks)  # 2: A/A pairs per block, one per variant
                if d.block_sd else p.max_blocks
                for d in self.decisions.values() if d.verdict == "inconclusive"]
        return max(caps, default=p.max_blocks)

    def _stop_rule(self) -> str | None:
        p = self.plan
        if self.blocks < p.min_blocks:
            return None
        if p.stop_when_decided and all(d.verdict != "inconclusive" and self.precise(name)
                                       for name, d in self.decisions.items()):
            return DECIDED + (f" within +-{p.precision:.0%}" if p.precision else "")
        last = self.blocks >= p.max_blocks
        if self.decisions[self.primary].verdict == "slower" and (p.slower_stops_last_block or not last):
            return SLOWER
        cap = self.cap()
        if p.noise_cap and cap < p.max_blocks and self.blocks >= cap:
            return NOISE_CAP
        return self._futile() if p.futility else None

    def _futile(self) -> str | None:
        p, d = self.plan, self.decisions[self.primary]
        if self.blocks not in p.schedule or d.verdict != "inconclusive" or self.same_unit(self.primary):
            return None
        iv, lenient = self.interval(self.primary, p.level), self.interval(self.primary, spending.FUTILITY_LEVEL)
        if iv is None or lenient is None or iv.sd <= 0:
            return None
        n = self.blocks
        aa_per_block = len(stats.aa_log_diffs(self.pairs_for(self.primary))) / n
        if_equal = stats.blocks_needed(1.0, iv.sd, n, aa_per_block, p.level, p.min_effect, iv.pooled,
                                       same_at=self.same_goal())
        largest = max(abs(math.log(lenient.lo)), abs(math.log(lenient.hi))) if lenient.lo > 0 else math.inf
        if_largest = (stats.blocks_needed(math.exp(largest), iv.sd, n, aa_per_block, p.level, p.min_effect, iv.pooled)
                      if math.log1p(p.min_effect) < largest < 700 else None)
        left = p.budget_s - self._elapsed()
        return spending.futile(d.speedup, if_equal, if_largest, n, self.record.per_block_s, left, left + p.extend_s,
                               p.min_effect)
