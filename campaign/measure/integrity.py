"""Guards on a benchmark's claim: the workload's own clock and its warm repeats, checked by campaign. Pure.

A workload reports its own times (``warm_s``, ``first_call_s``); campaign
decides on them. Two ways to fake a speedup leave the outputs right and the
reported times small; both are caught here from numbers campaign measured
itself around each process (``WorkloadRun.wall_s``, ``cpu_s``):

* **clock disagreement** - the time the workload reports for its repeats
  does not account for the time its process took per repeat: what a repeat
  really costs is the slope of the processes' time on their repeat counts
  (``repeat_cost.repeat_fit``, over the calibration and every block's runs).
  A clock rescaled at import, or work deferred to a thread that outlives the
  timed call, reports a fraction of that. Import and start-up costs are the
  intercept, so a change that imports more (Numba) is not suspected. Refused
  when the cost exceeds ``CLOCK_FACTOR`` times the report, plus ``HARNESS_S``
  for what the harness spends per repeat outside the timed call
  (``refusal_line``), by more than the slope's one-sided ``1 - ALPHA``
  Student bound (times the load scale). Two small allowances, two different
  quantities: ``HARNESS_S`` (0.25 ms) is a cost *per repeat* outside the
  timed call, added to the line; ``SLACK_S`` (2 ms) is timer jitter *per
  process*, taken off the candidate's CPU cost in the CPU-claim check,
  added to the bound on a self-reported total, and the floor (5x) under
  which a repeat is too short for the warm-only guard's CPU floors.
  For a single-threaded process the per-repeat cost is read on CPU
  time (which other processes do not add to) scaled by the load
  the reference's timer saw in the same interleaved blocks (its reported
  wall time per repeat over its measured CPU time per repeat, at least 1,
  and less for calls shorter than a scheduler time slice, which load
  preempts less); a multi-threaded one is judged on wall time.
  Also refused: a self-reported total above the process's wall. Where the
  cost lies within the noise of the refusal line (``clock_undecided``),
  BENCHMARK holds a ``faster`` claim for more blocks before the guard's
  check (``campaign.measure.clock_hold``).
* **warm-only speedup** - the warm repeats are much faster but the first
  call (less the JIT compile time the target reports) is not faster at
  all: the repeats reuse the first call's result (memoization across the
  repeats of one process, a cache of results in a fresh home). The first
  call is read on a clock load does not stretch: its CPU time where
  campaign's own workers report it, else its wall time times the share of
  the process's life it spent on the CPU (``cpu_s / wall_s``, measured by
  campaign); and a bigger claim needs a bigger first-call speedup
  (``cold_needed``: 1.1x, rising to 2x), so a busy machine stretching one
  side's first calls cannot pass for one.

``check`` returns one entry per guard (name, whether it ran, passed,
detail); a failed guard refuses the attempt at LOG, named.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from statistics import median
from typing import Any

from campaign.measure.guard_record import (SEALED as SEALED, SUSPICIOUS as SUSPICIOUS, GuardRecord as GuardRecord,
                                           guards_ran as guards_ran, refusal as refusal, suspicion as suspicion,
                                           with_heldout as with_heldout)
from campaign.measure.repeat_cost import ALPHA as ALPHA, SLACK_S as SLACK_S, RepeatFit as RepeatFit, repeat_fit

CLOCK = "clock disagreement"
WARM_ONLY = "warm-only speedup"
MIN_CLAIM = 1.5  # below this speedup the warm-only guard has nothing to check
CLOCK_FACTOR = 1.5  # measured per-repeat cost above this multiple of the reported one (beyond noise) is refused
# ... plus this much per repeat: what any harness spends outside its timed call (its timers and bookkeeping,
# freeing the last call's result, the collector), and the median report's under-read of the mean cost. On a
# 0.21 ms call campaign's own worker measured 0.265 ms per repeat quiet (0.055 ms over) and 0.32 ms against a
# 0.19 ms report at load 2-4 in CI (0.13 ms over), which the bare factor refused once more blocks narrowed
# the noise. A lie can hide at most this much per repeat: nothing against a call of milliseconds.
HARNESS_S = 0.25e-3
COLD_MIN = 1.1  # a warm claim of MIN_CLAIM or more needs at least this cold (first-call) speedup
COLD_CAP = 2.0  # ... rising with the claim (cold_needed) to this
TIME_SLICE_S = 0.02  # calls this long or longer see the machine's whole load; shorter ones proportionally less
PARALLEL = 1.2  # CPU/wall above this: a multi-threaded process, whose CPU time outruns its wall: judged on wall


def _reported(run) -> float:
    """The time a run's process says it spent in timed calls: first call plus the warm repeats."""
    warm = list(getattr(run, "warm_s", None) or [])
    first = getattr(run, "first_call_s", None) or 0.0
    if warm:
        return first + sum(warm)
    return first + float(sum((getattr(run, "phases", None) or {}).values()))


def _mad_sd(values: list[float]) -> float:
    if len(values) < 2:
        return 0.0
    mid = median(values)
    return 1.4826 * median([abs(v - mid) for v in values])


def _load_scale(calibration, runs: list) -> float:
    """Wall seconds per CPU second of a warm repeat of the reference, as its own timer saw it (at least 1)."""
    if calibration is None or not runs or not calibration.cpu_s or not all(r.cpu_s and r.warm_s for r in runs):
        return 1.0
    cpu = _ref_cpu_per_repeat(calibration, runs)
    if cpu is None:
        return 1.0
    wall = median([median(r.warm_s) for r in runs])
    return max(1.0, wall / cpu) if cpu > 0 else 1.0


def _ref_cpu_per_repeat(calibration, runs: list) -> float | None:
    """The reference's CPU time per warm repeat: as its harness timed each call where every run says
    (``warm_cpu_s``), else what one more repeat cost its processes (``_per_repeat_cpu``). Pure.

    The reference is the baseline or the last kept change, whose claims passed these guards, so its own
    per-call CPU times are taken as they are; they carry none of the noise of whole processes. The slope
    does: read from 7 processes beside six burners, the naive kernel's 255 ms repeat came out at 168 ms, and
    an honest 1.51x win (the demo's early exit, 2026-12-06) was refused as work that left the timed call.
    The candidate's cost is always the slope: its own report is what is being checked. In the simulation of
    ``tests/test_clock_grey_zone.py`` with per-call CPU times reported (150 seeds each), a 3x rescaled clock
    was kept 0 times at 20 ms of spread per process (1 from the slope) and 21 at 50 ms (21 from the slope);
    an honest 1.5x win on a 255 ms call was refused 4 times in 100 at 100 ms of spread (4), 7 at 200 ms (12).
    """
    if runs and all(r.warm_cpu_s and len(r.warm_cpu_s) == len(r.warm_s) for r in runs):
        return median([median(r.warm_cpu_s) for r in runs])
    return _per_repeat_cpu(calibration, runs)


def clock_guard(calibration, runs: list, ref_calibration=None, ref_runs: list | None = None) -> dict[str, Any]:
    """``calibration``: the variant's one-repeat run; ``runs``: its ``R``-repeat runs; ``ref_*``: the reference's. Pure."""
    entry: dict[str, Any] = {"name": CLOCK, "ran": False, "passed": True, "detail": None}
    over = [r for r in [calibration, *runs] if r is not None and _reported(r) > r.wall_s * 1.05 + SLACK_S]
    if over:
        r = over[0]
        entry.update(ran=True, passed=False, detail=(
            f"the workload reported {_reported(r) * 1e3:.1f} ms of timed calls in a process that ran "
            f"{r.wall_s * 1e3:.1f} ms: its clock is not the wall clock"))
        return entry
    if calibration is None or not runs or not calibration.warm_s:
        entry["detail"] = "not run: no one-repeat calibration run to difference against"
        return entry
    if max(r.repeat for r in runs) < 2 or not all(r.warm_s for r in runs):
        entry["detail"] = "not run: the workload reports no warm repeats"
        return entry
    reported = median([median(r.warm_s) for r in runs])
    clock, spent, scale = "wall", (lambda r: r.wall_s), 1.0
    if calibration.cpu_s and all(r.cpu_s for r in runs) and \
            median([r.cpu_s / r.wall_s for r in runs if r.wall_s > 0] or [9.0]) <= PARALLEL:
        # one busy thread: CPU time differences, which other processes do not add to, scaled to wall-clock
        # seconds by the load the reference's honest timer saw in the same blocks (never below 1)
        load = _load_scale(ref_calibration, ref_runs or [])
        # a call shorter than a scheduler time slice is rarely preempted: the load inflates it less
        clock, spent, scale = "cpu", (lambda r: r.cpu_s), 1 + (load - 1) * min(1.0, reported / TIME_SLICE_S)
    fit = repeat_fit(calibration, runs, spent)
    if fit is None:
        entry["detail"] = "not run: every process ran the same number of repeats"
        return entry
    per_repeat = fit.slope
    measured = per_repeat * scale  # what one more repeat cost the process, on the wall clock
    noise = scale * fit.allowance()
    entry.update(ran=True, clock=clock, measured_per_repeat_s=measured, reported_per_repeat_s=reported, noise_s=noise,
                 cost_per_repeat_s=per_repeat, load_scale=scale, cost_se_s=fit.se, processes=fit.df + 2)
    cpu_claim = _cpu_claim(clock, reported, per_repeat, fit.se, ref_calibration, ref_runs or [], scale)
    if cpu_claim:
        entry.update(passed=False, **cpu_claim)
    elif measured > refusal_line(reported) + noise:
        entry.update(passed=False, detail=(
            f"each warm repeat reports {reported * 1e3:.2f} ms but costs the process {measured * 1e3:.2f} ms "
            f"({clock} time campaign measured over {fit.df + 2} processes; noise {noise * 1e3:.2f} ms): the workload's "
            f"clock does not time its work (a rescaled timer, or work left running after the timed call)"))
    else:
        entry.update(undecided=clock_undecided(measured, reported, noise, scale * fit.resolution), detail=(
            f"reported {reported * 1e3:.2f} ms per repeat, measured {measured * 1e3:.2f} ms "
            f"(noise {noise * 1e3:.2f} ms, {fit.df + 2} processes)"))
    return entry


def refusal_line(reported: float) -> float:
    """The most one more repeat may cost the process, beyond noise, for a workload reporting ``reported``. Pure."""
    return CLOCK_FACTOR * reported + HARNESS_S


def clock_undecided(measured: float, reported: float, noise: float, resolution: float) -> bool:
    """Whether the clock guard cannot tell yet: its evidence straddles the refusal line. Pure.

    The guard refuses a cost per repeat above the line (``refusal_line``) by more than ``noise`` (the
    fit's one-sided bound). A cost within ``noise`` of the line on either side, ``|measured - line| <= noise``,
    passes now but could be refused on more evidence (a 2.25x lie at load 12.7 after 3 blocks: 14.1 ms against
    a 9.4 ms line, noise 9.8 ms), and a genuine win could be cleared: more blocks narrow the noise (BENCHMARK
    measures them: ``campaign.measure.clock_hold``). Left out, near-zero work: a line under ``resolution``, the
    timer's jitter per process spread over the fit's leverage (``RepeatFit.resolution``), the least noise any
    number of blocks leaves. There (an O(1) closed form's microsecond per repeat) the cost sits within its
    noise of the line for ever, and the straddle would never end; the harness's allowance (``HARNESS_S``) is
    not the workload's, so it does not count toward that. A cost over the line by more than ``noise`` is no
    straddle: the guard refuses.
    """
    return CLOCK_FACTOR * reported >= resolution and abs(measured - refusal_line(reported)) <= noise


def _cpu_claim(clock: str, reported: float, cand_cpu: float, cand_noise: float, ref_calibration,
               ref_runs: list, scale: float = 1.0) -> dict[str, Any] | None:
    """A reported speedup the process's own CPU cost per repeat does not show (work moved outside the timed call).

    Both sides single-threaded (``clock == "cpu"``): the claim is the reference's time per repeat over the
    candidate's, each as a CPU-time equivalent: the reference's report shrunk by the load its own timer saw
    (the lesser of its report and its CPU time per repeat, ``_ref_cpu_per_repeat``), the candidate's by the
    stretch ``scale`` expects of a call its length (a busy machine stretches a long call's wall time more than a short one's, which would
    inflate the claim of every genuine short-call win; a lie about a long call keeps its size); the same ratio of what one more repeat cost each process in CPU time (which
    other processes do not add to) must show at least half of it. Returns the failure.
    """
    if clock != "cpu" or ref_calibration is None or not ref_runs or not ref_calibration.cpu_s:
        return None
    if not all(r.cpu_s and r.warm_s for r in ref_runs) or reported <= 0 or cand_cpu <= 0:
        return None
    ref_cpu = _ref_cpu_per_repeat(ref_calibration, ref_runs)
    if ref_cpu is None:
        return None
    ref_reported = median([median(r.warm_s) for r in ref_runs])
    claim = (min(ref_reported, ref_cpu) if ref_cpu > 0 else ref_reported) * scale / reported
    if claim < MIN_CLAIM or ref_cpu <= 0:
        return None
    floor = cand_cpu - cand_noise - SLACK_S  # the candidate's CPU per repeat, read in its favour
    if floor <= 0:
        return None  # too small to tell from the noise: nothing shown against the claim
    shown = ref_cpu / floor  # the largest CPU speedup the numbers allow
    if shown >= 1 + (claim - 1) / 2:
        return None
    return {"cpu_speedup": shown, "claimed_speedup": claim, "detail": (
        f"the reported time per repeat fell {claim:.2f}x, but what one more repeat cost the process in CPU time fell "
        f"only {shown:.2f}x ({ref_cpu * 1e3:.2f} ms against {cand_cpu * 1e3:.2f} ms): the work was not made "
        f"cheaper, it left the timed call (a thread or process that outlives it, a rescaled timer)")}


def _cold(run, cpu: bool = False) -> float | None:
    """A run's first call, JIT compile time aside, on a clock a busy machine does not stretch.

    ``cpu``: the first call's CPU time as campaign's own workers report it (``first_call_cpu_s``). Otherwise
    the reported wall time, shrunk by the share of its wall time the process spent on the CPU (campaign's
    own ``cpu_s`` over ``wall_s``, at most 1): a process that waited for a core half its life had its first
    call stretched about as much.
    """
    compile_s = getattr(run, "compile_s", None) or 0.0
    if cpu:
        first = _first_call_cpu(run)
        return None if first is None else max(float(first) - compile_s, 1e-9)
    first = getattr(run, "first_call_s", None)
    if first is None:
        return None
    cpu_s, wall_s = getattr(run, "cpu_s", None), getattr(run, "wall_s", None)
    share = min(1.0, cpu_s / wall_s) if cpu_s and wall_s and wall_s > 0 else 1.0
    return max((first - compile_s) * share, 1e-9)


def _first_call_cpu(run) -> Any:
    """The first call's CPU time campaign's own workers report in a run's ``extra`` (None: not reported)."""
    extra = getattr(run, "extra", None)
    return extra.get("first_call_cpu_s") if isinstance(extra, Mapping) else None


def _reports_first_cpu(run) -> bool:
    value = _first_call_cpu(run)
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def cold_needed(speedup: float) -> float:
    """The first-call speedup a warm claim needs: ``COLD_MIN``, rising with the claim to ``COLD_CAP``. Pure.

    A genuine win makes the first call faster too, by about as much; a reused result leaves it as slow as
    the reference's (about 1x). Asking a big claim for more than noise keeps a busy machine's stretch of
    one side's first calls from passing for a speedup.
    """
    return min(COLD_CAP, max(COLD_MIN, 1 + (speedup - 1) / 8))


def _per_repeat_cpu(calibration, runs: list) -> float | None:
    """What one more warm repeat cost the process in CPU time: ``repeat_fit``'s slope (None: not measurable)."""
    if calibration is None or not calibration.cpu_s or not runs or not all(r.cpu_s for r in runs):
        return None
    fit = repeat_fit(calibration, runs)
    return None if fit is None or max(r.repeat for r in runs) < 2 else fit.slope


def cpu_cold_speedup(ref_calibration, ref_runs: list, calibration, cand_runs: list) -> float | None:
    """The first call's speedup read from campaign's own CPU times of whole processes (None: not readable). Pure.

    A process's CPU time less its repeats' (``R`` times the CPU cost of one more repeat) is its start-up plus
    its first call; the reference's less the candidate's is what the first call saved, the same harness
    starting both. Against the reference's first call (about its warm repeat) that gives the first call's
    speedup: about 1x for a result reused across repeats, whatever the load. Imports a candidate adds count
    against it, so the guard refuses only where this and the wall-clock reading both find no speedup.
    """
    ref_repeat, cand_repeat = _per_repeat_cpu(ref_calibration, ref_runs), _per_repeat_cpu(calibration, cand_runs)
    if ref_repeat is None or cand_repeat is None or ref_repeat < 5 * SLACK_S:
        return None  # a reference repeat too short to tell a saved first call from the processes' noise
    saved = median([r.cpu_s - r.repeat * ref_repeat for r in ref_runs]) - \
        median([r.cpu_s - r.repeat * max(cand_repeat, 0.0) for r in cand_runs])
    left = ref_repeat - saved
    return ref_repeat / left if left > 1e-9 else None  # the first call took no time: noise, not a reading


def cpu_cold_floor(ref_calibration, ref_runs: list, calibration, cand_runs: list) -> float | None:
    """``cpu_cold_speedup`` read in the candidate's disfavour by twice its own noise (None: not readable). Pure.

    Each side's cost of one more repeat rests on one calibration process, and its error is multiplied by the
    ``R`` repeats subtracted from every process. Beside a suite at load 9-15 this reading found a memoized
    result's first call 3.2x and 6.0x faster, and one reading no time left at all; as the only evidence that
    rescues a first call the self-reported clock found slow, it must be clear of its noise.
    """
    ref_repeat, cand_repeat = _per_repeat_cpu(ref_calibration, ref_runs), _per_repeat_cpu(calibration, cand_runs)
    if ref_repeat is None or cand_repeat is None or ref_repeat < 5 * SLACK_S:
        return None
    cand_repeat = max(cand_repeat, 0.0)
    repeat = median([r.repeat for r in ref_runs])

    def repeat_error(cal, runs: list) -> float:  # the standard error of the cost of one more repeat
        fit = repeat_fit(cal, runs)
        return fit.se if fit is not None else 0.0

    ref_first = [r.cpu_s - r.repeat * ref_repeat for r in ref_runs]
    cand_first = [r.cpu_s - r.repeat * cand_repeat for r in cand_runs]
    e_ref, e_cand = repeat_error(ref_calibration, ref_runs), repeat_error(calibration, cand_runs)
    spread = math.sqrt(_mad_sd(ref_first) ** 2 + _mad_sd(cand_first) ** 2 + (repeat * e_ref) ** 2
                       + (median([r.repeat for r in cand_runs]) * e_cand) ** 2 + e_ref ** 2)
    left = ref_repeat - (median(ref_first) - median(cand_first))
    return ref_repeat / (max(left, 0.0) + 2 * spread + SLACK_S)


def warm_only_guard(speedup: float, verdict: str, ref_runs: list, cand_runs: list, jit: bool = False,
                    calibration=None, ref_calibration=None) -> dict[str, Any]:
    """A faster warm verdict needs a faster first call too (compile time aside). Pure.

    Read on the first call's CPU time where the workload reports it; else refused only when both the
    wall-clock reading (shrunk by each process's CPU share) and ``cpu_cold_floor`` fall short.
    """
    entry: dict[str, Any] = {"name": WARM_ONLY, "ran": False, "passed": True, "detail": None}
    if jit:
        entry["detail"] = ("not run: the target declares JIT compilation in the first call (jit = true), which "
                           "looks the same as a result reused across repeats")
        return entry
    cpu = bool(ref_runs) and bool(cand_runs) and all(map(_reports_first_cpu, [*ref_runs, *cand_runs]))
    ref = [c for c in (_cold(r, cpu) for r in ref_runs) if c is not None]
    cand = [c for c in (_cold(r, cpu) for r in cand_runs) if c is not None]
    if not ref or not cand:
        entry["detail"] = "not run: the workload reports no first-call time"
        return entry
    cold, needed = median(ref) / median(cand), cold_needed(speedup)
    clock = "first-call CPU time" if cpu else "first-call time x the process's CPU share"
    by_cpu = None if cpu else cpu_cold_speedup(ref_calibration, ref_runs, calibration, cand_runs)
    floor = None if cpu else cpu_cold_floor(ref_calibration, ref_runs, calibration, cand_runs)
    if floor is not None and floor > cold:  # either reading that finds the first call faster, clear of its noise
        cold, clock = floor, "process CPU time less the repeats', less twice its noise"
    entry.update(ran=True, cold_speedup=cold, cold_needed=needed, clock=clock, cold_cpu_speedup=by_cpu,
                 cold_cpu_floor=floor)
    if verdict == "faster" and speedup >= MIN_CLAIM and cold < needed:
        entry.update(passed=False, detail=(
            f"the warm repeats are {speedup:.2f}x faster but the first call is {cold:.2f}x ({clock}; a "
            f"{speedup:.2f}x claim needs {needed:.2f}x): the speedup comes from reusing the first call's result "
            f"across the repeats of one process (memoization, a cache), not from faster code"))
    else:
        entry["detail"] = f"first call {cold:.2f}x ({clock}, compile time aside; needed {needed:.2f}x), warm {speedup:.2f}x"
    return entry


def check(speedup: float, verdict: str, calibration, ref_runs: list, cand_runs: list,
          jit: bool = False, ref_calibration=None, held: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The guards of one comparison: ``{"guards": [...], "refused": "<name>: <detail>" or None}``. Pure.

    ``held``: the blocks BENCHMARK measured past its decision because the clock guard could not tell
    (``Scheduler.hold_record``), kept in the clock guard's entry.
    """
    guards = [clock_guard(calibration, cand_runs, ref_calibration, ref_runs),
              warm_only_guard(speedup, verdict, ref_runs, cand_runs, jit, calibration, ref_calibration)]
    if held:
        guards[0].update(blocks_added=held.get("blocks_added", 0), held=dict(held))
    failed = next((g for g in guards if not g["passed"]), None)
    for guard in guards:
        for key, value in list(guard.items()):
            if isinstance(value, float) and not math.isfinite(value):
                guard[key] = None
    return {"guards": guards, "refused": f"{failed['name']}: {failed['detail']}" if failed else None}
