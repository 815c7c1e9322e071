"""``campaign replay``: rebuild a campaign from its record and re-verify every step.

From the record alone (the baseline snapshot + ``patches/`` + the journal)
a fresh git workspace is built in a temporary directory; the baseline's
outputs are re-computed and checked against the recorded ones; then every
attempt, kept or reverted, is re-applied on top of the last kept state and
re-run through TEST and BENCHMARK with the same code the loop uses. Recorded
and re-measured outcomes must agree (``campaign.review.agreement``: compatible
results agree whatever their labels); a speedup outside the recorded
confidence interval is flagged with the environment differences that may
explain it. Finally the logs are re-rendered from the journal and compared
byte for byte with the recorded ones.

Replay executes the record's code, so it runs a record only when this
machine made it exactly as it is now (the digest of its manifest - every
snapshot file, patch, the journal and the baseline - is in the trust store,
``campaign.review.trust``) or with ``trust=True`` (``--trust``).
"""

from __future__ import annotations

import functools
import hashlib
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from campaign.errors import UserError
from campaign.review.agreement import Measured, agree

Progress = Callable[[str], None]


class ReplayError(UserError):
    """The record cannot be replayed (missing or altered patch, unknown source, bad range)."""


# -- trust (campaign.review.trust) ------------------------------------------------------


def remember_trusted(record_dir: Path) -> str:
    """Mark a record this machine produced as trusted (called when a run, demo or finish ends)."""
    from campaign.review.trust import remember_trusted as remember

    return remember(record_dir)


# -- pure helpers ----------------------------------------------------------------------


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
    full: dict[str, Any] | None = None
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
            full=it.benchmark.get("full") if it.benchmark else None, ci_level=summary.ci_level,
            ci_kind=summary.ci_kind, extra={"agent_failure": agent_failure} if agent_failure else {},
        ))
    return attempts


# -- the replay ------------------------------------------------------------------------


def _git(repo_dir: Path):
    import git

    repo = git.Repo.init(repo_dir)
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "campaign replay")
        cfg.set_value("user", "email", "replay@campaign.invalid")
    return repo


def _commit_all(repo, message: str) -> str:
    repo.git.add("-A")
    repo.git.commit("-q", "--allow-empty", "-m", message)
    return repo.head.commit.hexsha


def build_workspace(record_dir: Path, dest: Path) -> Any:
    """A fresh git repository holding the record's baseline snapshot, committed."""
    snapshot = record_dir / "baseline_snapshot"
    if snapshot.is_dir():  # an older record's loose folder (the archive's tarfile filter refuses such links itself)
        from campaign.loop.tree_checks import symlinks_leaving

        leaving = symlinks_leaving(snapshot, [p.relative_to(snapshot).as_posix() for p in snapshot.rglob("*")])
        if leaving:  # their targets are not in the record, so neither its manifest nor the user's trust covers them
            raise ReplayError(f"the baseline snapshot holds symlinks that leave it ({', '.join(leaving[:5])}): "
                              f"replay would run code the record does not hold. Replace them with the files themselves.")
    from campaign.measure.baseline import BaselineError, extract_snapshot

    try:
        extract_snapshot(record_dir, dest)
    except BaselineError as exc:
        raise ReplayError(f"{exc} It cannot be rebuilt.") from None
    repo = _git(dest)
    _commit_all(repo, "replay: baseline snapshot")
    return repo


def _verified_patch(record_dir: Path, attempt: Attempt) -> Path:
    if not attempt.patch:
        raise ReplayError(f"iteration {attempt.iteration}: the journal names no patch; the record cannot be replayed.")
    path = record_dir / attempt.patch
    if not path.exists():
        raise ReplayError(f"iteration {attempt.iteration}: its patch {attempt.patch} is missing from the record; "
                          f"replay stops here.")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if attempt.patch_sha256 and digest != attempt.patch_sha256:
        raise ReplayError(f"iteration {attempt.iteration}: its patch {attempt.patch} was altered (sha256 "
                          f"{digest[:12]} != recorded {attempt.patch_sha256[:12]}); replay stops here.")
    return path


def _apply(repo, patch: Path) -> None:
    if patch.stat().st_size == 0:
        return
    repo.git.apply("--whitespace=nowarn", str(patch))


def _revert(repo) -> None:
    repo.git.reset("-q", "--hard", "HEAD")
    repo.git.clean("-qfd")


def check_renders(record_dir: Path, events: list[dict[str, Any]]) -> dict[str, bool]:
    """Re-render the logs from the journal; True per file when identical to the recorded one."""
    from campaign.loop.render import render_all

    result = {}
    for name, text in render_all(events).items():
        path = record_dir / name
        result[name] = path.exists() and path.read_text() == text
    return result


def replay(
    record_dir: Path,
    iterations: str | None = None,
    trust: bool = False,
    progress: Progress | None = None,
    keep_workspace: Path | None = None,
) -> dict[str, Any]:
    """Replay a record; returns the table and the overall agreement (``ok``)."""
    from campaign.measure.baseline import baseline_outputs, load_baseline
    from campaign.measure.environment import collect_environment, environment_differences
    from campaign.loop.journal import Journal
    from campaign.loop.steps.benchmark import benchmark_change
    from campaign.loop.steps.testing import test_change
    from campaign.plugins.target import TargetError
    from campaign.plugins.loading import load_target

    say = progress or (lambda line: None)
    record_dir = Path(record_dir).resolve()
    if not (record_dir / "journal.jsonl").exists():
        raise ReplayError(f"{record_dir} is not a campaign record (no journal.jsonl).")
    if not trust:
        from campaign.review.trust import is_trusted, untrusted_reason

        if not is_trusted(record_dir):
            raise ReplayError(f"{untrusted_reason(record_dir)}. Read it first; then run again with --trust.")
    events = Journal(record_dir).events()
    from campaign.loop import machine

    state = machine.derive(events)
    if state.init is None or state.baseline is None:
        raise ReplayError(f"{record_dir}: the record has no init or baseline event; nothing to replay.")
    attempts = attempts_from_journal(events)
    if not attempts:
        raise ReplayError(f"{record_dir}: the record holds no attempt to replay.")
    lo, hi = parse_range(iterations, attempts[-1].iteration)
    for attempt in attempts:  # check every patch before spending minutes measuring
        _verified_patch(record_dir, attempt)

    workdir = Path(keep_workspace) if keep_workspace else Path(tempfile.mkdtemp(prefix="campaign-replay-"))
    rows: list[dict[str, Any]] = []
    try:
        repo = build_workspace(record_dir, workdir)
        base_commit = last_kept = repo.head.commit.hexsha
        try:
            target = load_target(state.init["target_spec"], workdir)
            if hasattr(target, "env_also"):  # the project's .venv is beside the record, not in the rebuilt copy
                from campaign.loop.record_store import project_of

                target.env_also = (project_of(record_dir),)
        except TargetError as exc:
            raise ReplayError(str(exc)) from None
        expected_for = functools.partial(baseline_outputs, record_dir)
        say("baseline: re-running the snapshot and checking its outputs against the recorded baseline...")
        base_check = test_change(target, workdir, sorted(load_baseline(record_dir)["cases"]), expected_for, [])
        for attempt in attempts:
            patch = _verified_patch(record_dir, attempt)
            measured = lo <= attempt.iteration <= hi
            if not measured:
                if attempt.kept:
                    _apply(repo, patch)
                    last_kept = _commit_all(repo, f"replay iter {attempt.iteration} (not re-measured)")
                continue
            if attempt.extra.get("agent_failure"):
                # The agent failed at IMPLEMENT: the recorded outcome was its crash, not a measurement, so no
                # re-run can agree or disagree with it. What it left behind (if anything) is re-tested for
                # information; nothing is claimed as an agreement nobody measured.
                row = compare_attempt(attempt.recorded(), {"test_passed": False})
                row.update(agent_failure=attempt.extra["agent_failure"], recorded_verdict="agent-failed",
                           replayed_verdict="not re-run", verdict_matches=None, agrees=None,
                           agreement="not re-run")
                if patch.stat().st_size:
                    _apply(repo, patch)
                    test = test_change(target, workdir, attempt.cases or [target.fast_case], expected_for,
                                       _out_of_scope(repo, target))
                    row["replayed_verdict"] = "test-passed" if test["passed"] else "test-failed"
                    repo.git.checkout("--", ".")
                    repo.git.clean("-fdq")
                rows.append(row)
                say(f"[iter {attempt.iteration}] the agent failed at IMPLEMENT (recorded); what it left: "
                    f"{row['replayed_verdict']}")
                continue
            say(f"[iter {attempt.iteration}] {attempt.title}: applying {patch.name}")
            _apply(repo, patch)
            cases = attempt.cases or [target.fast_case]
            test = test_change(target, workdir, cases, expected_for, _out_of_scope(repo, target),
                               lambda line: say(f"[iter {attempt.iteration}] {line}"))
            replayed: dict[str, Any] = {"test_passed": test["passed"]}
            if test["passed"] and attempt.test_passed:
                say(f"[iter {attempt.iteration}] BENCHMARK vs last kept and baseline...")
                bench = benchmark_change(target, workdir, last_kept, base_commit, cases[:1],
                                         lambda line: say(f"[iter {attempt.iteration}] {line}"))
                replayed.update(verdict=bench["verdict"], speedup=bench["speedup"], ci=bench["ci"],
                                ci_level=bench.get("ci_level"), ci_kind=bench.get("ci_kind"),
                                vs_baseline=bench.get("vs_baseline"), environment=bench.get("environment"))
            elif not test["passed"]:
                replayed["first_failure"] = (test.get("failures") or [{}])[0].get("message")
            row = compare_attempt(attempt.recorded(), replayed)
            if replayed.get("environment") and row["in_recorded_ci"] is False:
                recorded_env = (state.baseline.environment if state.baseline else None) or {}
                row["environment_differences"] = environment_differences(recorded_env, replayed["environment"])
            rows.append(row)
            say(f"[iter {attempt.iteration}] recorded {row['recorded_verdict']} vs replayed {row['replayed_verdict']}"
                f" -> {_agreement_word(row)}")
            if attempt.kept:
                last_kept = _commit_all(repo, f"replay iter {attempt.iteration}")
            else:
                _revert(repo)
    finally:
        if keep_workspace is None:
            shutil.rmtree(workdir, ignore_errors=True)
    renders = check_renders(record_dir, events)
    env_diff = environment_differences((state.baseline.environment if state.baseline else None) or {},
                                       collect_environment())
    ok = all(r["agrees"] is not False for r in rows) and base_check["passed"] and all(renders.values())
    return {
        "ok": ok,
        "record": str(record_dir),
        "iterations": [lo, hi],
        "baseline_reproduced": base_check["passed"],
        "baseline_failures": base_check.get("failures", [])[:5],
        "rows": rows,
        "renders_identical": renders,
        "environment_differences": env_diff,
        "workspace": str(workdir) if keep_workspace else None,
    }


def _out_of_scope(repo, target) -> list[str]:
    from campaign import vcs

    return vcs.changes(repo).outside(target.scope)


def _agreement_word(row: dict[str, Any]) -> str:
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
            f"{in_ci:<6}  {_agreement_word(row):<24}  {(row['title'] or '')[:50]}"
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
