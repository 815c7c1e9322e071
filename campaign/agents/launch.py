"""``campaign run``'s entry: open or start the campaign, then drive it serially or with attempts in parallel.

Apart from ``runner`` so that the serial driver (``runner.Runner``) and the
parallel one (``parallel.ParallelRunner``, built on it) are both chosen here
without an import cycle inside ``agents/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from campaign.agents.choice import (DEFAULT_AGENT_TIMEOUT_S, budget_note, check_agent, make_agent, resumed_budget,
                                    resumed_settings, run_settings)
from campaign.agents.runner import Progress, Runner
from campaign.errors import UserError


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
    parallel: int | None = None,
    cluster: str | None = None,
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
                          opened, say, agent_timeout_s, lease, budget, parallel, cluster)
        kind, cmd, timeout_s = campaign.recorded_agent
        agent = make_agent(kind, campaign, cmd, timeout_s)
        cluster = campaign.recorded_cluster  # `--cluster`, or the one on record when resumed without it
        if campaign.recorded_parallel > 1 or cluster:  # `--parallel K`: K attempts in flight (agents/parallel.py)
            from campaign.agents.parallel import run_parallel

            return run_parallel(campaign, agent, say, campaign.recorded_parallel, cluster)
        return Runner(campaign, agent, say).run()


def _start(workspace, target_spec, agent_kind, agent_cmd, name, goal_speedup, max_iterations, campaign, say,
           agent_timeout_s, lease, budget=None, parallel=None, cluster=None):
    """Open (``campaign`` given: resume) or start the campaign; its ``recorded_agent`` is who the run asks."""
    from campaign.loop import machine
    from campaign.loop.session import init_campaign, list_campaigns

    if campaign is not None:
        recorded = machine.derive(campaign.journal.events()).run
        agent_kind, agent_cmd, agent_timeout_s = resumed_settings(recorded, agent_kind, agent_cmd, agent_timeout_s)
        budget = resumed_budget(recorded, budget)
        parallel = parallel or (recorded.get("parallel") if recorded else None)
        cluster = cluster or (recorded.get("cluster") if recorded else None)
        check_agent(agent_kind, agent_cmd, campaign.target)
        lease.set_agent(agent_kind)
        with campaign.lock:
            campaign.record_event("run", {**run_settings(agent_kind, agent_cmd, agent_timeout_s, True, budget),
                                          "parallel": parallel, "cluster": _cluster_of(cluster)})
        say(f"resuming campaign {campaign.name!r} at step {campaign.status()['step']} with agent {agent_kind!r}"
            + (f" ({agent_cmd})" if agent_cmd else "") + (f" on cluster {cluster}" if _cluster_of(cluster) else ""))
    else:
        if not target_spec:
            raise UserError("--target is required to start a campaign (or --resume to continue one).")
        from campaign.plugins.loading import load_target

        target = load_target(target_spec, workspace)  # a TargetError is a UserError (target_error)
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
                                 run_settings={**run_settings(agent_kind, agent_cmd, agent_timeout_s, False, budget),
                                               "parallel": parallel, "cluster": _cluster_of(cluster)},
                                 **kwargs)
    if budget_note(agent_kind, budget):
        say(budget_note(agent_kind, budget))
    campaign.recorded_agent = (agent_kind, agent_cmd, agent_timeout_s)
    campaign.recorded_parallel = int(parallel or 1)
    campaign.recorded_cluster = _cluster_of(cluster)
    return campaign


def _cluster_of(cluster: str | None) -> str | None:
    """The cluster to measure on (a scheduler file by its absolute path, for a resume from elsewhere);
    ``--cluster local`` resumes a cluster campaign on this host alone."""
    if not cluster or cluster == "local":
        return None
    return str(Path(cluster).resolve()) if cluster.endswith(".json") else cluster
