"""One campaign, step by step: the library behind the loop commands (and ``campaign run``).

``init_campaign(...)`` starts a campaign; ``Campaign.open(workspace, name)``
opens one. Each step is a method that checks the step is due (``StepError``,
exit code 2, otherwise), applies the method's rules (``RuleError``), does the
work, appends the step's events to the journal, re-renders the logs and
returns a plain dict. User mistakes raise the classes of ``campaign.errors``.

Crash safety: every command holds the campaign lock; every multi-part step
writes its decision to the journal FIRST and then acts, so the next command
can finish the job idempotently:

* LOG writes the ``log`` event, then commits (kept) or reverts. A command
  that finds "log but no commit/revert" completes it (a commit already made
  is found by its message on HEAD's line and only recorded);
* ``try`` interrupted anywhere is simply run again (the step stays TRY);
* ``init`` writes the ``init`` event before touching git; ``campaign init
  --resume`` completes tag, branch, snapshot, baseline and start commit;
* ``finish`` writes the ``finish`` event, then commits, tags and merges;
  running ``campaign finish`` again completes what is missing.

Benchmark budgets come from the environment (for tests and quick trials):
``CAMPAIGN_BENCH_MAX_BLOCKS`` (default 30), ``CAMPAIGN_BENCH_MIN_BLOCKS`` (3),
``CAMPAIGN_BENCH_BUDGET_S`` (120), ``CAMPAIGN_BENCH_PROCESS_S`` (0.1: seconds of warm
work per measured process), ``CAMPAIGN_BASELINE_REPEAT`` (3).

Heavy modules (GitPython, Jinja2, numpy, the measurement layer) are imported
inside the methods that need them: ``status()`` reads the journal only.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

from campaign.loop import machine as loop

from campaign.loop import stopping
from campaign.errors import MeasureError, NoCampaignError, RuleError, StepError, UserError, VcsError
from campaign.loop.journal import HOLDER_NAME, CampaignLock, Journal, command_line
from campaign.loop.machine import Step

RECORD_ROOT = "optim"
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RECORD_GITIGNORE = ".lock\n.lock.holder\n*.tmp\n"
FULL_EVERY = 3  # every 3rd kept iteration also benchmarks the full-scale case

Progress = Callable[[str], None] | None


def _env_number(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


def bench_budget() -> dict[str, Any]:
    budget = {
        "max_blocks": int(_env_number("CAMPAIGN_BENCH_MAX_BLOCKS", 30)),
        "min_blocks": int(_env_number("CAMPAIGN_BENCH_MIN_BLOCKS", 3)),
        "budget_s": _env_number("CAMPAIGN_BENCH_BUDGET_S", 120),
    }
    if os.environ.get("CAMPAIGN_BENCH_PROCESS_S"):  # warm work per measured process (bench.TARGET_PROCESS_S)
        budget["process_s"] = _env_number("CAMPAIGN_BENCH_PROCESS_S", 0.1)
    return budget


def parse_speedup(value: Any) -> float:
    """A numeric prediction: 1.5, "1.5", "1.5x". Anything else is refused (no THINK without a number)."""
    if value is None or not str(value).strip():
        raise RuleError(
            "--predict is required: THINK pre-registers a numeric speedup (e.g. --predict 1.5 or --predict 1.5x) "
            "before the change is measured, so the result can be compared with it."
        )
    text = str(value).strip().lower().rstrip("x").strip()
    try:
        number = float(text)
    except ValueError:
        number = float("nan")
    if not math.isfinite(number) or number <= 0:
        raise RuleError(
            f"the prediction {value!r} is not a number. THINK pre-registers a numeric speedup "
            f"(e.g. --predict 1.5 or --predict 1.5x: the whole run 1.5 times faster) so the result "
            f"can be compared with it; write your best estimate."
        )
    return number


def _required_text(value: str | None, flag: str, why: str) -> str:
    if value is None or not str(value).strip():
        raise RuleError(f"{flag} is required and may not be empty: {why}")
    return str(value).strip()


def _jsonable_bound(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else value


def record_root(workspace: Path) -> Path:
    return Path(workspace) / RECORD_ROOT


def list_campaigns(workspace: Path) -> list[str]:
    root = record_root(workspace)
    if not root.is_dir():
        return []
    return sorted(p.parent.name for p in root.glob("*/journal.jsonl"))


class Campaign:
    """An existing campaign: ``optim/<name>/`` in a workspace (a git repository)."""

    def __init__(self, workspace: Path, name: str):
        self.workspace = Path(workspace).resolve()
        self.name = name
        self.record_rel = f"{RECORD_ROOT}/{name}"
        self.record_dir = self.workspace / RECORD_ROOT / name
        self.journal = Journal(self.record_dir)
        self.lock = CampaignLock(self.record_dir)
        self._target = None
        self._repo = None

    # -- opening -------------------------------------------------------------------

    @classmethod
    def open(cls, workspace: Path | str = ".", name: str | None = None) -> "Campaign":
        workspace = Path(workspace)
        names = list_campaigns(workspace)
        if name is None:
            if not names:
                raise NoCampaignError(
                    f"no campaign in {workspace.resolve()} (nothing under {RECORD_ROOT}/). Start one with "
                    f"`campaign init --target SPEC` (see `campaign targets`), or pass --dir for another workspace."
                )
            if len(names) > 1:
                raise NoCampaignError(
                    f"{workspace.resolve()} holds several campaigns ({', '.join(names)}); name one with --name."
                )
            name = names[0]
        elif name not in names:
            raise NoCampaignError(
                f"no campaign named {name!r} in {workspace.resolve()} (found: {', '.join(names) or 'none'}). "
                f"Start it with `campaign init --target SPEC --name {name}`."
            )
        return cls(workspace, name)

    # -- derived state -------------------------------------------------------------

    def state(self) -> loop.State:
        return loop.derive(self.journal.events())

    @property
    def cli_extra(self) -> str:
        """``--dir`` to add to suggested commands when the workspace is not the current directory."""
        try:
            here = Path.cwd().resolve()
        except OSError:
            here = None
        return "" if here == self.workspace else f"--dir {shlex.quote(str(self.workspace))}"

    def command_for(self, state: loop.State) -> str:
        return loop.expected_command(state.step, state, self.cli_extra)

    def _next(self, state: loop.State | None = None) -> dict[str, str]:
        state = state or self.state()
        return {"step": state.step.value, "description": loop.DESCRIPTIONS[state.step], "command": self.command_for(state)}

    def _status_next(self, state: loop.State) -> dict[str, str]:
        """What ``status`` names next. For a campaign a ``campaign run`` drives: ``campaign run --resume``
        when that run has stopped (it continues with the recorded agent), or that the run is still at it;
        the manual step command beside it either way."""
        from campaign.measure.procs import process_alive

        nxt = self._next(state)
        if state.run is None or state.step is Step.DONE:
            return nxt
        agent, pid = state.run.get("agent"), state.run.get("pid")
        if process_alive(pid, state.run.get("started")):
            return {**nxt, "manual": nxt["command"], "command": "campaign status",
                    "description": f"{nxt['description']}: `campaign run` (pid {pid}, agent {agent!r}) is doing "
                                   f"it now; watch with `campaign status`"}
        return {**nxt, "manual": nxt["command"], "command": " ".join(["campaign run --resume", self.cli_extra]).strip(),
                "description": f"{nxt['description']} (a `campaign run` with agent {agent!r} drove this campaign "
                               f"and stopped: resume it, or run the step by hand: {nxt['command']})"}

    @property
    def target(self):
        if self._target is None:
            from campaign.plugins.target import TargetError
            from campaign.plugins.loading import load_target

            spec = (self.state().init or {}).get("target_spec")
            try:
                self._target = load_target(spec, self.workspace)
            except TargetError as exc:
                raise UserError(str(exc)) from None
        return self._target

    @property
    def repo(self):
        if self._repo is None:
            from campaign import vcs

            self._repo = vcs.open_repo(self.workspace)
        return self._repo

    # -- writing -------------------------------------------------------------------

    def _record(self, type_: str, data: dict[str, Any], iteration: int | None = None) -> dict[str, Any]:
        event = self.journal.append(type_, data, iteration)
        self.render_files()
        return event

    def render_files(self) -> list[str]:
        from campaign.loop.render import write_all

        return write_all(self.record_dir, self.journal.events())

    @contextmanager
    def _step(self, command: str) -> Iterator[loop.State]:
        """Hold the lock, finish an interrupted commit/revert, check ``command`` may run now."""
        with self.lock:
            state = self._complete_pending(self.state())
            loop.check_command(command, state, self.cli_extra)
            yield state

    # -- INIT (resume) ---------------------------------------------------------------

    def _resume_init(self, progress: Progress = None) -> None:
        from campaign import vcs

        say = progress or (lambda line: None)
        state = self.state()
        init = state.init
        repo = self.repo
        vcs.ensure_tag(repo, init["pre_tag"], init["base_commit"])
        if repo.head.is_detached or repo.active_branch.name != init["branch"]:
            vcs.switch_to_new_branch(repo, init["branch"], init["base_commit"])
        if state.baseline is None:
            for leftover in ("baseline.json", "baseline_results", "baseline_snapshot"):  # an interrupted init's: redo
                path = self.record_dir / leftover
                if path.is_dir():
                    shutil.rmtree(path)
                elif path.exists():
                    path.unlink()
            say("recording the baseline (fast and full case)...")
            data = self._measure(lambda: self._record_baseline())
            data["commit"] = data.get("commit") or init["base_commit"]
            self._record("baseline", data)
            state = self.state()
        if state.start_commit is None:
            paths = [self.record_rel]
            agents = self.workspace / "AGENTS.md"
            if not agents.exists():
                agents.write_text(render_agents_md(self.name, self.target, init))
                paths.append("AGENTS.md")
            elif "AGENTS.md" in vcs.changes(repo).files:
                paths.append("AGENTS.md")
            (self.record_dir / ".gitignore").write_text(RECORD_GITIGNORE)
            self.render_files()
            message = f"campaign {self.name}: start (baseline recorded)"
            sha = vcs.commit_with_message(repo, message, init["base_commit"]) or vcs.commit_paths(repo, paths, message)
            self._record("commit", {"commit": sha, "message": message, "patch": None})

    def _record_baseline(self) -> dict[str, Any]:
        from campaign.measure.baseline import record_baseline

        target = self.target
        cases = [target.fast_case] + ([target.full_case] if target.full_case != target.fast_case else [])
        repeat = int(_env_number("CAMPAIGN_BASELINE_REPEAT", 3))
        return record_baseline(target, self.workspace, self.record_dir, cases, repeat=repeat)

    def _measure(self, func: Callable[[], Any]) -> Any:
        """Run a measurement; a failing workload, baseline or worktree becomes a one-paragraph MeasureError."""
        from campaign.measure.baseline import BaselineError
        from campaign.measure.workload import WorkloadError
        from campaign.measure.worktrees import WorktreeError

        try:
            return func()
        except (WorkloadError, BaselineError, WorktreeError) as exc:
            raise MeasureError(" ".join(str(exc).split())) from None

    # -- PROFILE -------------------------------------------------------------------

    def profile(self, lines: list[str] | tuple[str, ...] = ()) -> dict[str, Any]:
        with self._step("profile") as state:
            from campaign import vcs
            from campaign.measure.profiling import profile_workload

            target = self.target
            lines = list(lines) or list(getattr(target, "hot_functions", []) or [])
            data = self._measure(lambda: profile_workload(
                target, self.workspace, target.fast_case, lines=lines, timeout_s=target.timeout_s))
            data = dict(data)
            data.setdefault("commit", vcs.head_commit(self.repo))
            data.setdefault("case", target.fast_case)
            shares = data.get("shares") or {}
            amdahl = {p: _jsonable_bound(stopping.amdahl_bound(s)) for p, s in shares.items() if s is not None}
            data["amdahl"] = {**amdahl, **{k: _jsonable_bound(v) for k, v in (data.get("amdahl") or {}).items()}}
            iteration = len(state.iterations) + 1
            self._record("profile", data, iteration)
            return {
                "ok": True, "step": "profile", "iteration": iteration,
                "phases": data.get("phases"), "shares": shares, "amdahl": data["amdahl"],
                "total_s": data.get("total_s"), "top_functions": (data.get("top_functions") or [])[:10],
                "warnings": self._amdahl_warnings(self.state()),
                "next": self._next(),
            }

    # -- THINK ---------------------------------------------------------------------

    def think(self, hypothesis: str, options: list[str], chosen: str, predict: Any, risk: str) -> dict[str, Any]:
        with self._step("think") as state:
            predicted = parse_speedup(predict)
            hypothesis = _required_text(hypothesis, "--hypothesis", "what you think limits performance, and why.")
            options = [o.strip() for o in options or [] if o and o.strip()]
            if not options:
                raise RuleError("at least one --option is required: list the approaches you considered "
                                "(2-3, with pros/cons).")
            chosen = _required_text(chosen, "--chosen", "the approach you pick, and why.")
            risk = _required_text(risk, "--risk", "what could go wrong or invalidate the approach.")
            iteration = len(state.iterations) + 1
            data = {"hypothesis": hypothesis, "options": options, "chosen": chosen,
                    "predicted_speedup": predicted, "risk": risk}
            self._record("think", data, iteration)
            return {"ok": True, "step": "think", "iteration": iteration, "predicted_speedup": predicted, "next": self._next()}

    # -- PLAN ----------------------------------------------------------------------

    def plan(self, phase: str, change: str, bottleneck: str | None = None, override_amdahl: str | None = None) -> dict[str, Any]:
        with self._step("plan") as state:
            change = _required_text(change, "--change", "what you will change.")
            phase = _required_text(phase, "--phase", "the profiled phase the change attacks.")
            override = override_amdahl.strip() if override_amdahl and override_amdahl.strip() else None
            problem = plan_violation(state, phase, override)
            if problem:
                raise RuleError(problem)
            profile = state.last_profile or {}
            share = (profile.get("shares") or {}).get(phase)
            bound = (profile.get("amdahl") or {}).get(phase)
            if bound is None and share is not None:
                bound = stopping.amdahl_bound(share)
            needed = self._needed_speedup(state)
            warnings = []
            if bound is not None and needed is not None and bound < needed:
                warnings.append(
                    f"Amdahl: phase {phase!r} is {share:.0%} of the runtime, so even making it infinitely fast gives "
                    f"at most {bound:.2f}x, short of the {needed:.2f}x still needed for the goal: the goal needs "
                    f"more than this phase."
                )
            data = {"phase": phase, "change": change, "bottleneck": (bottleneck or "").strip() or None,
                    "phase_share": share, "amdahl_bound": _jsonable_bound(bound), "override": override,
                    "warnings": warnings}
            self._record("plan", data, state.current.n)
            return {"ok": True, "step": "plan", "iteration": state.current.n, "phase": phase,
                    "phase_share": share, "amdahl_bound": _jsonable_bound(bound), "override": override,
                    "warnings": warnings,
                    "scope": list(self.target.scope), "next": self._next()}

    def _needed_speedup(self, state: loop.State) -> float | None:
        goal = (state.init or {}).get("goal_speedup")
        if not goal:
            return None
        return goal / (state.cumulative or 1.0)

    def _amdahl_warnings(self, state: loop.State) -> list[str]:
        profile = state.last_profile or {}
        shares = profile.get("shares") or {}
        needed = self._needed_speedup(state)
        if not shares or needed is None or needed <= 1:
            return []
        open_phases = state.open_phases()
        if not open_phases:
            return []
        best = open_phases[0]
        bound = stopping.amdahl_bound(shares[best] or 0)
        if bound < needed:
            return [f"Amdahl: the largest open phase {best!r} ({shares[best]:.0%}) caps the whole-run speedup "
                    f"at {bound:.2f}x, short of the {needed:.2f}x still needed for the goal."]
        return []

    # -- IMPLEMENT + TEST + BENCHMARK ----------------------------------------------------

    def try_change(self, full: bool = False, progress: Progress = None, agent: str = "cli") -> dict[str, Any]:
        from campaign import vcs

        say = progress or (lambda line: None)
        with self._step("try") as state:
            it = state.current
            target = self.target
            repo = self.repo
            self._require_branch(state)
            head = vcs.head_commit(repo)
            if head != state.last_kept_commit:
                raise VcsError(
                    f"HEAD ({head[:10]}) is not the last kept commit ({(state.last_kept_commit or '?')[:10]}): a "
                    f"commit was made by hand. The campaign commits kept changes itself; undo yours, keeping the "
                    f"edits (`git reset --soft {(state.last_kept_commit or '')[:10]}`), then run `campaign try`."
                )
            found = vcs.changes(repo, exclude=[self.record_rel])
            if not found.files:
                raise UserError(
                    f"there is no change to try: the working tree equals the last kept commit. IMPLEMENT first: "
                    f"edit files in the target's scope ({', '.join(target.scope)}), then run `campaign try`."
                )
            patch_rel = f"patches/iter-{it.n:02d}.patch"
            sha = vcs.write_patch(repo, found.files, self.record_dir / patch_rel)
            out_of_scope = found.outside(target.scope)
            self._record("implement", {"files": found.files, "patch": patch_rel, "patch_sha256": sha,
                                       "out_of_scope": out_of_scope, "agent": agent}, it.n)
            full_due = bool(full) or (state.kept_count + 1) % FULL_EVERY == 0
            cases = [target.fast_case] + ([target.full_case] if full_due and target.full_case != target.fast_case else [])
            say(f"TEST: {', '.join(cases)} case(s) against the baseline outputs...")
            test = self._test(cases, out_of_scope)
            self._record("test", test, it.n)
            if not test["passed"]:
                return {"ok": False, "step": "try", "iteration": it.n, "files": found.files, "patch": patch_rel,
                        "test": test, "benchmark": None, "next": self._next()}
            say("BENCHMARK: candidate vs last kept and vs baseline, interleaved...")
            bench = self._measure(lambda: self._benchmark(state, cases, say))
            self._record("benchmark", bench, it.n)
            return {"ok": True, "step": "try", "iteration": it.n, "files": found.files, "patch": patch_rel,
                    "test": test, "benchmark": _bench_summary(bench), "next": self._next()}

    def _test(self, cases: list[str], out_of_scope: list[str]) -> dict[str, Any]:
        return test_change(self.target, self.workspace, cases, self._baseline_outputs, out_of_scope)

    def _baseline_outputs(self, case: str) -> dict[str, Any]:
        from campaign.measure.baseline import BaselineError, baseline_outputs

        try:
            return baseline_outputs(self.record_dir, case)
        except BaselineError as exc:
            raise UserError(f"{exc} The baseline is recorded once, at `campaign init`; restore "
                            f"{self.record_rel}/baseline.json from git.") from None

    def _benchmark(self, state: loop.State, cases: list[str], say: Callable[[str], None]) -> dict[str, Any]:
        return benchmark_change(self.target, self.workspace, state.last_kept_commit, state.init["base_commit"], cases, say)

    def record_tune(self, spec: str, run_tune: Callable[[float | None], dict[str, Any]]) -> dict[str, Any]:
        """A tune as the measurement of this iteration (``campaign tune --record``), while TRY is due.

        ``run_tune(predicted_speedup)`` returns the ``tune`` event data; it is
        journaled in the current iteration. The chosen values still go through
        IMPLEMENT (set as the defaults in the scope), TEST and BENCHMARK.
        """
        with self._step("try") as state:
            it = state.current
            if spec != state.init["target_spec"]:
                raise UserError(f"this campaign optimizes target {state.init['target_spec']!r}; tune that one "
                                f"(`campaign tune {state.init['target_spec']} --record ...`), not {spec!r}.")
            data = run_tune((it.think or {}).get("predicted_speedup"))
            self._record("tune", data, it.n)
            return {"step": "tune", "iteration": it.n, **data, "next": self._next()}

    def fail_attempt(self, reason: str, agent: str = "cli") -> dict[str, Any]:
        """Record an IMPLEMENT that failed (the agent crashed, hung or changed nothing) as a failed TEST.

        The iteration then goes through LOG like any failure: its Surprise is
        written, whatever it left in the tree is reverted and its diff kept.
        """
        from campaign import vcs

        with self._step("try") as state:
            it = state.current
            repo = self.repo
            found = vcs.changes(repo, exclude=[self.record_rel])
            patch_rel = f"patches/iter-{it.n:02d}.patch"
            sha = vcs.write_patch(repo, found.files, self.record_dir / patch_rel)
            self._record("implement", {"files": found.files, "patch": patch_rel, "patch_sha256": sha,
                                       "out_of_scope": found.outside(self.target.scope), "agent": agent}, it.n)
            test = {"passed": False, "cases": [], "test_command": None, "out_of_scope": [],
                    "failures": [{"output": "(agent)", "expected": None, "actual": None, "tolerance": None,
                                  "message": reason}]}
            self._record("test", test, it.n)
            return {"ok": False, "step": "try", "iteration": it.n, "test": test, "next": self._next()}

    # -- LOG -> COMMIT | REVERT ------------------------------------------------------------

    def log(self, surprise: str | None = None, notes: str | None = None, why: str | None = None,
            lesson: str | None = None, keep: str | None = None) -> dict[str, Any]:
        with self.lock:
            state = self.state()
            if state.step in (Step.COMMIT, Step.REVERT):  # an interrupted LOG: finish it, take no new input
                it = state.current
                state = self._complete_pending(state)
                return {"ok": True, "step": "log", "iteration": it.n, "completed": True, "kept": it.kept,
                        "message": f"completed the interrupted {'commit' if it.kept else 'revert'} of iteration {it.n}",
                        "next": self._next(state)}
            loop.check_command("log", state, self.cli_extra)
            if surprise is None or not str(surprise).strip():
                raise RuleError(
                    "--surprise is required and may not be empty: write what surprised you about this result "
                    "(prediction vs reality), or the literal word None if nothing did - but think first."
                )
            it = state.current
            test, bench = it.test or {}, it.benchmark or {}
            predicted = (it.think or {}).get("predicted_speedup")
            factor = (state.init or {}).get("postmortem_factor", stopping.POSTMORTEM_FACTOR)
            postmortem = None
            if stopping.postmortem_required(predicted, it.speedup, factor):
                if not (why and why.strip() and lesson and lesson.strip()):
                    raise RuleError(
                        f"a postmortem is required: the measured {it.speedup:.2f}x misses the predicted "
                        f"{predicted:.2f}x by more than a factor of {factor:g}. Add --why '<why it diverged>' "
                        f"--lesson '<what this teaches about the code>'."
                    )
            if (why and why.strip()) or (lesson and lesson.strip()):
                postmortem = {"why": (why or "").strip() or None, "lesson": (lesson or "").strip() or None}
            verdict = bench.get("verdict")
            keep_reason = keep.strip() if keep and keep.strip() else None
            if not test.get("passed"):
                kept = False
                if keep_reason:
                    raise RuleError("--keep is refused: the change failed TEST, and a failed change is never kept. "
                                    "Log it without --keep; it will be reverted and its diff kept in patches/.")
            elif verdict == "faster":
                kept = True
            elif verdict in ("same", "inconclusive"):
                kept = keep_reason is not None
            else:
                kept = False
                if keep_reason:
                    raise RuleError(f"--keep is refused: the benchmark says {verdict!r}, and a slower change is "
                                    f"never kept. Log it without --keep; it will be reverted.")
            if kept:
                self._check_tree_is_tested(it)
            data = {"surprise": str(surprise).strip(), "notes": (notes or "").strip() or None,
                    "postmortem": postmortem, "kept": kept, "keep_reason": keep_reason if kept else None}
            self._record("log", data, it.n)
            state = self._complete_pending(self.state())
            current = state.current
            return {"ok": True, "step": "log", "iteration": it.n, "kept": kept, "verdict": verdict,
                    "commit": (current.commit or {}).get("commit"), "revert": current.revert,
                    "next": self._next(state)}

    def _check_tree_is_tested(self, it: loop.Iteration) -> None:
        from campaign import vcs

        found = vcs.changes(self.repo, exclude=[self.record_rel])
        import hashlib

        now = hashlib.sha256(vcs.diff_patch(self.repo, found.files)).hexdigest()
        if now != (it.implement or {}).get("patch_sha256"):
            raise RuleError(
                "the working tree changed since `campaign try` measured it, so the change to commit is not the "
                "one that was tested. Restore the tested state (the diff is in "
                f"{self.record_rel}/{(it.implement or {}).get('patch')}) and run `campaign log` again."
            )

    def _require_branch(self, state: loop.State) -> None:
        """Commits, reverts and measurements happen on the campaign branch only."""
        branch = (state.init or {}).get("branch")
        repo = self.repo
        current = None if repo.head.is_detached else repo.active_branch.name
        if branch and current != branch:
            raise VcsError(
                f"the repository is on {current or 'a detached HEAD'}, not on the campaign branch {branch}. "
                f"Switch back (`git switch {branch}`) and run the command again; nothing was changed."
            )

    def _complete_pending(self, state: loop.State) -> loop.State:
        """Finish a LOG whose commit or revert was interrupted (idempotent)."""
        if state.step in (Step.COMMIT, Step.REVERT):
            self._require_branch(state)
        if state.step is Step.COMMIT:
            self._commit_kept(state)
        elif state.step is Step.REVERT:
            self._revert(state)
        else:
            return state
        return self.state()

    def _final_patch(self, it: loop.Iteration, outcome: str) -> str | None:
        src_rel = (it.implement or {}).get("patch")
        if not src_rel:
            return None
        dest_rel = f"patches/iter-{it.n:02d}-{outcome}.patch"
        src, dest = self.record_dir / src_rel, self.record_dir / dest_rel
        if src.exists() and src != dest:
            os.replace(src, dest)
        return dest_rel

    def _commit_kept(self, state: loop.State) -> None:
        from campaign import vcs

        it = state.current
        bench = it.benchmark or {}
        ci = bench.get("ci") or [None, None]
        title = " ".join(it.title.split())[:72]
        ci_text = f", CI {ci[0]:.2f}-{ci[1]:.2f}" if ci[0] is not None and ci[1] is not None else ""
        message = f"campaign {self.name} iter {it.n}: {title} ({(it.speedup or 0):.2f}x{ci_text})"
        patch = self._final_patch(it, "kept")
        self.render_files()
        repo = self.repo
        sha = vcs.commit_with_message(repo, f"campaign {self.name} iter {it.n}:", state.last_kept_commit)
        if sha is None:
            found = vcs.changes(repo, exclude=[self.record_rel])
            sha = vcs.commit_paths(repo, found.files + [self.record_rel], message)
        self._record("commit", {"commit": sha, "message": message, "patch": patch}, it.n)

    def _revert(self, state: loop.State) -> None:
        from campaign import vcs

        it = state.current
        test, bench = it.test or {}, it.benchmark or {}
        if test.get("out_of_scope"):
            reason = "out-of-scope"
        elif not test.get("passed"):
            reason = "test-failed"
        elif bench.get("verdict") == "slower":
            reason = "slower"
        else:
            reason = "not-faster"
        patch = self._final_patch(it, "reverted")
        repo = self.repo
        vcs.restore(repo, vcs.changes(repo, exclude=[self.record_rel]))
        self._record("revert", {"to_commit": state.last_kept_commit, "reason": reason, "patch": patch}, it.n)

    # -- DECIDE / SKIP ---------------------------------------------------------------

    def decide(self, exhausted: bool = False, why: str | None = None, phase: str | None = None) -> dict[str, Any]:
        with self._step("decide") as state:
            between = state.step in (Step.PROFILE, Step.THINK)
            if between and not exhausted:
                due = self.command_for(state)
                raise StepError(
                    f"`campaign decide` may not come next: the step due is {loop.DESCRIPTIONS[state.step]}. "
                    f"Between iterations only `campaign decide --exhausted --why T` (no idea left for a phase) "
                    f"is allowed. Run: {due}", state.step.value, due)
            if exhausted:
                why = _required_text(why, "--why", "say why the current bottleneck is exhausted (a future agent may find a way).")
            it = state.current
            if between:  # no attempt in progress: the named phase, or the largest open one
                open_phases = state.open_phases()
                phase = phase or (open_phases[0] if open_phases else None)
                if phase is None or phase not in open_phases:
                    raise RuleError(f"phase {phase!r} is not an open phase of the latest profile "
                                    f"(open: {', '.join(open_phases) or 'none'}); name one with --phase.")
            else:
                phase = (it.skip or {}).get("bottleneck") or it.phase
            done = list(state.exhausted) + list(state.skipped) + ([phase] if exhausted and phase else [])
            shares = (state.last_profile or {}).get("shares") or {}
            init = state.init or {}
            decision = stopping.decide(
                state.attempts(), state.cumulative, init.get("goal_speedup") or float("inf"),
                init.get("max_iterations") or stopping.DEFAULT_MAX_ITERATIONS, shares, done,
                min_gain=init.get("min_gain") or stopping.MIN_GAIN,
            )
            data = {**decision.to_dict(), "exhausted": bool(exhausted), "phase": phase if exhausted else None,
                    "why": why if exhausted else None, "cumulative_speedup": state.cumulative}
            n = None if between or it is None else it.n
            self._record("decide", data, n)
            return {"ok": True, "step": "decide", "iteration": n, **data, "next": self._next()}

    def skip(self, why: str) -> dict[str, Any]:
        with self._step("skip") as state:
            why = _required_text(why, "--why", "write why you are stuck on this bottleneck (a future agent may find a solution).")
            it = state.current
            phase = it.phase if it else None
            failed = stopping.failed_attempts_on(state.attempts(), phase) if phase else 0
            if not phase or failed < stopping.SKIP_AFTER:
                raise RuleError(
                    f"skip is allowed only after {stopping.SKIP_AFTER} failed attempts on one bottleneck; "
                    f"phase {phase!r} has {failed}. Keep trying a different approach (run the step due: "
                    f"{self.command_for(state)})."
                )
            data = {"bottleneck": phase, "why": why, "failed_attempts": failed}
            self._record("skip", data, it.n)
            return {"ok": True, "step": "skip", "iteration": it.n, **data, "next": self._next()}

    # -- FINISH ----------------------------------------------------------------------

    def finish(self, progress: Progress = None) -> dict[str, Any]:
        say = progress or (lambda line: None)
        with self._step("finish") as state:
            if state.finish is None:
                init = state.init
                say(f"FINISH: full case {self.target.full_case!r} vs {init['pre_tag']}...")
                full = self._measure(lambda: self._full_vs_baseline(state, say))
                shares = {k: v for k, v in ((state.last_profile or {}).get("shares") or {}).items() if v is not None}
                data = {"post_tag": f"{self.name}/post-optimization", "merged_into": init["start_branch"],
                        "final_speedup": state.cumulative, "ci": state.cumulative_ci, "full": full,
                        "dominant_phase": max(shares, key=shares.get) if shares else None}
                self._record("finish", data)
                state = self.state()
            self._complete_finish(state)
            return {"ok": True, "step": "finish", **state.finish, "next": self._next()}

    def _full_vs_baseline(self, state: loop.State, say: Callable[[str], None]) -> dict[str, Any]:
        from campaign.measure.bench import benchmark
        from campaign.measure.workload import build
        from campaign.measure.worktrees import worktree

        target = self.target
        with worktree(self.workspace, state.init["base_commit"]) as base:
            build(target, base)
            results = benchmark(target, target.full_case, {"baseline": Path(base), "candidate": self.workspace},
                                "candidate", progress=say, **bench_budget())
        res = results["baseline"]
        return {"case": target.full_case, "verdict": res.verdict, "speedup": res.speedup, "ci": list(res.ci),
                "blocks": res.blocks, "metric": res.metric}

    def _complete_finish(self, state: loop.State) -> None:
        from campaign import vcs

        init, finish = state.init, state.finish
        repo = self.repo
        self.render_files()
        message = f"campaign {self.name}: finish ({_fmt_x(finish.get('final_speedup'))} over baseline)"
        on_branch = not repo.head.is_detached and repo.active_branch.name == init["branch"]
        if on_branch:
            if vcs.commit_with_message(repo, message, state.last_kept_commit) is None:
                vcs.commit_paths(repo, [self.record_rel], message)
            vcs.ensure_tag(repo, finish["post_tag"], vcs.head_commit(repo))
        elif vcs.tag_commit(repo, finish["post_tag"]) is None:
            raise VcsError(
                f"finish was interrupted and HEAD is not on {init['branch']}; check out {init['branch']} "
                f"(`git switch {init['branch']}`) and run `campaign finish` again."
            )
        vcs.merge_into(repo, init["branch"], init["start_branch"],
                       f"Merge {init['branch']}: campaign {self.name} ({_fmt_x(finish.get('final_speedup'))})")

    # -- RENDER / STATUS -------------------------------------------------------------

    def render(self) -> dict[str, Any]:
        with self.lock:
            changed = self.render_files()
        return {"ok": True, "record": str(self.record_dir), "changed": changed,
                "files": ["optimization_log.md", "thinking_log.md", "summary.md"]}

    def status(self) -> dict[str, Any]:
        """Where the campaign stands, from the journal alone (no git, no lock)."""
        contents = self.journal.read()
        state = loop.derive(contents.events)
        init = state.init or {}
        warnings = []
        if contents.torn is not None:
            warnings.append(contents.torn.message(self.journal.path))
        if state.step is not Step.DONE:
            warnings += self._amdahl_warnings(state)
        holder = None
        holder_path = self.record_dir / HOLDER_NAME
        if holder_path.exists():
            import json

            try:
                holder = json.loads(holder_path.read_text())
                warnings.append(f"a command may be running: `{command_line(holder.get('argv', []))}` (pid {holder.get('pid')})")
            except (OSError, ValueError):
                pass
        iterations = []
        for it in state.iterations:
            bench = it.benchmark or {}
            iterations.append({
                "iteration": it.n, "title": it.title, "phase": it.phase,
                "predicted": (it.think or {}).get("predicted_speedup"), "speedup": it.speedup, "ci": bench.get("ci"),
                "verdict": bench.get("verdict"),
                "cumulative": (bench.get("vs_baseline") or {}).get("speedup") if bench else None,
                "test_passed": (it.test or {}).get("passed") if it.test else None,
                "kept": it.kept if it.done else None,
                "commit": (it.commit or {}).get("commit"),
            })
        current = state.current
        return {
            "ok": True,
            "name": self.name,
            "workspace": str(self.workspace),
            "record": str(self.record_dir),
            "target": (init.get("target") or {}).get("name") if isinstance(init.get("target"), dict) else init.get("target"),
            "goal_speedup": init.get("goal_speedup"),
            "max_iterations": init.get("max_iterations"),
            "iteration": current.n if current else 0,
            "iterations_done": len(state.finished_iterations),
            "kept": state.kept_count,
            "cumulative_speedup": state.cumulative,
            "cumulative_ci": state.cumulative_ci,
            "iterations": iterations,
            "step": state.step.value,
            "next": self._status_next(state),
            "agent": state.run,
            "finished": state.step is Step.DONE,
            "final": state.finish,
            "warnings": warnings,
            "recovery": recovery_note(state),
            "exhausted": state.exhausted,
            "skipped": state.skipped,
            "running": holder,
            "events": len(contents.events),
        }


def recovery_note(state: loop.State) -> str | None:
    """What an interrupted command left behind, and how the next command continues."""
    last = (state.last_event or {}).get("type")
    it = state.current
    if state.step is Step.INIT and state.init is not None:
        return ("`campaign init` was interrupted after recording the campaign; `campaign init --resume` "
                "completes the tag, branch, baseline and start commit.")
    if state.step is Step.TRY and last in ("implement", "test"):
        return (f"`campaign try` of iteration {it.n} was interrupted ({last} recorded, "
                f"{'BENCHMARK' if last == 'test' else 'TEST'} missing); run `campaign try` again.")
    if state.step is Step.COMMIT:
        return (f"the LOG of iteration {it.n} kept the change but no commit is recorded (interrupted); "
                f"`campaign log` (or any next command) completes the commit - a commit already on HEAD is reused.")
    if state.step is Step.REVERT:
        return (f"the LOG of iteration {it.n} rejected the change but no revert is recorded (interrupted); "
                f"`campaign log` (or any next command) completes the revert.")
    return None


def _fmt_x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _bench_summary(bench: dict[str, Any]) -> dict[str, Any]:
    return {k: bench.get(k) for k in ("case", "verdict", "speedup", "ci", "vs_baseline", "cumulative_speedup",
                                       "candidate", "blocks", "metric", "full")}


def _result_dict(res) -> dict[str, Any]:
    return res.to_dict() if hasattr(res, "to_dict") else dict(res)


def _bench_event(results: dict[str, Any], case: str, full: dict[str, Any] | None, full_case: str | None) -> dict[str, Any]:
    """The ``benchmark`` event data from ``bench.benchmark`` results (references ``last`` and ``baseline``)."""
    last = _result_dict(results["last"])
    base = _result_dict(results["baseline"])
    data = {
        "case": case,
        "verdict": last["verdict"],
        "speedup": last["speedup"],
        "ci": list(last["ci"]),
        "vs_baseline": {"speedup": base["speedup"], "ci": list(base["ci"]), "verdict": base["verdict"]},
        "cumulative_speedup": base["speedup"],
        "phases": last.get("phases"),
        "candidate": last.get("candidate"),
        "reference": last.get("reference"),
        "metric": last.get("metric"),
        "blocks": last.get("blocks"),
        "samples": last.get("samples"),
        "noise_floor": last.get("noise_floor"),
        "min_effect": last.get("min_effect"),
        "notes": last.get("notes") or [],
        "full": None,
        "environment": last.get("environment"),
    }
    if full is not None:
        flast, fbase = _result_dict(full["last"]), _result_dict(full["baseline"])
        data["full"] = {"case": full_case, "verdict": flast["verdict"], "speedup": flast["speedup"],
                        "ci": list(flast["ci"]), "vs_baseline": {"speedup": fbase["speedup"], "ci": list(fbase["ci"]),
                                                                 "verdict": fbase["verdict"]},
                        "candidate": flast.get("candidate"), "blocks": flast.get("blocks")}
    return data


def plan_violation(state: loop.State, phase: str, override: str | None) -> str | None:
    """The PLAN rules (pure): the message of the first one ``phase`` breaks, or None.

    The phase must be one the latest profile measured, not exhausted or
    skipped, and (Amdahl) not under 5% of the runtime unless ``override``
    gives a reason. ``campaign plan`` raises it; ``campaign run`` sends it
    back to the agent before anything is recorded.
    """
    profile = state.last_profile or {}
    shares = profile.get("shares") or {}
    measured = sorted(set(shares) | set(profile.get("phases") or {}))
    if phase not in measured:
        return (f"phase {phase!r} was not measured by the latest profile (phases: {', '.join(measured) or 'none'}). "
                f"PLAN attacks a phase the profile showed; pick one of those.")
    if phase in state.exhausted or phase in state.skipped:
        return (f"phase {phase!r} was declared exhausted or skipped earlier in this campaign; pick another "
                f"phase ({', '.join(state.open_phases()) or 'none left'}).")
    share = shares.get(phase)
    if share is not None and share < stopping.SIGNIFICANT_SHARE and not override:
        return (f"Amdahl: phase {phase!r} is only {share:.0%} of the runtime, so even making it infinitely fast "
                f"gives at most {stopping.amdahl_bound(share):.2f}x overall. Plan a bigger phase "
                f"({', '.join([p for p in state.open_phases() if p != phase][:3]) or 'none'}), or pass "
                f"--override-amdahl REASON (an agent: override_amdahl) to attack it anyway (the reason is logged).")
    return None


def test_change(target, workspace: Path, cases: list[str], expected_for: Callable[[str], dict[str, Any]],
                out_of_scope: list[str]) -> dict[str, Any]:
    """TEST: run each case in a fresh process and compare its outputs with the baseline's (the ``test`` event data)."""
    from campaign.measure.correctness import compare_outputs, run_test_command
    from campaign.measure.workload import WorkloadError, build, run_workload

    result = {"passed": False, "failures": [], "test_command": None, "out_of_scope": out_of_scope, "cases": cases}
    if out_of_scope:
        result["failures"].append({
            "output": "(scope)", "expected": None, "actual": out_of_scope, "tolerance": None,
            "message": f"edits outside the target's scope ({', '.join(target.scope)}): {', '.join(out_of_scope)}",
        })
        return result
    try:
        build(target, workspace)
        for case in cases:
            run = run_workload(target, case, workspace, repeat=1)
            report = compare_outputs(expected_for(case), run.outputs, target.tolerances)
            for failure in report.to_dict().get("failures", []):
                result["failures"].append({**failure, "case": case})
    except WorkloadError as exc:
        result["failures"].append({"output": "(workload)", "expected": None, "actual": None, "tolerance": None,
                                   "message": str(exc)})
        return result
    if target.test_command:
        result["test_command"] = run_test_command(target.test_command, workspace, target.timeout_s)
    result["passed"] = not result["failures"] and (result["test_command"] is None or result["test_command"]["passed"])
    return result


def benchmark_change(target, workspace: Path, last_commit: str, base_commit: str, cases: list[str],
                     say: Callable[[str], None]) -> dict[str, Any]:
    """BENCHMARK: the working tree vs the last kept commit and vs the baseline, interleaved in one session."""
    from campaign.measure.bench import benchmark
    from campaign.measure.workload import build
    from campaign.measure.worktrees import worktree

    budget = bench_budget()
    with worktree(workspace, last_commit) as last, worktree(workspace, base_commit) as base:
        build(target, last)
        if base_commit == last_commit:  # the first iteration: one checkout serves both references
            base = last
        else:
            build(target, base)
        variants = {"last": Path(last), "baseline": Path(base), "candidate": Path(workspace)}
        per_case = {}
        for case in cases:
            say(f"  case {case}")
            per_case[case] = benchmark(target, case, variants, "candidate", progress=say, **budget)
    return _bench_event(per_case[cases[0]], cases[0], per_case.get(cases[1]) if len(cases) > 1 else None,
                        cases[1] if len(cases) > 1 else None)


def render_agents_md(name: str, target, init: dict[str, Any]) -> str:
    from campaign.loop.render import render_template

    return render_template(
        "AGENTS.md.j2", name=name, target=target.name, scope=list(target.scope),
        goal=init.get("goal_speedup"), max_iterations=init.get("max_iterations"),
        postmortem_factor=init.get("postmortem_factor"), phases=list(getattr(target, "phases", []) or []),
    )


def init_campaign(
    workspace: Path | str,
    target_spec: str,
    name: str | None = None,
    goal_speedup: float = 2.0,
    max_iterations: int = stopping.DEFAULT_MAX_ITERATIONS,
    progress: Progress = None,
    run_settings: dict[str, Any] | None = None,
) -> Campaign:
    """Start a campaign: validate, tag, branch, snapshot, baseline, AGENTS.md, start commit.

    ``run_settings`` (from ``campaign run``: the agent and its command) is
    recorded right after ``init``, so even a run killed during the baseline
    resumes with its agent.
    """
    from campaign import vcs
    from campaign.plugins.target import TargetError
    from campaign.plugins.loading import load_target

    workspace = Path(workspace).resolve()
    say = progress or (lambda line: None)
    if not target_spec or not str(target_spec).strip():
        raise UserError("--target is required: a built-in target name, 'module:Class', or campaign.toml (see `campaign targets`).")
    try:
        goal = parse_speedup(goal_speedup)
    except RuleError:
        raise UserError(f"--goal-speedup {goal_speedup!r} is not a positive number (e.g. 2 or 2x).") from None
    if goal <= 1:
        raise UserError(f"--goal-speedup must be above 1 (a speedup), got {goal:g}.")
    if int(max_iterations) < 1:
        raise UserError(f"--max-iterations must be at least 1, got {max_iterations}.")
    repo = vcs.open_repo(workspace)
    try:
        target = load_target(target_spec, workspace)
    except TargetError as exc:
        raise UserError(str(exc)) from None
    name = name or target.name
    if not NAME_RE.match(name or ""):
        raise UserError(f"campaign name {name!r} is not usable: use letters, digits, '.', '_' or '-' (at most 64), "
                        f"e.g. --name primes-1.")
    campaign = Campaign(workspace, name)
    if campaign.journal.exists() and campaign.journal.events():
        raise UserError(
            f"a campaign named {name!r} already exists in {campaign.record_dir}. Continue it (`campaign status` "
            f"says what is next; `campaign init --resume` completes an interrupted init) or start another "
            f"with --name."
        )
    vcs.require_clean(repo, exclude=[campaign.record_rel])
    start_branch = vcs.current_branch(repo)
    base_commit = vcs.head_commit(repo)
    branch, pre_tag = f"optimization/{name}", f"{name}/pre-optimization"
    if vcs.branch_exists(repo, branch):
        raise UserError(f"the branch {branch} already exists; choose another campaign name with --name "
                        f"(or delete the branch: `git branch -D {branch}`).")
    if vcs.tag_commit(repo, pre_tag) not in (None, base_commit):
        vcs.ensure_tag(repo, pre_tag, base_commit)  # raises the clear "tag exists elsewhere" error
    say(f"checking that the workload runs (case {target.fast_case!r})...")
    from campaign.measure.workload import build, run_workload

    campaign._measure(lambda: (build(target, workspace), run_workload(target, target.fast_case, workspace, repeat=1)))
    written = vcs.changes(repo, exclude=[campaign.record_rel]).files
    if written:
        raise UserError(
            f"the workload wrote files into the repository ({', '.join(written[:5])}). Every change in the tree "
            f"counts as the attempt's edit (and is reverted on failure), so the workload must write elsewhere "
            f"or those paths must be in .gitignore; fix that, remove the files, and run init again."
        )
    with campaign.lock:
        campaign._record("init", {
            "name": name, "target_spec": target_spec, "target": target.describe(), "goal_speedup": goal,
            "max_iterations": int(max_iterations), "min_gain": stopping.MIN_GAIN,
            "postmortem_factor": stopping.POSTMORTEM_FACTOR, "start_branch": start_branch, "branch": branch,
            "pre_tag": pre_tag, "base_commit": base_commit, "workspace": str(workspace),
        })
        if run_settings is not None:
            campaign._record("run", run_settings)
        campaign._target = target
        campaign._resume_init(say)
    return campaign


def resume_init(workspace: Path | str, name: str | None = None, progress: Progress = None) -> Campaign:
    """Complete an interrupted ``init`` (``campaign init --resume``)."""
    campaign = Campaign.open(workspace, name)
    with campaign.lock:
        state = campaign.state()
        loop.check_command("init", state, campaign.cli_extra)
        campaign._resume_init(progress)
    return campaign
