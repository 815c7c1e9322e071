"""Which agent drives ``campaign run``: the choice checked before anything starts, built, and kept on record.

The choice (agent kind, its command, its timeout, its budget) is recorded in the journal
as a ``run`` event at every start, so ``campaign run --resume`` continues with
the same agent without flags; flags given on a resume win and are recorded in
turn.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campaign.errors import UserError

AGENT_KINDS = ("playbook", "command", "claude", "codex", "aider", "prompt")
DEFAULT_AGENT_TIMEOUT_S = 1800.0


def check_agent(kind: str, agent_cmd: str | None, target) -> None:
    """Refuse an unusable agent choice (``UserError``) before anything is started."""
    import shutil
    import shlex

    from campaign.agents.adapters import ADAPTERS

    if kind == "playbook":
        if not target.playbook():
            raise UserError(
                f"target {target.name!r} has no playbook, so the playbook agent has nothing to apply. "
                f"Use --agent claude|codex|aider, --agent prompt --agent-cmd 'tool -p {{prompt}}', or "
                f"--agent command --agent-cmd '<your agent>' (see docs/agents.md)."
            )
    elif kind in ("command", "prompt"):
        if not agent_cmd or not agent_cmd.strip():
            form = ("'<program>' (it reads a JSON request on stdin and prints a JSON answer; see the protocol "
                    "in docs/agents.md)" if kind == "command" else
                    "'<tool> -p {prompt}' ({prompt} is replaced by the prompt; without it the prompt goes to stdin)")
            raise UserError(f"--agent {kind} needs --agent-cmd {form}.")
    elif kind in ADAPTERS:
        program = shlex.split(agent_cmd)[0] if agent_cmd and agent_cmd.strip() else kind
        if not (shutil.which(program) or Path(program).is_file()):
            raise UserError(f"--agent {kind}: {program!r} is not on PATH; install it (see docs/agents.md) "
                            f"or name the executable with --agent-cmd /path/to/{kind}.")
    else:
        raise UserError(f"unknown agent {kind!r}: use one of {', '.join(AGENT_KINDS)}.")


def make_agent(kind: str, campaign, agent_cmd: str | None = None, timeout_s: float = 1800.0):
    """The agent named on the command line (or recorded by the run being resumed)."""
    from campaign.agents.adapters import ADAPTERS, CliAgent
    from campaign.agents.command_agent import CommandAgent
    from campaign.agents.playbook_agent import PlaybookAgent

    check_agent(kind, agent_cmd, campaign.target)
    if kind == "playbook":
        return PlaybookAgent(campaign.target.playbook(), campaign.workspace)
    if kind in ADAPTERS:
        return CliAgent(kind, campaign.workspace, list(campaign.target.scope), agent_cmd, timeout_s)
    return CommandAgent(agent_cmd or "", campaign.workspace, timeout_s=timeout_s)  # check_agent refused an empty one


def run_settings(kind: str, agent_cmd: str | None, timeout_s: float, resumed: bool,
                 budget: dict[str, Any] | None = None) -> dict[str, Any]:
    """The data of the ``run`` event: who drives this campaign (so ``--resume`` needs no flags), its
    budget (``--budget-usd``, ``--budget-tokens``: DECIDE stops when the agent's reported spend reaches
    it) and which process drives it (so ``status`` can tell a running run from a stopped one)."""
    import os

    from campaign.measure.procs import process_start_time

    budget = budget or {}
    return {"agent": kind, "agent_cmd": agent_cmd, "agent_timeout_s": timeout_s, "resumed": resumed,
            "budget_usd": budget.get("budget_usd"), "budget_tokens": budget.get("budget_tokens"),
            "pid": os.getpid(), "started": process_start_time()}


REPORTED = {"claude": ("budget_usd", "budget_tokens"), "codex": ("budget_tokens",),
            "command": ("budget_usd", "budget_tokens")}  # which budget each agent's own reports can reach


def budget_note(kind: str, budget: dict[str, Any] | None) -> str | None:
    """A warning for a budget the agent's reports cannot reach (a dollar budget on codex, any on aider), else None."""
    flags = {"budget_usd": "--budget-usd", "budget_tokens": "--budget-tokens"}
    given = budget if budget is not None else {}
    blind = [flags[key] for key in flags if given.get(key) is not None and key not in REPORTED.get(kind, ())]
    if not blind:
        return None
    what = {"codex": "reports tokens but no price", "command": "may report its spend"}.get(kind, "reports no spend")
    return (f"warning: agent {kind!r} {what}, so {' and '.join(blind)} cannot stop this run "
            f"(see Cost in docs/agents.md).")


def resumed_budget(recorded: dict[str, Any] | None, given: dict[str, Any] | None) -> dict[str, Any]:
    """The budget of a resumed run: each limit given now wins, the recorded run's fills the rest (pure)."""
    recorded, given = recorded or {}, given or {}
    return {key: given.get(key) if given.get(key) is not None else recorded.get(key)
            for key in ("budget_usd", "budget_tokens")}


def resumed_settings(recorded: dict[str, Any] | None, kind: str | None, agent_cmd: str | None,
                     timeout_s: float | None) -> tuple[str, str | None, float]:
    """The agent for a resumed run: flags given now win, the recorded run fills the rest (pure).

    A campaign with no recorded run (driven by hand so far) falls back to
    ``playbook`` only when no other agent is named.
    """
    recorded = recorded or {}
    if kind is None:
        kind = recorded.get("agent") or "playbook"
        if agent_cmd is None and kind == recorded.get("agent"):
            agent_cmd = recorded.get("agent_cmd")
    elif agent_cmd is None and kind == recorded.get("agent"):
        agent_cmd = recorded.get("agent_cmd")
    if timeout_s is None:
        timeout_s = recorded.get("agent_timeout_s") or DEFAULT_AGENT_TIMEOUT_S
    return kind, agent_cmd, float(timeout_s)
