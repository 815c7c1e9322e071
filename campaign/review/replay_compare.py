"""What ``campaign replay`` compares: the record's attempts, and one re-run against its recording (pure).

``attempts_from_journal`` lists what the record says was tried;
``compare_attempt`` says whether a re-measured outcome agrees with the
recorded one (``campaign.review.agreement``); ``format_table`` is the human
view of a whole replay. Nothing here touches git, files or processes
(``campaign.review.replay_workspace`` and ``campaign.review.replay`` do).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from campaign.errors import UserError
from campaign.loop.record import FullCase
from campaign.review.agreement import Measured, agree


class ReplayError(UserError):
    """The record cannot be replayed (missing or altered patch, unknown source, bad range)."""


def parse_range(text: str | None, last: int) -> tuple[int, int]:
    """``"2..5"``, ``"3"``, ``"3.."``, ``"..4"`` -> inclusive (first, last) iteration numbers."""
    if not text:
        return 1, last
    try:
        if ".." in text:
            a, b = text.split("..", 1)
            lo, hi = int(a) if a.strip() else 1, int(b) if b.strip() else last
        else:
            lo = hi = int(text)
    except ValueError:
        raise ReplayError(f"--iterations {text!r} is not a range: write e.g. 2..5, 3, 3.. or ..4.") from None
    if lo < 1 or hi < lo or hi > last:
        raise ReplayError(f"--iterations {text!r} is outside the record's iterations 1..{last}.")
    return lo, hi


def compare_attempt(recorded: dict[str, Any], replayed: dict[str, Any]) -> dict[str, Any]:
    """One row of the replay table: do the recorded and the re-measured outcomes agree? (pure)"""
    rec_test, new_test = recorded.get("test_passed"), replayed.get("test_passed")
    rec_verdict = recorded.get("verdict") if rec_test else "test-failed"
    new_verdict = replayed.get("verdict") if new_test else "test-failed"
    if new_test and new_verdict is None:  # TEST passed where the recording failed: not benchmarked
        new_verdict = "test-passed"
    ci = recorded.get("ci")
    speedup = replayed.get("speedup")
    in_ci = None
    if ci and speedup is not None and rec_test and new_test:
        in_ci = ci[0] <= speedup <= ci[1]
    agreement = agree(_measured(rec_verdict, recorded), _measured(new_verdict, replayed))
    return {
        "iteration": recorded["iteration"],
        "title": recorded.get("title"),
        "recorded_verdict": rec_verdict,
        "replayed_verdict": new_verdict,
        "recorded_speedup": recorded.get("speedup"),
        "recorded_ci": ci,
        "replayed_speedup": speedup,
        "replayed_ci": replayed.get("ci"),
        "kept": recorded.get("kept"),
        "verdict_matches": rec_verdict == new_verdict,
        "in_recorded_ci": in_ci,
        "agrees": agreement.agrees,
        "agreement": agreement.how,
        "agreement_z": agreement.z,
        "agreement_note": agreement.note,
    }


def _measured(verdict: str | None, side: dict[str, Any]) -> Measured:
    ci = side.get("ci")
    return Measured(verdict, side.get("speedup"), tuple(ci) if ci else None, side.get("ci_level"), side.get("ci_kind"))


@dataclass
class Attempt:
    iteration: int
    title: str
    patch: str | None
    patch_sha256: str | None
    cases: list[str]
    test_passed: bool | None
    verdict: str | None
    speedup: float | None
    ci: list[float] | None
    kept: bool
    full: FullCase | None = None  # the benchmark's full-case result, if it had one
    ci_level: float | None = None
    ci_kind: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def recorded(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "title": self.title, "test_passed": self.test_passed,
                "verdict": self.verdict, "speedup": self.speedup, "ci": self.ci, "kept": self.kept,
                "ci_level": self.ci_level, "ci_kind": self.ci_kind}


def attempts_from_journal(events: list[dict[str, Any]]) -> list[Attempt]:
    """Every attempt (an iteration that reached `try` and was logged) in the record (pure)."""
    from campaign.loop import machine

    attempts = []
    for it in machine.derive(events).iterations:
        if it.implement is None or it.log is None:
            continue
        final_patch = ((it.commit.patch if it.commit else None) or (it.revert.patch if it.revert else None)
                       or it.implement.patch)
        summary, test = it.summary(), it.test
        failures = test.failures if test else ()
        agent_failure = next((f.message for f in failures if f.output == "(agent)"), None)
        attempts.append(Attempt(
            iteration=it.n, title=it.title, patch=final_patch, patch_sha256=it.implement.patch_sha256,
            cases=list((test.cases if test else None) or []), test_passed=test.passed if test else None,
            verdict=summary.verdict, speedup=summary.speedup, ci=summary.ci, kept=it.kept,
            full=it.benchmark.full if it.benchmark else None, ci_level=summary.ci_level,
            ci_kind=summary.ci_kind, extra={"agent_failure": agent_failure} if agent_failure else {},
        ))
    return attempts


def agreement_word(row: dict[str, Any]) -> str:
    """``agrees (same verdict)``, ``agrees (compatible)``, ``DISAGREES (opposite)``, or n/a."""
    if row.get("agrees") is None:
        return "n/a"
    return f"{'agrees' if row['agrees'] else 'DISAGREES'} ({row['agreement']})"


def format_table(result: dict[str, Any]) -> str:
    """The human view: recorded vs re-measured, one line per iteration."""

    def x(value):
        return "-" if value is None else f"{value:.2f}x"

    def ci(value):
        return "-" if not value else f"{value[0]:.2f}-{value[1]:.2f}"

    lines = [
        f"replay of {result['record']}",
        f"baseline reproduced: {'yes' if result['baseline_reproduced'] else 'NO'}",
        "",
        f"{'iter':>4}  {'recorded':<13} {'replayed':<13} {'rec speedup':>11} {'rec interval':>13} {'replayed':>9}  {'inside':<6}  {'agreement':<24}  title",
    ]
    for row in result["rows"]:
        in_ci = {True: "yes", False: "NO", None: "-"}[row["in_recorded_ci"]]
        lines.append(
            f"{row['iteration']:>4}  {row['recorded_verdict'] or '-':<13} {row['replayed_verdict'] or '-':<13} "
            f"{x(row['recorded_speedup']):>11} {ci(row['recorded_ci']):>13} {x(row['replayed_speedup']):>9}  "
            f"{in_ci:<6}  {agreement_word(row):<24}  {(row['title'] or '')[:50]}"
        )
        if row.get("agreement_note"):
            lines.append(f"      {row['agreement_note']}")
        for diff in row.get("environment_differences") or []:
            lines.append(f"      outside the recorded interval; the machine differs: {diff}")
    lines.append("")
    renders = result["renders_identical"]
    lines.append("logs re-rendered identically: " + ", ".join(f"{k} {'yes' if v else 'NO'}" for k, v in sorted(renders.items())))
    if result["environment_differences"]:
        lines.append("environment vs the recording: " + "; ".join(result["environment_differences"]))
    lines.append("REPLAY AGREES" if result["ok"] else "REPLAY DISAGREES (see DISAGREES above)")
    return "\n".join(lines)
