"""``campaign run --parallel K``: K attempts in flight, each implemented in its own git worktree.

The agent's own time (minutes per IMPLEMENT) dominates a serial campaign,
and the measuring machine idles while it thinks. Here THINK asks for the
options to fill K slots; each option's agent edits a detached worktree of
the last kept commit in a thread of its own, and its diff comes back as a
patch. The controller alone writes the record: it journals every attempt's
status (``campaign.loop.attempts``) and, whenever THINK is due, takes the
ready attempt with the largest prediction, makes it the next iteration (its
think and plan), applies its patch to the campaign's working tree and runs
TEST + BENCHMARK there through the host's measurement queue
(``campaign.scale.queue``: never two measurements at once on one host).
THINK's extra rules and the live view's lines are ``attempt_plans``; the patch
is applied by ``worktree_implement.apply_patch``.
LOG, COMMIT/REVERT and DECIDE then run as in a serial campaign, so every
attempt is an iteration of its own: the stopping, skip and postmortem rules
count attempts. An attempt whose worktree started before another attempt was
kept is measured against that newer kept code (its patch applied on top)
or, when the patch no longer applies, recorded as a failed attempt; not
kept, it is marked ``superseded``.

Crash safety: a status is journaled before the controller acts on it; the
patch is in the record before ``implemented`` is. ``--resume`` reads the
attempts back: an implemented one is measured without asking its agent
again, one still being implemented is implemented again in a fresh worktree.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from campaign.agents.attempt_plans import attempt_plans, live_line, live_rows, parallel_problem
from campaign.agents.protocol import AgentFailed, ask
from campaign.agents.remote import RemoteMeasuring
from campaign.agents.runner import AGENT_DIR, Runner, exhausted_decision, plan_problem
from campaign.agents.worktree_implement import apply_patch, implement_in_worktree
from campaign.errors import UserError
from campaign.loop import attempts as att
from campaign.scale import host as hosts
from campaign.scale.queue import measuring

PROGRESS_EVERY_S = 10.0


class ParallelRunner(RemoteMeasuring, Runner):
    """``Runner`` with up to ``parallel`` attempts in flight; the journal's iterations stay one at a time."""

    def __init__(self, campaign, agent, progress=None, parallel: int = 2, max_steps: int = 10_000, cluster=None):
        super().__init__(campaign, agent, progress, max_steps)
        self.cluster = cluster  # campaign.scale.cluster.Cluster: TEST + BENCHMARK on its workers
        self.ahead: dict[str, tuple[Any, str, str | None]] = {}  # attempt -> (future, token, kept code it measures)
        self.k = max(1, int(parallel))
        self.results: queue.Queue = queue.Queue()
        self.threads: dict[str, threading.Thread] = {}
        self.git_lock = threading.Lock()
        self.host = hosts.name()
        self.no_ideas = False
        self.started: dict[str, float] = {}
        self._said = 0.0
        self.attempts: dict[str, att.Attempt] = {}
        self.reload()

    # -- the journal's view ------------------------------------------------------------

    def reload(self, events: list[dict[str, Any]] | None = None) -> None:
        from campaign.loop import machine

        events = self.campaign.journal.read_protected().events if events is None else events
        self.attempts = att.fold(events, len(machine.derive(events).iterations))

    def note(self, attempt: att.Attempt, status: str, **extra: Any) -> None:
        """Journal one status change (the controller's thread only), then re-read the attempts."""
        with self.campaign.lock:
            self.campaign.record_event("agent", att.event(attempt, status, **extra), extra.get("iteration"))
        self.reload()

    def pending(self) -> list[att.Attempt]:
        return att.pending(self.attempts)

    # -- workers -----------------------------------------------------------------------

    def launch(self, attempt: att.Attempt, context: dict[str, Any]) -> None:
        camp = self.campaign

        def work():
            result = implement_in_worktree(self.agent, camp.workspace, camp.record_dir, camp.record_rel, attempt,
                                           context, self.git_lock)
            self.results.put((attempt.id, result))

        thread = threading.Thread(target=work, name=f"campaign-{attempt.id}", daemon=True)
        self.threads[attempt.id] = thread
        self.started[attempt.id] = time.monotonic()
        thread.start()

    def harvest(self, block_s: float = 0.0) -> bool:
        """Journal what the workers finished (waiting up to ``block_s`` for the first); True if any."""
        got = False
        timeout = block_s
        while True:
            try:
                aid, result = self.results.get(timeout=timeout) if timeout > 0 else self.results.get_nowait()
            except queue.Empty:
                return got
            timeout = 0.0
            got = True
            self.threads.pop(aid, None)
            attempt = self.attempts.get(aid)
            if attempt is None or attempt.status != "planned":
                continue  # dropped meanwhile
            self.verify_after_agent()  # an agent may have strayed from its worktree
            self._record_result(attempt, result)

    def _record_result(self, attempt: att.Attempt, result: dict[str, Any]) -> None:
        import hashlib

        n = len(self.pending())
        if result.get("agent_event"):  # journaled now, so its spend counts at once (budgets), with its attempt id
            with self.campaign.lock:
                self.campaign.record_event("agent", {**result["agent_event"], "attempt": attempt.id}, None)
        extra: dict[str, Any] = {"host": self.host}
        if result["status"] == "implemented":
            rel = f"{att.PATCH_DIR}/{attempt.id}.patch"
            (self.campaign.record_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (self.campaign.record_dir / rel).write_bytes(result["patch_bytes"])  # before the event that names it
            extra.update(patch=rel, patch_sha256=hashlib.sha256(result["patch_bytes"]).hexdigest(),
                         files=result["files"], summary=result.get("summary"))
            self.say(f"[{attempt.id}] IMPLEMENT done: {str(result.get('summary') or '')[:100]} (queued; {n} pending)")
        else:
            extra["error"] = result.get("error")
            self.say(f"[{attempt.id}] IMPLEMENT failed: {str(result.get('error'))[:160]}")
        self.note(attempt, result["status"], **extra)

    def relaunch_orphans(self, state, events) -> None:
        """Attempts planned but never implemented (a crash killed their threads): implement them again."""
        for attempt in self.pending():
            if attempt.status == "planned" and attempt.id not in self.threads:
                self.say(f"[{attempt.id}] IMPLEMENT again (its agent was stopped before it finished): "
                         f"{attempt.plan.get('title')}")
                self.launch(attempt, self.context(state, events))

    # -- the steps ---------------------------------------------------------------------

    def turn(self) -> bool:
        from campaign.loop import machine
        from campaign.loop.machine import Step

        events = self.campaign.journal.read_protected().events
        self.reload(events)
        state = machine.derive(events)
        self.settle(state)
        self.harvest()
        if state.step in (Step.FINISH, Step.DONE):
            self.drop_pending("the campaign stopped before it was measured")
        elif state.step is not Step.INIT:
            self.relaunch_orphans(state, events)
        return super().turn()

    def settle(self, state) -> None:
        """Mark each measured attempt whose iteration is logged and committed or reverted: kept, reverted, superseded."""
        for attempt in list(self.attempts.values()):
            if attempt.status != "measuring" or not attempt.iteration or attempt.iteration > len(state.iterations):
                continue
            it = state.iterations[attempt.iteration - 1]
            if not it.done or not (it.commit or it.revert):
                continue
            prior = [p for p in state.iterations[:it.n - 1] if p.kept and p.commit]
            measured_against = prior[-1].commit.commit if prior else state.start_commit  # prior: each has a commit
            status = att.outcome(it.kept, attempt.base is not None and attempt.base != measured_against)
            self.note(attempt, status, iteration=it.n)
            if it.kept:
                self.no_ideas = False  # new code: THINK may find new options
            self.say(f"[{attempt.id}] iteration {it.n}: {status}")

    def drop_pending(self, why: str) -> None:
        for future, _, _ in self.ahead.values():
            future.cancel()
        self.ahead.clear()
        for attempt in self.pending():
            if attempt.status != "measuring":
                self.note(attempt, "dropped", why=why)
                self.say(f"[{attempt.id}] dropped: {why}")

    def context(self, state, events) -> dict[str, Any]:
        """The serial context, its history's rows keyed by the attempts they came from."""
        ctx = super().context(state, events)
        by_iteration = {a.iteration: a for a in self.attempts.values() if a.iteration}
        for row in ctx["history"]:
            attempt = by_iteration.get(row["iteration"])
            if attempt is not None:
                row["key"] = row.get("key") or attempt.plan.get("key")
                row["attempt"] = attempt.id
        return ctx

    def _think(self, state, events) -> None:
        busy = self.pending()
        if not busy:
            self.no_ideas = False
        wanted = min(self.k - len(busy), self.room(state, busy))
        if wanted > 0 and not self.no_ideas and self._ask_options(state, events, wanted, busy) == "decided":
            return
        attempt = self.wait_ready()
        if attempt is None:
            return
        state = self.campaign.state()
        self.measure_ahead(state)
        self._start_iteration(attempt, state)

    def room(self, state, busy: list[att.Attempt]) -> int:
        """How many more attempts the iteration cap leaves (an attempt is an iteration)."""
        cap = state.init.max_iterations if state.init else None
        return self.k if not cap else max(0, int(cap) - len(state.iterations) - len(busy))

    def _ask_options(self, state, events, wanted: int, busy: list[att.Attempt]) -> str | None:
        camp = self.campaign
        n = len(state.iterations) + 1
        context = {**self.context(state, events), "parallel": {
            "options_wanted": wanted, "slots": self.k,
            "in_flight": [{"attempt": a.id, "title": a.plan.get("title"), "key": a.plan.get("key"),
                           "phase": a.plan.get("phase")} for a in busy],
            "in_flight_keys": [a.plan.get("key") for a in busy if a.plan.get("key")]}}
        self._asking(f"THINK ({wanted} option{'s' if wanted > 1 else ''})", n)
        try:
            answer, event = ask(self.agent, "think", context, camp.record_dir / AGENT_DIR, n,
                                check=lambda a: plan_problem(state, a) or parallel_problem(state, a, wanted))
        except AgentFailed as exc:
            self._agent_event(exc.attempts[0] if exc.attempts else {"step": "think", "error": str(exc)}, None)
            if busy:
                self.say(f"THINK failed ({exc}); measuring the {len(busy)} attempt(s) in flight")
                self.no_ideas = True
                return None
            raise UserError(f"{exc} The campaign stays at THINK; fix the agent and run `campaign run --resume`.") from None
        if answer["action"] == "exhausted":
            self._agent_event({**event, "key": None, "title": None}, None)
            if busy:
                self.say(f"THINK: no new option ({answer['why']}); measuring the {len(busy)} in flight")
                self.no_ideas = True
                return None
            self.say(f"THINK (no iteration {n} started): the agent declares the bottleneck exhausted: {answer['why']}")
            result = camp.decide(**exhausted_decision(state, answer["why"]))
            self.say(f"DECIDE: {'stop' if result.get('stop') else 'continue'} - {result.get('reason')}")
            return "decided"
        first = att.next_id(camp.journal.read_protected().events)
        planned = [att.Attempt(f"a{first + i}", plan, state.last_kept_commit)
                   for i, plan in enumerate(attempt_plans(answer, wanted))]
        self._agent_event({**event, "key": None, "title": answer.get("title"),
                           "attempt_ids": [a.id for a in planned]}, None)
        impl_context = self.context(state, events)
        for attempt in planned:
            self.note(attempt, "planned", host=self.host)
            self.say(f"[{attempt.id}] THINK: {attempt.plan['title']} (predicts {attempt.predicted:.2f}x): "
                     f"IMPLEMENT in its own worktree")
            self.launch(self.attempts[attempt.id], impl_context)
        return None

    def wait_ready(self) -> att.Attempt | None:
        """The next attempt for the measurement queue, waiting for a worker if none is ready (None: Ctrl-C)."""
        while True:
            ready = [a for a in self.pending() if a.ready]
            if ready:
                return att.pick(ready)
            if not self.pending():
                return None
            if self.stop.requested:
                return None
            if not self.harvest(block_s=1.0):
                now = time.monotonic()
                if now - self._said >= PROGRESS_EVERY_S:
                    self._said = now
                    self.say(live_line(live_rows(self.pending(), now, self.started)))

    @staticmethod
    def plan_for(attempt: att.Attempt, state) -> dict[str, Any]:
        """The attempt's plan as its iteration records it: a phase the profile has since shrunk is overridden."""
        plan = dict(attempt.plan)
        if plan_problem(state, {"action": "optimize", **plan}) and not plan.get("override_amdahl"):
            plan["override_amdahl"] = (f"attempt {attempt.id} was planned and implemented before the profile "
                                       f"changed; measured as planned")
        return plan

    def _start_iteration(self, attempt: att.Attempt, state) -> None:
        """The attempt becomes the next iteration: its status first, then its think and plan."""
        camp = self.campaign
        n = len(state.iterations) + 1
        plan = self.plan_for(attempt, state)
        self.note(attempt, "measuring", iteration=n, host=self.host)
        self.say(f"[iter {n}] THINK ({attempt.id}): {plan['title']} (predicts {attempt.predicted:.2f}x)")
        camp.think(plan.get("hypothesis") or plan["title"], plan["options"], plan["chosen"],
                   plan["predicted_speedup"], plan.get("risk") or "not stated")
        self.reload()
        if len(self.pending()) > 1:  # what the others are doing while this one is measured
            self.say(live_line(live_rows(self.pending(), time.monotonic(), self.started)))
        self.plan_answer = plan
        self._plan(camp.state())

    def _recover_plan(self, state) -> dict[str, Any]:
        attempt = att.of_iteration(self.attempts, len(state.iterations))
        if attempt is None:
            return super()._recover_plan(state)
        self.plan_answer = self.plan_for(attempt, state)  # the override its iteration's PLAN needs, again
        return self.plan_answer

    def _implement_and_try(self, state, events) -> None:
        n = len(state.iterations)
        attempt = att.of_iteration(self.attempts, n)
        if attempt is None:
            return super()._implement_and_try(state, events)
        last = state.last_event or {}
        if last.get("type") == "plan" and not self._apply(attempt, state, events, n):
            return
        if self.cluster is not None:
            return self._try_remote(attempt, n)
        with measuring(self.host):
            self._try_and_say(n)

    def _apply(self, attempt: att.Attempt, state, events, n: int) -> bool:
        """Put the attempt's patch in the working tree; False: recorded as a failed attempt instead."""
        from campaign import vcs

        camp = self.campaign
        repo = camp.repo
        vcs.restore(repo, vcs.changes(repo, exclude=[camp.record_rel]))  # a resumed try may find half a patch
        if attempt.status == "failed" or not attempt.patch:
            camp.fail_attempt(attempt.error or "the attempt's IMPLEMENT failed", agent=self.agent.name)
            return False
        problem = apply_patch(repo, camp.record_dir / attempt.patch, attempt.patch_sha256)
        if problem:
            vcs.restore(repo, vcs.changes(repo, exclude=[camp.record_rel]))
            newer = attempt.base != state.last_kept_commit
            why = (f"superseded: its patch no longer applies to the last kept code (another attempt was kept after "
                   f"its worktree started): {problem}" if newer else f"its patch does not apply: {problem}")
            self.say(f"[iter {n}] {attempt.id}: {why[:160]}")
            camp.fail_attempt(why, agent=self.agent.name)
            return False
        if attempt.base != state.last_kept_commit:
            self.say(f"[iter {n}] {attempt.id}: another attempt was kept since its worktree started: measured "
                     f"against the last kept code")
        self.say(f"[iter {n}] IMPLEMENT ({attempt.id}): {str(attempt.summary or '')[:120]}")
        return True


def run_parallel(campaign, agent, say, parallel: int, cluster: str | None = None) -> dict[str, Any]:
    """Drive the campaign with ``parallel`` attempts in flight; with ``cluster`` (a Dask scheduler's address
    or scheduler file) each attempt's TEST + BENCHMARK runs whole on one of its workers."""
    connection = None
    if cluster:
        from campaign.scale.cluster import Cluster

        connection = Cluster(cluster)
        say(f"cluster: {cluster} ({len(connection.client.scheduler_info().get('workers', {}))} worker(s))")
    try:
        return ParallelRunner(campaign, agent, say, parallel, cluster=connection).run()
    finally:
        if connection is not None:
            connection.close()
