"""Review a campaign record: did the agent follow the method?

Each rule is a pure function over the journal's events (plain dicts as they
appear in ``journal.jsonl``: ``seq``, ``type``, ``iteration``, ``data``) and
returns a list of ``Finding``. ``RULES`` lists them; ``check(events)`` runs
them all. Nothing here touches git, processes or the network; reading the
record folder is done by ``load_record`` at the edge.

The rules (ids are stable, CI may grep for them):

surprise-missing          a LOG without a Surprise, or an attempted iteration
                          with no LOG at all
prediction-after-result   the THINK (the prediction) was written after that
                          iteration's BENCHMARK, or never
kept-without-evidence     a kept change whose confidence interval includes
                          "no change" (ci[0] <= 1.0)
phase-under-5pct          a PLAN on a phase under 5% of runtime in the latest
                          PROFILE before it (or on a phase no profile showed)
postmortem-missing        measured vs predicted speedup off by more than
                          ``postmortem_factor`` (either way) and no postmortem
full-validation-skipped   every 3rd kept iteration needs a BENCHMARK with a
                          full-scale result (``full`` not null)
skip-without-3-failures   a SKIP of a bottleneck with fewer than 3 failed
                          attempts on it in the journal
written-behind-runner     an event that no runner wrote, between two events
                          one ``campaign run`` wrote (each event names its
                          ``writer``: only the runner writes while it drives)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Any, Callable, Iterable

from campaign.loop.record import cumulative_speedup, load_data

Event = dict[str, Any]

MIN_PHASE_SHARE = 0.05
FULL_EVERY = 3
FAILED_ATTEMPTS_BEFORE_SKIP = 3
DEFAULT_POSTMORTEM_FACTOR = 1.5


class RecordError(Exception):
    """The record cannot be reviewed (missing, torn or newer-schema journal)."""


@dataclass(frozen=True)
class Finding:
    rule: str
    iteration: int | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Rule:
    id: str
    description: str
    check: Callable[[list[Event]], list[Finding]]


# --------------------------------------------------------------------------- reading


def read_events(journal: Path) -> list[Event]:
    """Read ``journal.jsonl`` with ``campaign.loop.journal``'s parser; refuse a torn or invalid one.

    The journal module owns the torn-line and schema rules; a torn tail, which
    a running campaign may carry on past, is an error here: a reviewer judges
    a whole record or none.
    """
    from campaign.errors import JournalError
    from campaign.loop.journal import parse_journal

    try:
        contents = parse_journal(journal.read_bytes(), str(journal))
    except JournalError as exc:
        raise RecordError(str(exc)) from None
    if contents.torn is not None:
        raise RecordError(
            f"{journal}: line {contents.torn.line} is torn ({contents.torn.size} bytes of an interrupted "
            "write), so the record is incomplete and is not reviewed. Run any `campaign` command on the "
            "campaign to move the torn bytes aside, or restore the journal from git."
        )
    return contents.events


def load_record(record_dir: Path) -> list[Event]:
    record_dir = Path(record_dir)
    if not record_dir.is_dir():
        raise RecordError(f"{record_dir} is not a directory; give the folder of a campaign record (optim/<name>/).")
    journal = record_dir / "journal.jsonl"
    if not journal.is_file():
        raise RecordError(f"{record_dir} has no journal.jsonl, so it is not a campaign record (or it was never started).")
    events = read_events(journal)
    if not events:
        raise RecordError(f"{journal} is empty: nothing to review.")
    return events


# --------------------------------------------------------------------------- helpers over events


def _data(event: Event | None) -> dict[str, Any]:
    return (event["data"] or {}) if event else {}


def of_type(events: Iterable[Event], kind: str) -> list[Event]:
    return [e for e in events if e.get("type") == kind]


def iterations(events: list[Event]) -> list[int]:
    """Iteration numbers in order of first appearance; an iteration starts at its THINK.

    A profile carries the number of the iteration it prepares, so a profile
    after which the agent declared the bottleneck exhausted names an
    iteration that never started: not one to judge.
    """
    started = {e.get("iteration") for e in events if e.get("type") == "think"}
    seen: list[int] = []
    for e in events:
        it = e.get("iteration")
        if isinstance(it, int) and it in started and it not in seen:
            seen.append(it)
    return seen


def iteration_events(events: list[Event], iteration: int) -> list[Event]:
    return [e for e in events if e.get("iteration") == iteration]


def last_of(events: list[Event], kind: str) -> Event | None:
    found = of_type(events, kind)
    return found[-1] if found else None


def first_of(events: list[Event], kind: str) -> Event | None:
    found = of_type(events, kind)
    return found[0] if found else None


def _position(events: list[Event], event: Event) -> int:
    """The event's place in journal order (``seq`` when present)."""
    seq = event.get("seq")
    return seq if isinstance(seq, int) else events.index(event)


def is_kept(its: list[Event]) -> bool:
    """Whether an iteration's change was kept: its LOG says so, else a COMMIT and no REVERT."""
    log = last_of(its, "log")
    if log is not None and isinstance(_data(log).get("kept"), bool):
        return _data(log)["kept"]
    return last_of(its, "commit") is not None and last_of(its, "revert") is None


def postmortem_factor(events: list[Event]) -> float:
    factor = _data(first_of(events, "init")).get("postmortem_factor")
    return float(factor) if isinstance(factor, (int, float)) and factor > 1 else DEFAULT_POSTMORTEM_FACTOR


def _speedup(bench: Event | None) -> float | None:
    value = _data(bench).get("speedup")
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def _prediction(think: Event | None) -> float | None:
    value = _data(think).get("predicted_speedup")
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


# --------------------------------------------------------------------------- the rules


def rule_surprise(events: list[Event]) -> list[Finding]:
    findings = []
    its = iterations(events)
    finished = first_of(events, "finish") is not None
    for n in its:
        own = iteration_events(events, n)
        logs = of_type(own, "log")
        if logs:
            for log in logs:
                if not _text(_data(log).get("surprise")):
                    findings.append(Finding("surprise-missing", n, "the LOG has no Surprise (write \"None\" explicitly when nothing surprised you)"))
            continue
        attempted = any(e["type"] in ("test", "benchmark", "revert", "commit") for e in own)
        in_progress = n == its[-1] and not finished
        if attempted and not in_progress:
            findings.append(Finding("surprise-missing", n, "the iteration was attempted but never LOGged, so it has no Surprise"))
    return findings


def rule_prediction_order(events: list[Event]) -> list[Finding]:
    findings = []
    for n in iterations(events):
        own = iteration_events(events, n)
        bench = first_of(own, "benchmark")
        if bench is None:
            continue
        thinks = [t for t in of_type(own, "think") if _prediction(t) is not None]
        if not thinks:
            findings.append(Finding("prediction-after-result", n, "there is no numeric prediction (THINK) for this result"))
            continue
        first_think = thinks[0]
        if _position(events, first_think) > _position(events, bench):
            findings.append(
                Finding(
                    "prediction-after-result",
                    n,
                    f"the prediction ({_prediction(first_think):g}x, seq {first_think.get('seq')}) was written after "
                    f"the benchmark result (seq {bench.get('seq')})",
                )
            )
    return findings


def rule_kept_evidence(events: list[Event]) -> list[Finding]:
    findings = []
    for n in iterations(events):
        own = iteration_events(events, n)
        if not is_kept(own):
            continue
        bench = last_of(own, "benchmark")
        if bench is None:
            findings.append(Finding("kept-without-evidence", n, "the change was kept without any benchmark"))
            continue
        ci = _data(bench).get("ci")
        if not (isinstance(ci, (list, tuple)) and len(ci) == 2 and isinstance(ci[0], (int, float))):
            findings.append(Finding("kept-without-evidence", n, "the change was kept but its benchmark has no confidence interval"))
        elif ci[0] <= 1.0:
            findings.append(
                Finding(
                    "kept-without-evidence",
                    n,
                    f"kept although its confidence interval [{ci[0]:.3g}, {ci[1]:.3g}] includes \"no change\" (1.0)",
                )
            )
    return findings


def rule_phase_share(events: list[Event]) -> list[Finding]:
    findings = []
    for plan in of_type(events, "plan"):
        n = plan.get("iteration")
        phase = _data(plan).get("phase")
        override = _text(_data(plan).get("override"))
        profiles = [p for p in of_type(events, "profile") if _position(events, p) < _position(events, plan)]
        if not profiles:
            findings.append(Finding("phase-under-5pct", n, f"phase {phase!r} was planned without any PROFILE before it"))
            continue
        shares = _data(profiles[-1]).get("shares") or _shares(_data(profiles[-1]).get("phases") or {})
        share = shares.get(phase)
        note = f" (override: {override})" if override else ""
        if not isinstance(share, (int, float)):
            findings.append(Finding("phase-under-5pct", n, f"phase {phase!r} is not in the latest profile (seq {profiles[-1].get('seq')}){note}"))
        elif share < MIN_PHASE_SHARE:
            findings.append(
                Finding("phase-under-5pct", n, f"phase {phase!r} was {share:.1%} of runtime when it was optimized (< {MIN_PHASE_SHARE:.0%}){note}")
            )
    return findings


def _shares(phases: dict[str, Any]) -> dict[str, float]:
    total = sum(v for v in phases.values() if isinstance(v, (int, float)))
    return {k: v / total for k, v in phases.items() if isinstance(v, (int, float))} if total > 0 else {}


def rule_postmortem(events: list[Event]) -> list[Finding]:
    findings = []
    factor = postmortem_factor(events)
    for n in iterations(events):
        own = iteration_events(events, n)
        predicted = _prediction(first_of(own, "think"))
        measured = _speedup(last_of(own, "benchmark"))
        if predicted is None or measured is None:
            continue
        ratio = measured / predicted
        if 1 / factor <= ratio <= factor:
            continue
        if not any(_postmortem_written(_data(log).get("postmortem")) for log in of_type(own, "log")):
            findings.append(
                Finding(
                    "postmortem-missing",
                    n,
                    f"predicted {predicted:.3g}x, measured {measured:.3g}x (off by {max(ratio, 1 / ratio):.2f}x > {factor:g}x) "
                    "and no postmortem was written",
                )
            )
    return findings


def _postmortem_written(pm: Any) -> bool:
    if isinstance(pm, dict):
        return bool(_text(pm.get("why")) or _text(pm.get("lesson")))
    return bool(_text(pm))


def rule_full_validation(events: list[Event]) -> list[Finding]:
    findings = []
    kept = [n for n in iterations(events) if is_kept(iteration_events(events, n))]
    for index, n in enumerate(kept, start=1):
        if index % FULL_EVERY:
            continue
        benches = of_type(iteration_events(events, n), "benchmark")
        if not any(_data(b).get("full") is not None for b in benches):
            findings.append(
                Finding("full-validation-skipped", n, f"kept iteration #{index} (every {FULL_EVERY}rd) has no full-scale benchmark")
            )
    return findings


def rule_skip(events: list[Event]) -> list[Finding]:
    findings = []
    for skip in of_type(events, "skip"):
        bottleneck = _text(_data(skip).get("bottleneck"))
        key = bottleneck.lower()
        failed = 0
        for n in iterations(events):
            own = [e for e in iteration_events(events, n) if _position(events, e) < _position(events, skip)]
            plan = last_of(own, "plan")
            if plan is None or is_kept(own):
                continue
            if not (of_type(own, "revert") or of_type(own, "log")):
                continue  # not finished: not a failed attempt yet
            names = {_text(_data(plan).get("bottleneck")).lower(), _text(_data(plan).get("phase")).lower()}
            if key and key in names:
                failed += 1
        if failed < FAILED_ATTEMPTS_BEFORE_SKIP:
            claimed = _data(skip).get("failed_attempts")
            findings.append(
                Finding(
                    "skip-without-3-failures",
                    skip.get("iteration"),
                    f"bottleneck {bottleneck!r} was skipped after {failed} failed attempt(s) in the journal "
                    f"(needs {FAILED_ATTEMPTS_BEFORE_SKIP}; the skip claims {claimed})",
                )
            )
    return findings


def rule_written_behind_runner(events: list[Event]) -> list[Finding]:
    """Inside the span of one ``campaign run`` (its first to its last event), every event must be that run's."""
    spans: dict[str, tuple[int, int]] = {}
    for index, event in enumerate(events):
        writer = event.get("writer") if isinstance(event.get("writer"), dict) else {}
        if writer.get("by") == "runner" and writer.get("run"):
            first, _ = spans.get(writer["run"], (index, index))
            spans[writer["run"]] = (first, index)
    findings = []
    for run, (first, last) in spans.items():
        for event in events[first + 1:last]:
            writer = event.get("writer") if isinstance(event.get("writer"), dict) else {}
            if writer.get("by") == "runner" and writer.get("run") == run:
                continue
            who = writer.get("command") or writer.get("by") or "an unknown writer (no `writer`)"
            findings.append(Finding(
                "written-behind-runner", event.get("iteration"),
                f"event {event.get('seq')} ({event.get('type')}) was written by {who} while `campaign run` "
                f"(run {run[:8]}) drove the campaign: only the runner writes the record then"))
    return findings


RULES: tuple[Rule, ...] = (
    Rule("surprise-missing", "every LOG has a non-empty Surprise", rule_surprise),
    Rule("prediction-after-result", "the numeric prediction is written before the benchmark", rule_prediction_order),
    Rule("kept-without-evidence", "a kept change's confidence interval excludes 1.0", rule_kept_evidence),
    Rule("phase-under-5pct", "a planned phase had >= 5% of runtime in the latest profile", rule_phase_share),
    Rule("postmortem-missing", "a postmortem when measured/predicted is off by more than postmortem_factor", rule_postmortem),
    Rule("full-validation-skipped", "every 3rd kept iteration is validated on the full-scale case", rule_full_validation),
    Rule("skip-without-3-failures", "a bottleneck is skipped only after 3 failed attempts", rule_skip),
    Rule("written-behind-runner", "while `campaign run` drives, every event is the runner's", rule_written_behind_runner),
)


def check(events: list[Event], rules: Iterable[Rule] = RULES) -> list[Finding]:
    """Run every rule; findings sorted by iteration (campaign-level first), then rule order."""
    order = {r.id: i for i, r in enumerate(RULES)}
    findings = [f for rule in rules for f in rule.check(events)]
    return sorted(findings, key=lambda f: (f.iteration if f.iteration is not None else -1, order.get(f.rule, 99)))


# --------------------------------------------------------------------------- per-iteration summary


def iteration_rows(events: list[Event]) -> list[dict[str, Any]]:
    """One row per iteration: what a reviewer reads first."""
    rows = []
    for n in iterations(events):
        own = iteration_events(events, n)
        think, plan, bench, log = first_of(own, "think"), last_of(own, "plan"), last_of(own, "benchmark"), last_of(own, "log")
        test, revert, commit = last_of(own, "test"), last_of(own, "revert"), last_of(own, "commit")
        bd = _data(bench)
        vs_base = bd.get("vs_baseline") or {}
        rows.append(
            {
                "iteration": n,
                "phase": _data(plan).get("phase"),
                "change": _data(plan).get("change"),
                "bottleneck": _data(plan).get("bottleneck"),
                "predicted": _prediction(think),
                "measured": _speedup(bench),
                "ci": bd.get("ci"),
                "ci_level": bd.get("ci_level"),
                "ci_kind": bd.get("ci_kind"),
                "machine_busy": load_data("benchmark", bd).load.note,
                "verdict": bd.get("verdict"),
                "cumulative": cumulative_speedup(bd),  # the one definition (campaign.loop.record)
                "cumulative_ci": vs_base.get("ci"),
                "full": bd.get("full"),
                "test_passed": _data(test).get("passed") if test else None,
                "test_failure": _first_failure(_data(test)) if test and not _data(test).get("passed") else None,
                "kept": is_kept(own),
                "revert_reason": _data(revert).get("reason") if revert else None,
                "commit": _data(commit).get("commit") if commit else None,
                "surprise": _data(log).get("surprise") if log else None,
                "postmortem": _data(log).get("postmortem") if log else None,
                "patch": _data(last_of(own, "implement")).get("patch"),
                # docs/integrity.md: which guards ran on the attempt, and the mark of a claim big enough to suspect
                "guards": bd.get("guards"),
                "suspicion": bd.get("suspicion"),
                "memory": _memory(bd, _data(log)),  # peak RSS before -> after (campaign.measure.memory), or None
                "bench_cost": _bench_cost(bd) if bench else None,
            }
        )
    return rows


def _bench_cost(bench: dict[str, Any]) -> dict[str, Any]:
    """What BENCHMARK spent: blocks and about how many seconds (blocks x median block + calibration)."""
    cost = bench.get("block_cost") or {}
    blocks = bench.get("blocks")
    seconds = None
    if isinstance(blocks, int) and isinstance(cost.get("block_s"), (int, float)):
        seconds = blocks * cost["block_s"] + (cost.get("calibration_s") or 0)
    return {"blocks": blocks, "seconds": seconds}


def _memory(bench: dict[str, Any], log: dict[str, Any]) -> dict[str, Any] | None:
    """Peak memory as LOG judged it (limit, accept), else as BENCHMARK measured it; None on older records."""
    from campaign.measure import memory

    return log.get("memory") or memory.change(bench, None)


def _first_failure(test: dict[str, Any]) -> str | None:
    """The first reason a TEST failed, in one line."""
    for failure in test.get("failures") or []:
        text = failure.get("message") or failure.get("output")
        if text:
            return " ".join(str(text).split())
    if test.get("out_of_scope"):
        return "edits outside the scope: " + ", ".join(test["out_of_scope"])
    cmd = test.get("test_command") or {}
    if cmd and not cmd.get("passed"):
        names = [t.get("name") for t in cmd.get("failed_tests") or [] if t.get("name")]
        return f"test command `{cmd.get('cmd')}` exited {cmd.get('rc')}" + (f": failed {', '.join(names[:5])}" if names else "")
    return None


def full_case_result(events: list[Event]) -> dict[str, Any] | None:
    """The headline: the final tree vs the baseline on the full case (FINISH), and whether its outputs were checked."""
    finish = _data(last_of(events, "finish"))
    check = _data(last_of(events, "validate"))
    if not finish and not check:
        return None
    full = finish.get("full") or {}
    validation = finish.get("validation") or (check if not finish else {})
    return {
        "case": full.get("case") or check.get("case"),
        "speedup": full.get("speedup"),
        "ci": full.get("ci"),
        "verdict": full.get("verdict"),
        "outputs_checked": bool(validation),
        "outputs_match": validation.get("passed") if validation else None,
        "failure": _first_failure(check) if check and not check.get("passed") and not finish else None,
    }


def _decisions(events: list[Event]) -> list[str]:
    """Every written decision (stop, exhausted, skip) as the logs render it."""
    from campaign.loop.render import decision_views

    return [d["text"] for d in decision_views(events)]


def _dominant(events: list[Event]) -> str | None:
    """The largest phase of the latest profile: where the time goes now (exhausted or not)."""
    shares = _data(last_of(events, "profile")).get("shares") or {}
    shares = {k: v for k, v in shares.items() if isinstance(v, (int, float))}
    return max(shares, key=shares.get) if shares else None


def summary(events: list[Event]) -> dict[str, Any]:
    init, finish, baseline = _data(first_of(events, "init")), _data(last_of(events, "finish")), _data(first_of(events, "baseline"))
    rows = iteration_rows(events)
    kept = [r for r in rows if r["kept"]]
    final = finish.get("final_speedup")
    if final is None and kept:
        final = kept[-1]["cumulative"]
    target = init.get("target") or {}
    return {
        "name": init.get("name"),
        "target": target.get("name") if isinstance(target, dict) else target,
        "goal_speedup": init.get("goal_speedup"),
        "iterations": len(rows),
        "kept": len(kept),
        "reverted": len(rows) - len(kept),
        "final_speedup": final,
        "final_ci": finish.get("ci"),
        "finished": bool(finish),
        "baseline_commit": baseline.get("commit") or init.get("base_commit"),
        "dominant_phase": _dominant(events) or finish.get("dominant_phase"),
        "full_case": full_case_result(events),
        "stop_reason": next((_data(e).get("reason") for e in reversed(of_type(events, "decide")) if _data(e).get("stop")), None),
        "decisions": _decisions(events),
        "median_gain": median([r["measured"] for r in kept if r["measured"]]) if kept and any(r["measured"] for r in kept) else None,
    }
