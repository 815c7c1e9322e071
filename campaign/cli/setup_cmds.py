"""Before the loop: ``campaign init`` starts a campaign, ``campaign targets`` lists what it can optimize."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from campaign.cli.common import dir_option, emit, json_option, quiet_option
from campaign.cli.common import user_errors as _errors
from campaign.cli.loop_common import live, next_line


# -- init ---------------------------------------------------------------------------


@click.command("init")
@click.option("--target", "target_spec", default=None, metavar="SPEC",
              help="What to optimize: a built-in target name, 'module:Class', campaign.toml, "
                   "'pytest-benchmark:PATH' or 'perf-test:SCRIPT' (see `campaign targets`).")
@click.option("--name", default=None, help="Campaign name (default: the target's name); the record is optim/<name>/.")
@click.option("--goal-speedup", default="2", show_default=True, metavar="X",
              help="Stop when the cumulative speedup over the baseline reaches X (e.g. 3 or 3x).")
@click.option("--max-iterations", default=15, show_default=True, type=int, help="Iteration cap.")
@click.option("--resume", is_flag=True, help="Complete an interrupted init (tag, branch, baseline, start commit).")
@quiet_option
@dir_option
@json_option
@_errors
def init(target_spec, name, goal_speedup, max_iterations, resume, quiet, workspace, as_json):
    """Start a campaign on a clean git repository.

    Checks that the workload runs, tags <name>/pre-optimization, creates and
    switches to branch optimization/<name>, snapshots the scope files, records
    the baseline (optim/<name>/baseline.json), writes AGENTS.md and SKILL.md
    (for coding agents) and commits the record as the start commit. Refuses a
    dirty working tree.

    Example: campaign init --target campaign.toml --goal-speedup 3
    """
    from campaign.loop.session import init_campaign, resume_init

    with live(quiet) as progress:
        if resume:
            campaign = resume_init(workspace, name, progress)
        else:
            campaign = init_campaign(workspace, target_spec, name, goal_speedup, max_iterations, progress)
    result = campaign.status()
    result["step_done"] = "init"
    started = campaign.state().init
    result["environment"] = started.environment if started else None  # whose Python runs the workload
    emit(result, as_json, lambda r: f"campaign {r['name']} started on branch optimization/{r['name']} "
                                    f"(record: {r['record']})\n" + _env_line(r) + next_line(r))


def _env_line(r: dict[str, Any]) -> str:
    env = r.get("environment") or {}
    return f"the workload and tests run under {env['python']} ({env['how']})\n" if env.get("python") else ""


@click.command("targets")
@dir_option
@json_option
@_errors
def targets(workspace, as_json):
    """List the targets: built-ins (targets/ packages) and a campaign.toml in --dir."""
    from campaign.plugins.target import TargetError
    from campaign.plugins.loading import builtin_targets

    result: dict[str, Any] = {"ok": True, "builtin": builtin_targets(), "toml": None}
    path = Path(workspace) / "campaign.toml"
    if path.exists():
        from campaign.plugins.toml_target import load_toml_target

        try:
            t = load_toml_target(path)
            result["toml"] = {"path": str(path), "ok": True, "name": t.name, "scope": t.scope, "spec": "campaign.toml"}
        except TargetError as exc:
            result["toml"] = {"path": str(path), "ok": False, "error": str(exc)}

    def text(r):
        lines = ["built-in targets:"] + [f"  {n:<20} {s}" for n, s in sorted(r["builtin"].items())]
        if len(lines) == 1:
            lines.append("  (none)")
        toml = r["toml"]
        if toml:
            lines.append(f"campaign.toml: {toml['name']} (use --target campaign.toml)" if toml["ok"]
                         else f"campaign.toml is broken: {toml['error']}")
        lines.append("any class: --target module:Class")
        lines.append("a pytest-benchmark suite: --target pytest-benchmark:PATH (or kind = \"pytest-benchmark\" in campaign.toml)")
        lines.append("a GSO-style perf test script: --target perf-test:SCRIPT (or kind = \"perf-test\" in campaign.toml)")
        return "\n".join(lines)

    emit(result, as_json, text)
