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
from typing import Any, Callable

from campaign.loop import record
from campaign.agents.briefing import TOP_FUNCTIONS, final_speedup_text, history, log_result, trim_profile  # noqa: F401
from campaign.agents.protocol import AgentFailed, ask
from campaign.errors import NoChangeError, UserError

Progress = Callable[[str], None]
AGENT_DIR = "agent"


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
        init = state.init or record.Init()
        target = camp.target
        return {
            "campaign": {
                "name": camp.name,
                "target": target.name,
                "goal_speedup": init.goal_speedup,
                "max_iterations": init.max_iterations,
                "iteration": len(state.iterations) + (1 if state.current is None or state.current.done else 0),
                "iterations_done": len(state.finished_iterations),
                "cumulative_speedup": state.cumulative,
                "exhausted_phases": list(state.exhausted),
                "skipped_phases": list(state.skipped),
                "open_phases": state.open_phases(),
            },
            "profile": trim_profile(state.last_profile),
            "history": history(events),
            "scope": list(target.scope),
            "workspace": str(camp.workspace),
            "cli": cli_command(),  # campaign's own CLI by absolute path: a tool shell may rebuild PATH
        }

    def _agent_event(self, event: dict[str, Any], iteration: int | None) -> None:
        """Record an agent step, after checking what the agent may have broken (the journal, the branch)."""
        self.verify_after_agent()
        with self.campaign.lock:
            self.campaign.record_event("agent", event, iteration)

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
            branch = state.init.branch if state.init else None
            if branch and state.start_commit:
                camp.require_branch(state)

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
        from campaign.loop import machine

        state = machine.derive(events)
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
            profiled = camp.state().last_profile
            shares = result.get("shares") or (profiled.shares if profiled else None) or {}
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
        if state.last_event and state.last_event["type"] == "plan":  # IMPLEMENT not yet done (a re-run try keeps the edit already made)
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
        self._try_and_say(n)

    def _try_and_say(self, n: int) -> None:
        """TEST + BENCHMARK of the edit in the working tree, and the line that says how it went."""
        camp = self.campaign
        try:
            result = camp.try_change(progress=lambda line: self.say(f"[iter {n}] {line}"), agent=self.agent.name)
        except NoChangeError:
            camp.fail_attempt("the agent's IMPLEMENT left the working tree unchanged", agent=self.agent.name)
            return
        test = record.load_data("test", result["test"])
        if not test.passed:
            command = test.test_command or record.TestCommand()
            named = [t["name"] for t in command.failed_tests or []]
            first = (test.failures[0].message if test.failures else "") or ", ".join(named)
            self.say(f"[iter {n}] TEST FAILED: {first[:200]}")
        else:
            from campaign.measure.stats import describe_interval

            bench = record.load_data("benchmark", result.get("benchmark") or {})
            self.say(f"[iter {n}] BENCHMARK: {bench.verdict} {bench.speedup or 0:.2f}x "
                     f"({describe_interval(bench.ci, bench.ci_level, bench.ci_kind)}); "
                     f"vs baseline {bench.cumulative or 0.0:.2f}x")

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
