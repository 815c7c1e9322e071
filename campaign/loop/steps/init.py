"""INIT: start a campaign - validate, tag, branch, baseline, AGENTS.md + SKILL.md, start commit.

``init_campaign`` refuses an empty ``--target``, a goal speedup that is not a
number above 1, ``--max-iterations`` under 1, an unusable or taken campaign
name, an existing campaign (its journal, or the journal's protected copy),
an existing campaign branch, a repository without commits, scope globs
outside the repository or matching no committed file, a dirty working tree,
a tag of the same name on another commit, a workload that fails or writes
files into the repository, a test command that already fails on the
baseline - all before anything is written; of two inits of one name at once
one wins (the existence check runs under a lock kept in
the git folder). A workload reporting no outputs is warned about (TEST would
check nothing) and the warning recorded. It writes the ``init`` event before
touching git, so an interrupted init is completed by ``campaign init
--resume`` (``resume_init``): tag, branch, baseline (fast and full case,
recorded once) and start commit. The record is then committed on its own
(``loop/record_commits.py``: the ``commit`` event naming the start commit
cannot be in it), so ``git status`` is clean after init.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from pathlib import Path
from typing import Any, Callable

from campaign.errors import RuleError, UserError
from campaign.loop import machine
from campaign.loop import record_guard, stopping
from campaign.loop.harness import hash_harness
from campaign.loop.steps.context import RECORD_ROOT, CampaignContext, Progress, env_number
from campaign.loop.steps.think import parse_speedup

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
RECORD_GITIGNORE = ".lock\n.lock.holder\n*.tmp\n"


def complete_init(ctx: CampaignContext, progress: Progress = None) -> None:
    """Tag, branch, baseline and start commit: whatever of them the journal does not record yet."""
    from campaign import vcs

    say = progress or (lambda line: None)
    state = ctx.state()
    init = state.init
    repo = ctx.repo
    vcs.ensure_tag(repo, init["pre_tag"], init["base_commit"])
    if repo.head.is_detached or repo.active_branch.name != init["branch"]:
        vcs.switch_to_new_branch(repo, init["branch"], init["base_commit"])
    if state.baseline is None:
        for leftover in ("baseline.json", "baseline_results", "baseline_snapshot", "baseline_snapshot.tar.gz"):
            path = ctx.record_dir / leftover
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        say("recording the baseline (fast and full case)...")
        data = ctx.measure(lambda: record_campaign_baseline(ctx))
        data["commit"] = data.get("commit") or init["base_commit"]
        ctx.record_event("baseline", data)
        state = ctx.state()
    if state.start_commit is None:
        paths = [ctx.record_rel]
        from campaign.loop.framework_files import AGENTS_MD, SKILL_MD

        for filename, render in ((AGENTS_MD, render_agents_md), (SKILL_MD, render_skill_md)):
            path = ctx.workspace / filename
            text = render(ctx.name, ctx.target, init, ctx.record_rel)
            if not path.exists():
                path.write_text(text)
                paths.append(filename)
            elif filename in vcs.changes(repo, agent_config=True).untracked and path.read_text() == text:
                paths.append(filename)  # written by this init before an interruption (a user's own file stays theirs)
        (ctx.record_dir / ".gitignore").write_text(RECORD_GITIGNORE)
        ctx.render_files()
        message = f"campaign {ctx.name}: start (baseline recorded)"
        sha = vcs.commit_with_message(repo, message, init["base_commit"]) or vcs.commit_paths(repo, paths, message)
        ctx.record_event("commit", {"commit": sha, "message": message, "patch": None})
    from campaign.loop.record_commits import commit_due

    commit_due(ctx, init["branch"])  # the record with the event naming the start commit: a clean tree after init


def record_campaign_baseline(ctx: CampaignContext) -> dict[str, Any]:
    """The baseline: the fast case and (if different) the full case, ``CAMPAIGN_BASELINE_REPEAT`` runs each."""
    from campaign.measure.baseline import record_baseline

    target = ctx.target
    cases = [target.fast_case] + ([target.full_case] if target.full_case != target.fast_case else [])
    repeat = int(env_number("CAMPAIGN_BASELINE_REPEAT", 3))
    return record_baseline(target, ctx.workspace, ctx.record_dir, cases, repeat=repeat)


def _cli() -> str:
    from campaign.loop.driver import cli_command

    return cli_command()


def render_agents_md(name: str, target, init: dict[str, Any], record: str | None = None) -> str:
    from campaign.loop.render import render_template

    return render_template(
        "AGENTS.md.j2", name=name, cli=_cli(), record=record or f"optim/{name}", target=target.name, scope=list(target.scope),
        goal=init.get("goal_speedup"), max_iterations=init.get("max_iterations"),
        postmortem_factor=init.get("postmortem_factor"), phases=list(getattr(target, "phases", []) or []),
    )


def _require_passing_test_command(target, workspace: Path, say: Callable[[str], None]) -> None:
    """The target's own test command must pass on the baseline, or every TEST would fail for that reason."""
    from campaign.measure.correctness import run_test_command, test_command_failure

    if not target.test_command:
        return
    say(f"checking that the test command passes on the baseline ({target.test_command})...")
    failure = test_command_failure(run_test_command(target.test_command, workspace, target.timeout_s,
                                                    getattr(target, "junit_xml", None), target=target))
    if failure:
        raise UserError(f"{failure}. It already fails on the baseline, so every attempt's TEST would fail for this "
                        f"reason, not for its change. Fix the command or its environment, then run init again.")


def render_skill_md(name: str, target, init: dict[str, Any], record: str | None = None) -> str:
    """SKILL.md (Agent Skills: YAML front matter with name and description, then instructions)."""
    import json
    import re

    from campaign.loop.render import render_template

    skill = "campaign-" + (re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "target")
    description = (f"Run or continue the performance-optimization campaign {name!r} in this repository with the "
                   f"campaign tool (MCP server or CLI): profile, pre-register a prediction, change code in scope, "
                   f"test, benchmark, log. Use when asked to make {target.name} faster or to continue or report "
                   f"this campaign.")
    return render_template(
        "SKILL.md.j2", name=name, cli=_cli(), record=record or f"optim/{name}", skill_name=skill[:64].rstrip("-"),
        description=json.dumps(description),
        target=target.name, scope=list(target.scope), goal=init.get("goal_speedup"),
        max_iterations=init.get("max_iterations"), postmortem_factor=init.get("postmortem_factor"),
    )


def init_campaign(
    workspace: Path | str,
    target_spec: str,
    name: str | None = None,
    goal_speedup: float = 2.0,
    max_iterations: int = stopping.DEFAULT_MAX_ITERATIONS,
    progress: Progress = None,
    run_settings: dict[str, Any] | None = None,
    facade: type[CampaignContext] = CampaignContext,
):
    """Start a campaign (returned as a ``facade``: ``session.Campaign`` passes itself): validate, tag, branch, snapshot, baseline, AGENTS.md + SKILL.md, start commit.

    ``run_settings`` (from ``campaign run``: the agent and its command) is
    recorded right after ``init``, so even a run killed during the baseline
    resumes with its agent.
    """
    from campaign import vcs
    from campaign.plugins.loading import load_target
    from campaign.plugins.project_env import target_env

    from campaign.loop.free_text import check_text

    workspace = Path(workspace).resolve()
    say = progress or (lambda line: None)
    check_text(target=target_spec, name=name)
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
    base_commit = vcs.head_commit(repo)  # a clear error, not a raw git one, in a repository without commits
    target_spec = target_inside(str(target_spec).strip(), workspace)
    target = load_target(target_spec, workspace)  # a TargetError is a UserError (target_error)
    name = name or target.name
    if not NAME_RE.match(name or ""):
        raise UserError(f"campaign name {name!r} is not usable: use letters, digits, '.', '_' or '-' (at most 64), "
                        f"e.g. --name primes-1.")
    rejected = vcs.ref_name_problem(f"refs/heads/optimization/{name}", f"refs/tags/{name}/pre-optimization")
    if rejected:
        raise UserError(f"campaign name {name!r} is not usable: git rejects the ref {rejected} it would create "
                        f"(`git check-ref-format`: no '..', no '.' at the end or after '/', no '.lock' ending). "
                        f"Choose another, e.g. --name primes-1.")
    _require_measure_settings(workspace)
    committed = [p for p in vcs.files_at(repo, base_commit) if not p.startswith(RECORD_ROOT + "/")]
    problem = vcs.scope_problem(target.scope, committed)
    if problem:
        raise UserError(f"{problem} (target {target.name!r}, scope: {', '.join(target.scope)})")
    campaign = facade(workspace, name)
    campaign.notify = say
    with record_guard.init_lock(workspace, name) or contextlib.nullcontext():  # two inits: one checks at a time
        _refuse_existing(campaign)
        vcs.require_clean(repo, exclude=[campaign.record_rel])
        start_branch = vcs.current_branch(repo)
        branch, pre_tag = f"optimization/{name}", vcs.campaign_ref(name, "pre-optimization")
        if vcs.branch_exists(repo, branch):
            raise UserError(f"the branch {branch} already exists; choose another campaign name with --name "
                            f"(or delete the branch: `git branch -D {branch}`).")
        if vcs.tag_commit(repo, pre_tag) not in (None, base_commit):
            vcs.ensure_tag(repo, pre_tag, base_commit)  # raises the clear "tag exists elsewhere" error
        warnings = _check_workload(campaign, target, repo, say)
        with campaign.lock:
            campaign.record_event("init", {
                "name": name, "target_spec": target_spec, "target": target.describe(), "goal_speedup": goal,
                "max_iterations": int(max_iterations), "min_gain": stopping.MIN_GAIN,
                "postmortem_factor": stopping.POSTMORTEM_FACTOR, "start_branch": start_branch, "branch": branch,
                "pre_tag": pre_tag, "base_commit": base_commit, "workspace": str(workspace), "warnings": warnings,
                "environment": target_env(target).to_dict(),
                "harness": hash_harness(workspace, committed, target),  # loop/harness.py: frozen for every attempt
            })
            if run_settings is not None:
                campaign.record_event("run", run_settings)
            campaign._target = target
            complete_init(campaign, say)
    return campaign


PATH_PREFIXES = ("pytest-benchmark:", "perf-test:")


def target_inside(spec: str, workspace: Path) -> str:
    """``spec`` with a file it names checked to be inside the repository (returned relative to it).

    A ``campaign.toml`` (or a benchmark folder) outside the repository would run commands the record does
    not hold: neither frozen with the harness at init nor in the baseline snapshot a replay rebuilds from.
    """
    prefix = next((p for p in PATH_PREFIXES if spec.startswith(p)), "")
    path_text = spec[len(prefix):]
    if not prefix and not path_text.endswith(".toml"):
        return spec  # a built-in name or module:Class
    path = Path(path_text).expanduser()
    resolved = (path if path.is_absolute() else workspace / path).resolve()
    root = Path(workspace).resolve()
    if not resolved.is_relative_to(root):
        raise UserError(
            f"the target {path_text} is outside the repository {root}. A campaign runs only a target the "
            f"repository holds (its harness is frozen at init and snapshotted with the baseline, so a review "
            f"and a replay see what ran): copy it into the repository, commit it, and pass its path "
            f"(e.g. --target campaign.toml).")
    return prefix + resolved.relative_to(root).as_posix() if path.is_absolute() or ".." in path.parts else spec


def _require_measure_settings(workspace: Path) -> None:
    """Every measurement setting checked now: a bad one found at BENCHMARK could not be fixed any more
    (campaign.toml is frozen at init; editing it is an out-of-scope edit)."""
    from campaign.loop.steps.benchmark import bench_budget

    try:
        bench_budget(workspace)
    except UserError as exc:
        raise UserError(f"{exc}. Fix it and commit, then run init again (campaign.toml is frozen once the campaign "
                        f"starts).") from None


def _refuse_existing(campaign: CampaignContext) -> None:
    """A campaign of this name exists when its journal or the journal's protected copy holds events."""
    from campaign.loop.journal import parse_journal

    copy = campaign.journal.copy_path
    journal = campaign.journal.path
    if journal.exists() and parse_journal(journal.read_bytes(), str(journal)).events:
        where = str(campaign.record_dir)
    elif copy is not None and campaign.journal.kept_bytes():
        ref = f"refs/campaign/{campaign.name}/journal"
        where = (f"{copy} (the protected copy of its journal, kept outside the work tree, and the git ref {ref}: "
                 f"`campaign status` shows it and the next command restores optim/{campaign.name}/; to start over "
                 f"under this name instead, delete {copy.parent} and `git update-ref -d {ref}`)")
    else:
        return
    raise UserError(
        f"a campaign named {campaign.name!r} already exists in {where}. Continue it (`campaign status` "
        f"says what is next; `campaign init --resume` completes an interrupted init) or start another "
        f"with --name."
    )


def _check_workload(campaign: CampaignContext, target, repo, say: Callable[[str], None]) -> list[str]:
    """Run the fast case once before anything is written; the warnings init records and prints."""
    from campaign import vcs
    from campaign.measure.workload import build, run_workload
    from campaign.plugins.project_env import target_env

    say(f"the workload and the tests run under {target_env(target).describe()}")
    say(f"checking that the workload runs (case {target.fast_case!r})...")
    run = campaign.measure(lambda: (build(target, campaign.workspace),
                                     run_workload(target, target.fast_case, campaign.workspace, repeat=1))[1])
    _require_passing_test_command(target, campaign.workspace, say)
    written = vcs.changes(repo, exclude=[campaign.record_rel]).files
    if written:
        raise UserError(
            f"the workload wrote files into the repository ({', '.join(written[:5])}). Every change in the tree "
            f"counts as the attempt's edit (and is reverted on failure), so the workload must write elsewhere "
            f"or those paths must be in .gitignore; fix that, remove the files, and run init again."
        )
    problem = declaration_problem(target, run.outputs, run.phases)
    if problem:
        raise UserError(f"{problem} (case {target.fast_case!r}). Fix the target's declaration or the workload, "
                        f"commit, and run init again.")
    warnings = []
    if not run.outputs:
        warnings.append(f"the workload's case {target.fast_case!r} reports no outputs ({{\"outputs\": {{}}}}), so "
                        f"TEST checks nothing but that it runs (and the test command): print the results that "
                        f"must not change under \"outputs\".")
    for warning in warnings:
        say(f"warning: {warning}")
    return warnings


def declaration_problem(target, outputs: dict[str, Any], phases: dict[str, Any]) -> str | None:
    """What the target declares that its workload's run contradicts (pure), or None.

    A tolerance for an output the workload does not report checks nothing (a typo passes every TEST); a
    phase the workload reports but the target does not declare cannot be planned or bounded by Amdahl.
    """
    import fnmatch

    names = list(outputs or {})
    orphans = [key for key in (getattr(target, "tolerances", None) or {})
               if not any(key == n or fnmatch.fnmatchcase(n, key) for n in names)]
    if orphans and names:  # no outputs at all: init warns about that instead (TEST checks nothing)
        return (f"[tolerances] names output(s) the workload does not report: {', '.join(orphans)} (it reports: "
                f"{', '.join(names) or 'none'}); a tolerance for nothing would check nothing")
    declared = list(getattr(target, "phases", None) or [])
    undeclared = [p for p in (phases or {}) if declared and p not in declared]
    if undeclared:
        return (f"the workload reports phase(s) the target does not declare: {', '.join(undeclared)} (declared: "
                f"{', '.join(declared)}); declare them (phases = [...]) so PROFILE and PLAN can use them")
    return None


def resume_init(workspace: Path | str, name: str | None = None, progress: Progress = None,
                facade: type[CampaignContext] = CampaignContext):
    """Complete an interrupted ``init`` (``campaign init --resume``)."""
    campaign = facade.open(workspace, name)
    if progress is not None:
        campaign.notify = progress
    with campaign.locked():
        state = campaign.state()
        machine.check_command("init", state, campaign.cli_extra)
        complete_init(campaign, progress)
    return campaign
