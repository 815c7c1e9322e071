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
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from campaign.review.replay_compare import (  # noqa: F401 - the command's API: `campaign.review.replay.format_table`
    Attempt, ReplayError, agreement_word, attempts_from_journal, compare_attempt, format_table, parse_range)
from campaign.review.replay_workspace import (
    apply_patch, build_workspace, commit_all, out_of_scope, revert_changes, verified_patch)

Progress = Callable[[str], None]


def remember_trusted(record_dir: Path) -> str:
    """Mark a record this machine produced as trusted (called when a run, demo or finish ends)."""
    from campaign.review.trust import remember_trusted as remember

    return remember(record_dir)


def check_renders(record_dir: Path, events: list[dict[str, Any]]) -> dict[str, bool]:
    """Re-render the logs from the journal; True per file when identical to the recorded one."""
    from campaign.loop.render import render_all

    result = {}
    for name, text in render_all(events).items():
        path = record_dir / name
        result[name] = path.exists() and path.read_text() == text
    return result


def _load(record_dir: Path, trust: bool):
    """The record's events, state and attempts; ``ReplayError`` when it is not one, not trusted or holds nothing."""
    from campaign.loop import machine
    from campaign.loop.journal import Journal

    if not (record_dir / "journal.jsonl").exists():
        raise ReplayError(f"{record_dir} is not a campaign record (no journal.jsonl).")
    if not trust:
        from campaign.review.trust import is_trusted, untrusted_reason

        if not is_trusted(record_dir):
            raise ReplayError(f"{untrusted_reason(record_dir)}. Read it first; then run again with --trust.")
    events = Journal(record_dir).events()
    state = machine.derive(events)
    if state.init is None or state.baseline is None:
        raise ReplayError(f"{record_dir}: the record has no init or baseline event; nothing to replay.")
    attempts = attempts_from_journal(events)
    if not attempts:
        raise ReplayError(f"{record_dir}: the record holds no attempt to replay.")
    return events, state, attempts


def _load_target(state, workdir: Path, record_dir: Path):
    from campaign.plugins.loading import load_target
    from campaign.plugins.target import TargetError

    try:
        target = load_target(state.init["target_spec"], workdir)
        if hasattr(target, "env_also"):  # the project's .venv is beside the record, not in the rebuilt copy
            from campaign.loop.record_store import project_of

            target.env_also = (project_of(record_dir),)
    except TargetError as exc:
        raise ReplayError(str(exc)) from None
    return target


@dataclass
class _Replayer:
    """One replay under way: the rebuilt workspace, the target, and the last kept commit it builds on."""

    record_dir: Path
    workdir: Path
    repo: Any
    target: Any
    recorded_env: dict[str, Any]
    say: Progress
    base_commit: str
    last_kept: str

    @property
    def expected_for(self) -> Callable[[str], Any]:
        """The recorded baseline's outputs of a case: what TEST compares against."""
        from campaign.measure.baseline import baseline_outputs

        return functools.partial(baseline_outputs, self.record_dir)

    def check_baseline(self) -> dict[str, Any]:
        from campaign.loop.steps.testing import test_change
        from campaign.measure.baseline import load_baseline

        self.say("baseline: re-running the snapshot and checking its outputs against the recorded baseline...")
        return test_change(self.target, self.workdir, sorted(load_baseline(self.record_dir)["cases"]),
                           self.expected_for, [])

    def skip(self, attempt: Attempt, patch: Path) -> None:
        """Outside the range: a kept change is applied (later ones build on it), nothing is measured."""
        if attempt.kept:
            apply_patch(self.repo, patch)
            self.last_kept = commit_all(self.repo, f"replay iter {attempt.iteration} (not re-measured)")

    def agent_failed(self, attempt: Attempt, patch: Path) -> dict[str, Any]:
        """The agent failed at IMPLEMENT: the recorded outcome was its crash, not a measurement, so no re-run can
        agree or disagree with it. What it left behind (if anything) is re-tested for information; nothing is
        claimed as an agreement nobody measured."""
        from campaign.loop.steps.testing import test_change

        row = compare_attempt(attempt.recorded(), {"test_passed": False})
        row.update(agent_failure=attempt.extra["agent_failure"], recorded_verdict="agent-failed",
                   replayed_verdict="not re-run", verdict_matches=None, agrees=None, agreement="not re-run")
        if patch.stat().st_size:
            apply_patch(self.repo, patch)
            test = test_change(self.target, self.workdir, attempt.cases or [self.target.fast_case],
                               self.expected_for, out_of_scope(self.repo, self.target))
            row["replayed_verdict"] = "test-passed" if test["passed"] else "test-failed"
            self.repo.git.checkout("--", ".")
            self.repo.git.clean("-fdq")
        self.say(f"[iter {attempt.iteration}] the agent failed at IMPLEMENT (recorded); what it left: "
                 f"{row['replayed_verdict']}")
        return row

    def remeasure(self, attempt: Attempt, patch: Path) -> dict[str, Any]:
        """TEST and BENCHMARK the attempt as the loop did; its row; then keep or revert it as the record did."""
        from campaign.loop.steps.testing import test_change

        def tell(line: str) -> None:
            self.say(f"[iter {attempt.iteration}] {line}")

        self.say(f"[iter {attempt.iteration}] {attempt.title}: applying {patch.name}")
        apply_patch(self.repo, patch)
        cases = attempt.cases or [self.target.fast_case]
        test = test_change(self.target, self.workdir, cases, self.expected_for, out_of_scope(self.repo, self.target),
                           tell)
        replayed: dict[str, Any] = {"test_passed": test["passed"]}
        if test["passed"] and attempt.test_passed:
            self.say(f"[iter {attempt.iteration}] BENCHMARK vs last kept and baseline...")
            replayed.update(self._benchmark(cases, tell))
        elif not test["passed"]:
            replayed["first_failure"] = (test.get("failures") or [{}])[0].get("message")
        row = compare_attempt(attempt.recorded(), replayed)
        if replayed.get("environment") and row["in_recorded_ci"] is False:
            from campaign.measure.environment import environment_differences

            row["environment_differences"] = environment_differences(self.recorded_env, replayed["environment"])
        self.say(f"[iter {attempt.iteration}] recorded {row['recorded_verdict']} vs replayed "
                 f"{row['replayed_verdict']} -> {agreement_word(row)}")
        if attempt.kept:
            self.last_kept = commit_all(self.repo, f"replay iter {attempt.iteration}")
        else:
            revert_changes(self.repo)
        return row

    def _benchmark(self, cases: list[str], tell: Progress) -> dict[str, Any]:
        from campaign.loop.steps.benchmark import benchmark_change

        bench = benchmark_change(self.target, self.workdir, self.last_kept, self.base_commit, cases[:1], tell)
        return {"verdict": bench["verdict"], "speedup": bench["speedup"], "ci": bench["ci"],
                "ci_level": bench.get("ci_level"), "ci_kind": bench.get("ci_kind"),
                "vs_baseline": bench.get("vs_baseline"), "environment": bench.get("environment")}


def _run(record_dir: Path, workdir: Path, state, attempts: list[Attempt], first_last: tuple[int, int],
         say: Progress) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Rebuild the workspace, check the baseline, and replay every attempt: (baseline check, rows)."""
    lo, hi = first_last
    repo = build_workspace(record_dir, workdir)
    head = repo.head.commit.hexsha
    target = _load_target(state, workdir, record_dir)
    recorded_env = (state.baseline.environment if state.baseline else None) or {}
    replayer = _Replayer(record_dir, workdir, repo, target, recorded_env, say, base_commit=head, last_kept=head)
    base_check = replayer.check_baseline()
    rows = []
    for attempt in attempts:
        patch = verified_patch(record_dir, attempt)
        if not lo <= attempt.iteration <= hi:
            replayer.skip(attempt, patch)
        elif attempt.extra.get("agent_failure"):
            rows.append(replayer.agent_failed(attempt, patch))
        else:
            rows.append(replayer.remeasure(attempt, patch))
    return base_check, rows


def replay(
    record_dir: Path,
    iterations: str | None = None,
    trust: bool = False,
    progress: Progress | None = None,
    keep_workspace: Path | None = None,
) -> dict[str, Any]:
    """Replay a record; returns the table and the overall agreement (``ok``)."""
    from campaign.measure.environment import collect_environment, environment_differences

    say = progress or (lambda line: None)
    record_dir = Path(record_dir).resolve()
    events, state, attempts = _load(record_dir, trust)
    lo, hi = parse_range(iterations, attempts[-1].iteration)
    for attempt in attempts:  # check every patch before spending minutes measuring
        verified_patch(record_dir, attempt)

    workdir = Path(keep_workspace) if keep_workspace else Path(tempfile.mkdtemp(prefix="campaign-replay-"))
    try:
        base_check, rows = _run(record_dir, workdir, state, attempts, (lo, hi), say)
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
