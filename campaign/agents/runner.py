"""``campaign run``: the controller that drives the whole loop and asks an agent.

The controller owns every step the framework can do itself (PROFILE, TEST,
BENCHMARK, COMMIT/REVERT, DECIDE, FINISH) and asks the agent only at THINK
(+PLAN), IMPLEMENT and LOG. It holds no state of its own: each turn reads the
step due from the journal (``Campaign.status``), so ``--resume`` after a
crash, a ``kill -9`` or a Ctrl-C simply continues where the journal stands.

Agent failures: at IMPLEMENT or LOG the iteration is recorded as failed (the
test records the agent's error, the change is reverted) and the campaign goes
on by the rules; at THINK no iteration has started, so the run stops with
the error recorded in an ``agent`` event and ``campaign run --resume`` asks
again.
"""

from __future__ import annotations

import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from campaign.loop import stopping
from campaign.agents.choice import (DEFAULT_AGENT_TIMEOUT_S, budget_note, check_agent, make_agent, resumed_budget,
                                    resumed_settings, run_settings)
from campaign.agents.protocol import AgentFailed, ask
from campaign.errors import UserError

Progress = Callable[[str], None]
AGENT_DIR = "agent"
TOP_FUNCTIONS = 12


@dataclass
class StopFlag:
    """Set by the first Ctrl-C: the run stops cleanly after the step in progress."""

    requested: bool = False
    previous: Any = field(default=None, repr=False)

    def install(self, say: Progress) -> None:
        def handler(signum, frame):
            if self.requested:  # second Ctrl-C: stop now (every step is crash-safe)
                raise KeyboardInterrupt
            self.requested = True
            say("Ctrl-C: stopping after this step (Ctrl-C again to stop at once; `campaign run --resume` continues)")

        try:
            self.previous = signal.signal(signal.SIGINT, handler)
        except ValueError:  # not the main thread (tests): no handler
            self.previous = None

    def uninstall(self) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def history(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Predictions vs results per finished or running iteration, for the agent (pure)."""
    from campaign.loop import machine as loop

    keys: dict[int, dict[str, Any]] = {}
    for event in events:
        data = event["data"]
        if event["type"] == "agent" and data.get("step") == "think" and data.get("key") is not None:
            keys[event["iteration"]] = {"key": data["key"], "title": data.get("title")}
    rows = []
    for it in loop.derive(events).iterations:
        bench = it.benchmark or {}
        rows.append({
            "iteration": it.n,
            "key": keys.get(it.n, {}).get("key"),
            "title": keys.get(it.n, {}).get("title") or it.title,
            "phase": it.phase,
            "predicted": (it.think or {}).get("predicted_speedup"),
            "speedup": it.speedup,
            "ci": bench.get("ci"),
            "ci_level": bench.get("ci_level"),
            "verdict": bench.get("verdict"),
            "test_passed": (it.test or {}).get("passed") if it.test else None,
            "kept": it.kept if it.done else None,
            "surprise": (it.log or {}).get("surprise"),
        })
    return rows


def _trim_profile(profile: dict[str, Any] | None) -> dict[str, Any] | None:
    if not profile:
        return None
    trimmed = {k: v for k, v in profile.items() if k not in ("top_functions", "lines")}
    trimmed["top_functions"] = (profile.get("top_functions") or [])[:TOP_FUNCTIONS]
    trimmed["lines"] = profile.get("lines") or {}
    return trimmed


def plan_problem(state, answer: dict[str, Any]) -> str | None:
    """The PLAN rules (``Campaign.plan``) applied to a THINK answer before anything is recorded (pure).

    A plan the rules refuse goes back to the agent as a validation error;
    recorded, it would leave the campaign stuck at PLAN (``--resume`` would
    replay the same refused plan).
    """
    if answer.get("action") != "optimize":
        return None
    from campaign.loop.steps.plan import plan_violation

    problem = plan_violation(state, str(answer.get("phase") or "").strip(),
                             str(answer.get("override_amdahl") or "").strip() or None)
    return f"phase: {problem}" if problem else None


def exhausted_decision(state, why: str) -> dict[str, Any]:
    """The DECIDE an agent's "exhausted" at THINK becomes (pure): the largest open phase declared exhausted.

    With no open phase (a profile without phases; once all are declared, the
    ``exhausted`` rule has stopped the campaign already), a declared stop with
    the agent's reason: DECIDE refuses an exhausted phase of None.
    """
    open_phases = state.open_phases()
    if open_phases:
        return {"exhausted": True, "why": why, "phase": open_phases[0]}
    return {"stop": True, "why": f"the agent found nothing left to try and the profile has no open phase: {why}"}


def log_problem(result: dict[str, Any], answer: dict[str, Any]) -> str | None:
    """The LOG rules (``Campaign.log``) applied to a LOG answer before it is recorded (pure)."""
    post = answer.get("postmortem") or {}
    if result.get("postmortem_required") and not (str(post.get("why") or "").strip() and str(post.get("lesson") or "").strip()):
        return (f"postmortem: required (why and lesson): the measured {result.get('speedup')}x misses the predicted "
                f"{result.get('predicted')}x by more than a factor of {result.get('postmortem_factor')}")
    if str(answer.get("keep_reason") or "").strip():
        if not result.get("test_passed"):
            return "keep_reason: must be null: the change failed TEST, and a failed change is never kept"
        if result.get("verdict") == "slower":
            return "keep_reason: must be null: the benchmark says slower, and a slower change is never kept"
    if answer.get("accept_memory") is not None and not str(answer["accept_memory"]).strip():
        return "accept_memory: null or a reason; an empty string accepts nothing"
    return None


def log_result(state, workspace: Path | None = None) -> dict[str, Any]:
    """What the agent is told at LOG: the prediction, the measurement, whether a postmortem is due."""
    from campaign.measure.correctness import test_command_failure

    it = state.current
    test, bench = it.test or {}, it.benchmark or {}
    predicted = (it.think or {}).get("predicted_speedup")
    factor = (state.init or {}).get("postmortem_factor", stopping.POSTMORTEM_FACTOR)
    failures = test.get("failures") or []
    return {
        "predicted": predicted,
        "test_passed": bool(test.get("passed")),
        "first_failure": failures[0].get("message") if failures else test_command_failure(test.get("test_command")),
        "failures": failures[:5],
        "test_command_failed": test_command_failure(test.get("test_command")) is not None,
        "verdict": bench.get("verdict"),
        "speedup": bench.get("speedup"),
        "ci": bench.get("ci"),
        "ci_level": bench.get("ci_level"),
        "ci_kind": bench.get("ci_kind"),
        "policy": bench.get("policy"),
        "vs_baseline": bench.get("vs_baseline"),
        "phases": bench.get("phases"),
        "postmortem_required": stopping.postmortem_required(predicted, it.speedup, factor),
        "postmortem_factor": factor,
        "memory": memory_at_log(state, workspace),
    }


def memory_at_log(state, workspace: Path | None) -> dict[str, Any] | None:
    """Peak memory before and after, against the limit in force (campaign.measure.memory); None when unmeasured."""
    from campaign.measure import memory
    from campaign.measure.settings import SettingsError, load_settings

    try:
        limit = load_settings(workspace).memory_limit
    except SettingsError:  # LOG itself says what is wrong with the settings
        limit = memory.DEFAULT_LIMIT
    mem = memory.change(state.current.benchmark, limit)
    return {**mem, "text": memory.describe(mem)} if mem else None


class Runner:
    """Drives one campaign to its end with one agent."""

    def __init__(self, campaign, agent, progress: Progress | None = None, max_steps: int = 10_000):
        self.campaign = campaign
        self.agent = agent
        self.say = progress or (lambda line: None)
        self.stop = StopFlag()
        self.max_steps = max_steps
        self.plan_answer: dict[str, Any] | None = None
        campaign.notify = self.say

    # -- context for the agent ---------------------------------------------------------

    def context(self, state, events: list[dict[str, Any]]) -> dict[str, Any]:
        from campaign.loop.driver import cli_command

        camp = self.campaign
        init = state.init or {}
        target = camp.target
        return {
            "campaign": {
                "name": camp.name,
                "target": target.name,
                "goal_speedup": init.get("goal_speedup"),
                "max_iterations": init.get("max_iterations"),
                "iteration": len(state.iterations) + (1 if state.current is None or state.current.done else 0),
                "iterations_done": len(state.finished_iterations),
                "cumulative_speedup": state.cumulative,
                "exhausted_phases": list(state.exhausted),
                "skipped_phases": list(state.skipped),
                "open_phases": state.open_phases(),
            },
            "profile": _trim_profile(state.last_profile),
            "history": history(events),
            "scope": list(target.scope),
            "workspace": str(camp.workspace),
            "cli": cli_command(),  # campaign's own CLI by absolute path: a tool shell may rebuild PATH
        }

    def _agent_event(self, event: dict[str, Any], iteration: int | None) -> None:
        """Record an agent step, after checking what the agent may have broken (the journal, the branch)."""
        self.verify_after_agent()
        with self.campaign.lock:
            self.campaign._record("agent", event, iteration)

    def verify_after_agent(self) -> None:
        """The journal and the record are the framework's: after every agent step, check them.

        A journal the agent deleted or replaced is restored from its protected
        copy (and the run says so); a branch switch stops the run with a clear
        error before anything is recorded on the wrong branch.
        """
        from campaign.loop.record_guard import put_back_journal

        camp = self.campaign
        with camp.lock:
            put_back_journal(camp.journal, self.say)
            camp.guard_record()
            state = camp.state()
            branch = (state.init or {}).get("branch")
            if branch and state.start_commit:
                camp._require_branch(state)

    def _asking(self, step: str, n: int) -> None:
        """Say that an agent is working: a coding CLI can take minutes, and the progress line should say why.

        The playbook answers at once, so a demo's log does not get a line per question.
        """
        if self.agent.name != "playbook":
            self.say(f"[iter {n}] {step}: waiting for the agent ({self.agent.name})...")

    # -- one step ----------------------------------------------------------------------

    def turn(self) -> bool:
        """Run the step that is due. Returns False when the campaign is finished."""
        from campaign.loop.machine import Step

        camp = self.campaign
        camp.guard_record()  # the previous step ran the code under optimization and maybe an agent
        events = camp.journal.read_protected().events
        from campaign.loop import machine as loop

        state = loop.derive(events)
        step = state.step
        n = len(state.iterations)
        cumulative = f"{state.cumulative:.2f}x" if state.cumulative else "1.00x"
        if step is Step.DONE:
            missing = camp.finish_missing(state)
            if not missing:
                return False
            self.say(f"FINISH is incomplete ({' and '.join(missing)} missing): completing it")
            camp.finish(self.say)
            return True
        if step is Step.INIT:
            from campaign.loop.session import resume_init

            self.say("INIT: completing the interrupted start (baseline, start commit)")
            resume_init(camp.workspace, camp.name, self.say)
        elif step is Step.PROFILE:
            self.say(f"[iter {n + 1}] PROFILE (cumulative {cumulative})")
            result = camp.profile(list(camp.target.hot_functions))
            shares = result.get("shares") or (camp.state().last_profile or {}).get("shares") or {}
            top = ", ".join(f"{k} {v:.0%}" for k, v in sorted(shares.items(), key=lambda kv: -kv[1])[:3])
            self.say(f"[iter {n + 1}] profile: {top}")
        elif step is Step.THINK:
            self._think(state, events)
        elif step is Step.PLAN:
            self._plan(state)
        elif step is Step.TRY:
            self._implement_and_try(state, events)
        elif step in (Step.LOG, Step.COMMIT, Step.REVERT):
            self._log(state, events)
        elif step is Step.DECIDE:
            result = camp.decide()
            self.say(f"[iter {n}] DECIDE: {'stop' if result.get('stop') else 'continue'} - {result.get('reason')}")
        elif step is Step.FINISH:
            self.say("FINISH: full-scale case vs the pre-optimization tag, tag, merge")
            result = camp.finish(self.say)
            self.say(f"finished: {final_speedup_text(result)}" if result.get("final_speedup") else "finished")
        return True

    def _think(self, state, events) -> None:
        camp = self.campaign
        n = len(state.iterations) + 1
        context = self.context(state, events)
        self._asking("THINK", n)
        try:
            answer, event = ask(self.agent, "think", context, camp.record_dir / AGENT_DIR, n,
                                check=lambda a: plan_problem(state, a))
        except AgentFailed as exc:
            self._agent_event(exc.attempts[0] if exc.attempts else {"step": "think", "error": str(exc)}, None)
            raise UserError(
                f"{exc} The campaign stays at THINK; fix the agent and run `campaign run --resume`."
            ) from None
        if answer["action"] == "exhausted":
            self._agent_event({**event, "key": None, "title": None}, None)
            self.say(f"THINK (no iteration {n} started): the agent declares the bottleneck exhausted: {answer['why']}")
            result = camp.decide(**exhausted_decision(state, answer["why"]))
            self.say(f"DECIDE: {'stop' if result.get('stop') else 'continue'} - {result.get('reason')}")
            return
        self._agent_event({**event, "key": answer.get("key"), "title": answer.get("title")}, n)
        self.say(f"[iter {n}] THINK: {answer['title']} (predicts {answer['predicted_speedup']:.2f}x)")
        camp.think(answer["hypothesis"], answer["options"], answer["chosen"], answer["predicted_speedup"], answer["risk"])
        self.plan_answer = answer
        self._plan(camp.state())

    def _plan(self, state) -> None:
        camp = self.campaign
        answer = self.plan_answer or self._recover_plan(state)
        override = answer.get("override_amdahl")
        camp.plan(answer["phase"], answer["change"], answer.get("bottleneck") or None, override)
        self.say(f"[iter {len(state.iterations)}] PLAN: phase {answer['phase']!r}: {answer['change']}")

    def _recover_plan(self, state) -> dict[str, Any]:
        """After a resume, the THINK answer is read back from the record."""
        import json

        camp = self.campaign
        n = len(state.iterations)
        for event in reversed(camp.journal.read_protected().events):
            data = event["data"]
            if event["type"] == "agent" and data.get("step") == "think" and event["iteration"] == n and not data.get("error"):
                answer = json.loads((camp.record_dir / data["answer"]).read_text())
                self.plan_answer = answer
                return answer
        raise UserError(f"cannot resume iteration {n}: its THINK answer is not in the record; run `campaign plan` by hand.")

    def _implement_and_try(self, state, events) -> None:
        camp = self.campaign
        n = len(state.iterations)
        plan = self.plan_answer or self._recover_plan(state)
        last = state.last_event or {}
        if last.get("type") == "plan":  # IMPLEMENT not yet done (a re-run try keeps the edit already made)
            context = {**self.context(state, events), "plan": plan}
            self._asking("IMPLEMENT", n)
            try:
                answer, event = ask(self.agent, "implement", context, camp.record_dir / AGENT_DIR, n)
                self._agent_event(event, n)
                self.say(f"[iter {n}] IMPLEMENT: {answer['summary']}")
            except AgentFailed as exc:
                self._agent_event(exc.attempts[0] if exc.attempts else {"step": "implement", "error": str(exc)}, n)
                self.say(f"[iter {n}] IMPLEMENT failed: {exc}")
                camp.fail_attempt(f"the agent failed at IMPLEMENT: {exc}", agent=self.agent.name)
                return
        try:
            result = camp.try_change(progress=lambda line: self.say(f"[iter {n}] {line}"), agent=self.agent.name)
        except UserError as exc:
            if "no change to try" not in str(exc):
                raise
            camp.fail_attempt("the agent's IMPLEMENT left the working tree unchanged", agent=self.agent.name)
            return
        bench = result.get("benchmark") or {}
        if not result["test"]["passed"]:
            named = [t["name"] for t in (result["test"].get("test_command") or {}).get("failed_tests") or []]
            first = (result["test"].get("failures") or [{}])[0].get("message", "") or ", ".join(named)
            self.say(f"[iter {n}] TEST FAILED: {first[:200]}")
        else:
            from campaign.measure.stats import describe_interval

            cum = (bench.get("vs_baseline") or {}).get("speedup") or 0.0
            self.say(f"[iter {n}] BENCHMARK: {bench.get('verdict')} {bench.get('speedup') or 0:.2f}x "
                     f"({describe_interval(bench.get('ci'), bench.get('ci_level'), bench.get('ci_kind'))}); "
                     f"vs baseline {cum:.2f}x")

    def _log(self, state, events) -> None:
        from campaign.loop.machine import Step

        camp = self.campaign
        n = len(state.iterations)
        if state.step in (Step.COMMIT, Step.REVERT):
            camp.log()  # complete an interrupted commit/revert
            return
        plan = self.plan_answer
        if plan is None:  # resumed at LOG: the plan is in the record (absent when the iteration began by hand)
            try:
                plan = self._recover_plan(state)
            except UserError:
                plan = None
        context = {**self.context(state, events), "plan": plan, "result": log_result(state, camp.workspace)}
        self._asking("LOG", n)
        try:
            answer, event = ask(self.agent, "log", context, camp.record_dir / AGENT_DIR, n,
                                check=lambda a: log_problem(context["result"], a))
            self._agent_event(event, n)
        except AgentFailed as exc:
            self._agent_event(exc.attempts[0] if exc.attempts else {"step": "log", "error": str(exc)}, n)
            answer = {"surprise": f"The agent gave no valid LOG answer ({exc}); recorded by the framework.",
                      "notes": None, "postmortem": None, "keep_reason": None}
            if context["result"]["postmortem_required"]:
                answer["postmortem"] = {"why": "unknown: the agent failed to write its postmortem",
                                        "lesson": "none recorded"}
        post = answer.get("postmortem") or {}
        result = camp.log(answer["surprise"], answer.get("notes"), post.get("why"), post.get("lesson"),
                          answer.get("keep_reason"), answer.get("accept_memory"))
        self.say(f"[iter {n}] LOG: {'kept, committed ' + str(result.get('commit'))[:10] if result.get('kept') else 'reverted'}"
                 f" - Surprise: {answer['surprise'][:120]}")
        self.plan_answer = None

    # -- the loop ----------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        self.stop.install(self.say)
        try:
            from campaign.measure.procs import check_termination

            for _ in range(self.max_steps):
                check_termination()  # a SIGTERM whose exception a finalizer swallowed still stops the run
                if not self.turn():
                    break
                if self.stop.requested:
                    status = self.campaign.status()
                    return {**status, "interrupted": True}
        finally:
            self.stop.uninstall()
        return {**self.campaign.status(), "interrupted": False}


def final_speedup_text(finish: dict[str, Any]) -> str:
    """The end result, both cases named: the fast case's cumulative speedup and the full case's own measurement.

    They differ, sometimes by orders of magnitude (an early exit pays most at
    full scale), so a bare "Nx over the baseline" would misstate one of them.
    """
    text = f"{finish['final_speedup']:.2f}x over the baseline on the fast case"
    full = finish.get("full") or {}
    if full.get("speedup"):
        text += f"; full case {full['speedup']:.2f}x ({full.get('verdict')})"
    return text


def run_campaign(
    workspace: Path,
    target_spec: str | None,
    agent_kind: str | None,
    agent_cmd: str | None = None,
    name: str | None = None,
    goal_speedup: float | None = None,
    max_iterations: int | None = None,
    resume: bool = False,
    progress: Progress | None = None,
    agent_timeout_s: float | None = None,
    budget: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Start (or with ``resume`` continue) a campaign and drive it to its end.

    The agent, its command, timeout and budget (``{"budget_usd": X,
    "budget_tokens": N}``) are recorded in a ``run`` event (at init and at
    every resume), so ``--resume`` continues with the same agent without flags.
    """
    from campaign.loop.session import Campaign

    say = progress or (lambda line: None)
    workspace = Path(workspace).resolve()
    from campaign.loop.driver import RunLease

    with RunLease(workspace) as lease:  # held from before INIT to the end: no other process writes the record
        opened = None
        if resume:
            opened = Campaign.open(workspace, name)
            lease.take(opened.name, agent_kind)
        campaign = _start(workspace, target_spec, agent_kind, agent_cmd, name, goal_speedup, max_iterations,
                          opened, say, agent_timeout_s, lease, budget)
        kind, cmd, timeout_s = campaign.recorded_agent
        return Runner(campaign, make_agent(kind, campaign, cmd, timeout_s), say).run()


def _start(workspace, target_spec, agent_kind, agent_cmd, name, goal_speedup, max_iterations, campaign, say,
           agent_timeout_s, lease, budget=None):
    """Open (``campaign`` given: resume) or start the campaign; its ``recorded_agent`` is who the run asks."""
    from campaign.loop import machine as loop
    from campaign.loop.session import init_campaign, list_campaigns

    if campaign is not None:
        recorded = loop.derive(campaign.journal.events()).run
        agent_kind, agent_cmd, agent_timeout_s = resumed_settings(recorded, agent_kind, agent_cmd, agent_timeout_s)
        budget = resumed_budget(recorded, budget)
        check_agent(agent_kind, agent_cmd, campaign.target)
        lease.set_agent(agent_kind)
        with campaign.lock:
            campaign._record("run", run_settings(agent_kind, agent_cmd, agent_timeout_s, True, budget))
        say(f"resuming campaign {campaign.name!r} at step {campaign.status()['step']} with agent {agent_kind!r}"
            + (f" ({agent_cmd})" if agent_cmd else ""))
    else:
        if not target_spec:
            raise UserError("--target is required to start a campaign (or --resume to continue one).")
        from campaign.plugins.target import TargetError
        from campaign.plugins.loading import load_target

        try:
            target = load_target(target_spec, workspace)
        except TargetError as exc:
            raise UserError(str(exc)) from None
        name = name or target.name
        agent_kind = agent_kind or "playbook"
        agent_timeout_s = DEFAULT_AGENT_TIMEOUT_S if agent_timeout_s is None else float(agent_timeout_s)
        check_agent(agent_kind, agent_cmd, target)  # before INIT spends minutes on the baseline
        if name in list_campaigns(workspace):
            raise UserError(f"a campaign named {name!r} already exists here; continue it with `campaign run --resume` "
                            f"or start another with --name.")
        kwargs = {}
        if goal_speedup is not None:
            kwargs["goal_speedup"] = goal_speedup
        if max_iterations is not None:
            kwargs["max_iterations"] = max_iterations
        lease.take(name, agent_kind)
        say(f"INIT: campaign {name!r} on target {target_spec!r} (baseline measurement)")
        campaign = init_campaign(workspace, target_spec, name, progress=say,
                                 run_settings=run_settings(agent_kind, agent_cmd, agent_timeout_s, False, budget),
                                 **kwargs)
    if budget_note(agent_kind, budget):
        say(budget_note(agent_kind, budget))
    campaign.recorded_agent = (agent_kind, agent_cmd, agent_timeout_s)
    return campaign
