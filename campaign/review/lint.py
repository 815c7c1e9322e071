"""Review a campaign record: did the agent follow the method?

Each rule is a pure function over the journal's events (plain dicts as they
appear in ``journal.jsonl``: ``seq``, ``type``, ``iteration``, ``data``; each
``data`` read as its typed class, ``record_events.typed``) and returns a list
of ``Finding``. ``RULES`` lists them; ``check(events)`` runs
them all. Nothing here touches git, processes or the network; reading the
record folder is done by ``load_record`` at the edge
(``campaign.review.record_events``, re-exported here), and the per-iteration
rows and summary a reviewer reads are ``campaign.review.record_summary``.

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
from typing import Any, Callable, Iterable

from campaign.loop.record import Benchmark, Log, Plan, Postmortem, Profile, Skip
from campaign.review.record_events import (  # noqa: F401 - RecordError, load_record: the review's entry, re-exported
    Event, RecordError, first_of, is_kept, iteration_events, iterations, last_of, load_record, of_type, position,
    postmortem_factor, prediction_of, speedup_of, typed)

MIN_PHASE_SHARE = 0.05
FULL_EVERY = 3
FAILED_ATTEMPTS_BEFORE_SKIP = 3


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


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def rule_surprise(events: list[Event]) -> list[Finding]:
    findings = []
    its = iterations(events)
    finished = first_of(events, "finish") is not None
    for n in its:
        own = iteration_events(events, n)
        logs = of_type(own, "log")
        if logs:
            for log in logs:
                if not _text(typed(log, Log).surprise):
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
        thinks = [t for t in of_type(own, "think") if prediction_of(t) is not None]
        if not thinks:
            findings.append(Finding("prediction-after-result", n, "there is no numeric prediction (THINK) for this result"))
            continue
        first_think = thinks[0]
        if position(events, first_think) > position(events, bench):
            findings.append(
                Finding(
                    "prediction-after-result",
                    n,
                    f"the prediction ({prediction_of(first_think):g}x, seq {first_think.get('seq')}) was written after "
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
        ci = typed(bench, Benchmark).ci
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
        planned = typed(plan, Plan)
        phase, override = planned.phase, _text(planned.override)
        profiles = [p for p in of_type(events, "profile") if position(events, p) < position(events, plan)]
        if not profiles:
            findings.append(Finding("phase-under-5pct", n, f"phase {phase!r} was planned without any PROFILE before it"))
            continue
        latest = typed(profiles[-1], Profile)
        shares = latest.shares or _shares(latest.phases or {})
        share = shares.get(phase) if phase is not None else None  # a phase the plan does not name: no share
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
        predicted = prediction_of(first_of(own, "think"))
        measured = speedup_of(last_of(own, "benchmark"))
        if predicted is None or measured is None:
            continue
        ratio = measured / predicted
        if 1 / factor <= ratio <= factor:
            continue
        if not any(_postmortem_written(typed(log, Log).postmortem) for log in of_type(own, "log")):
            findings.append(
                Finding(
                    "postmortem-missing",
                    n,
                    f"predicted {predicted:.3g}x, measured {measured:.3g}x (off by {max(ratio, 1 / ratio):.2f}x > {factor:g}x) "
                    "and no postmortem was written",
                )
            )
    return findings


def _postmortem_written(pm: Postmortem | None) -> bool:
    """A why or a lesson (the record's schema admits an object or null; load_record refuses anything else)."""
    return pm is not None and bool(_text(pm.why) or _text(pm.lesson))


def rule_full_validation(events: list[Event]) -> list[Finding]:
    findings = []
    kept = [n for n in iterations(events) if is_kept(iteration_events(events, n))]
    for index, n in enumerate(kept, start=1):
        if index % FULL_EVERY:
            continue
        benches = of_type(iteration_events(events, n), "benchmark")
        if not any(typed(b, Benchmark).full is not None for b in benches):
            findings.append(
                Finding("full-validation-skipped", n, f"kept iteration #{index} (every {FULL_EVERY}rd) has no full-scale benchmark")
            )
    return findings


def rule_skip(events: list[Event]) -> list[Finding]:
    findings = []
    for skip in of_type(events, "skip"):
        skipped = typed(skip, Skip)
        bottleneck = _text(skipped.bottleneck)
        key = bottleneck.lower()
        failed = 0
        for n in iterations(events):
            own = [e for e in iteration_events(events, n) if position(events, e) < position(events, skip)]
            plan = last_of(own, "plan")
            if plan is None or is_kept(own):
                continue
            if not (of_type(own, "revert") or of_type(own, "log")):
                continue  # not finished: not a failed attempt yet
            planned = typed(plan, Plan)
            names = {_text(planned.bottleneck).lower(), _text(planned.phase).lower()}
            if key and key in names:
                failed += 1
        if failed < FAILED_ATTEMPTS_BEFORE_SKIP:
            claimed = skipped.failed_attempts
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
        writer = _writer(event)
        if writer.get("by") == "runner" and writer.get("run"):
            first, _ = spans.get(writer["run"], (index, index))
            spans[writer["run"]] = (first, index)
    findings = []
    for run, (first, last) in spans.items():
        for event in events[first + 1:last]:
            writer = _writer(event)
            if writer.get("by") == "runner" and writer.get("run") == run:
                continue
            who = writer.get("command") or writer.get("by") or "an unknown writer (no `writer`)"
            findings.append(Finding(
                "written-behind-runner", event.get("iteration"),
                f"event {event.get('seq')} ({event.get('type')}) was written by {who} while `campaign run` "
                f"(run {run[:8]}) drove the campaign: only the runner writes the record then"))
    return findings


def _writer(event: Event) -> dict[str, Any]:
    """Who wrote the event (its envelope's ``writer``); empty in older journals, which name no writer."""
    writer = event.get("writer")
    return writer if isinstance(writer, dict) else {}


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
