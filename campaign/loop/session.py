"""One campaign, step by step: the library behind the loop commands (and ``campaign run``).

``init_campaign(...)`` starts a campaign; ``Campaign.open(workspace, name)``
opens one. Each step is a method that checks the step is due (``StepError``,
exit code 2, otherwise), applies the method's rules (``RuleError``), does the
work, appends the step's events to the journal, re-renders the logs and
returns a plain dict. User mistakes raise the classes of ``campaign.errors``.
The methods delegate to ``campaign/loop/steps/``, one module per step: that
is where a step's work and its refusals are.

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

Benchmark budgets come from the environment (``steps/benchmark.py``), the
baseline's repeat count from ``CAMPAIGN_BASELINE_REPEAT`` (3).

Heavy modules (GitPython, Jinja2, numpy, the measurement layer) are imported
inside the functions that need them: ``status()`` reads the journal only.
"""

from __future__ import annotations

from typing import Any, Callable

from campaign.loop.free_text import check_text
from campaign.loop.steps import decide as _decide
from campaign.loop.steps import finish as _finish
from campaign.loop.steps import init as _init
from campaign.loop.steps import log as _log
from campaign.loop.steps import plan as _plan
from campaign.loop.steps import profile as _profile
from campaign.loop.steps import status as _status
from campaign.loop.steps import think as _think
from campaign.loop.steps import try_change as _try
from campaign.loop.steps.benchmark import FULL_EVERY, bench_budget, benchmark_change
from campaign.loop.steps.context import (
    RECORD_ROOT, CampaignContext, Progress, list_campaigns, record_root,
)
from campaign.loop.steps.init import NAME_RE, RECORD_GITIGNORE, render_agents_md
from campaign.loop.steps.plan import plan_violation
from campaign.loop.steps.status import recovery_note
from campaign.loop.steps.testing import test_change
from campaign.loop.steps.think import parse_speedup

__all__ = [  # the library's API; the helpers live with their step, re-exported here for callers
    "Campaign", "init_campaign", "resume_init", "list_campaigns", "record_root", "RECORD_ROOT", "NAME_RE",
    "RECORD_GITIGNORE", "FULL_EVERY", "Progress", "bench_budget", "benchmark_change", "test_change",
    "plan_violation", "parse_speedup", "recovery_note", "render_agents_md",
]


class Campaign(CampaignContext):
    """An existing campaign: ``optim/<name>/`` in a workspace (a git repository), one method per step."""

    def profile(self, lines: list[str] | tuple[str, ...] = (), progress: Progress = None) -> dict[str, Any]:
        check_text(lines=list(lines))
        return _profile.profile(self, lines, progress)

    def think(self, hypothesis: str, options: list[str], chosen: str, predict: Any, risk: str) -> dict[str, Any]:
        check_text(hypothesis=hypothesis, options=options, chosen=chosen, predict=predict, risk=risk)
        return _think.think(self, hypothesis, options, chosen, predict, risk)

    def plan(self, phase: str | None, change: str, bottleneck: str | None = None, override_amdahl: str | None = None,
             function: str | None = None) -> dict[str, Any]:
        check_text(phase=phase, change=change, bottleneck=bottleneck, override_amdahl=override_amdahl, function=function)
        return _plan.plan(self, phase, change, bottleneck, override_amdahl, function)

    def try_change(self, full: bool = False, progress: Progress = None, agent: str = "cli") -> dict[str, Any]:
        return _try.try_change(self, full, progress, agent)

    def try_more(self, blocks: int | None = None, progress: Progress = None) -> dict[str, Any]:
        """More blocks for the current attempt's inconclusive benchmark (``campaign try --more``)."""
        from campaign.loop.steps.more_blocks import try_more

        return try_more(self, blocks, progress)

    def record_tune(self, spec: str, run_tune: Callable[[float | None], dict[str, Any]]) -> dict[str, Any]:
        """A tune as the measurement of this iteration (``campaign tune --record``), while TRY is due."""
        return _try.record_tune(self, spec, run_tune)

    def fail_attempt(self, reason: str, agent: str = "cli") -> dict[str, Any]:
        """Record an IMPLEMENT that failed (the agent crashed, hung or changed nothing) as a failed TEST."""
        return _try.fail_attempt(self, reason, agent)

    def log(self, surprise: str | None = None, notes: str | None = None, why: str | None = None,
            lesson: str | None = None, keep: str | None = None, accept_memory: str | None = None,
            memory_limit: float | None = None) -> dict[str, Any]:
        check_text(surprise=surprise, notes=notes, why=why, lesson=lesson, keep=keep, accept_memory=accept_memory)
        return _log.log(self, surprise, notes, why, lesson, keep, accept_memory, memory_limit)

    def decide(self, exhausted: bool = False, why: str | None = None, phase: str | None = None,
               stop: bool = False) -> dict[str, Any]:
        check_text(why=why, phase=phase)
        return _decide.decide(self, exhausted, why, phase, stop)

    def skip(self, why: str) -> dict[str, Any]:
        check_text(why=why)
        return _decide.skip(self, why)

    def finish(self, progress: Progress = None) -> dict[str, Any]:
        return _finish.finish(self, progress)

    def finish_missing(self, state) -> list[str]:
        """What git lacks of a recorded finish (the post tag, the merge); empty when really finished."""
        return _finish.finish_missing(self, state)

    def render(self) -> dict[str, Any]:
        with self.locked():
            changed = self.render_files()
        return {"ok": True, "record": str(self.record_dir), "changed": changed,
                "files": ["optimization_log.md", "thinking_log.md", "summary.md"]}

    def status(self) -> dict[str, Any]:
        """Where the campaign stands: the journal (or its protected copy), checked against git when finished."""
        return _status.status(self)


def init_campaign(*args: Any, **kwargs: Any) -> Campaign:
    """Start a campaign (``steps/init.py``), answered as a ``Campaign``."""
    kwargs["facade"] = Campaign
    return _init.init_campaign(*args, **kwargs)


def resume_init(workspace: Any, name: str | None = None, progress: Progress = None) -> Campaign:
    """Complete an interrupted ``init`` (``campaign init --resume``), answered as a ``Campaign``."""
    return _init.resume_init(workspace, name, progress, facade=Campaign)
