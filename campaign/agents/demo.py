"""``campaign demo``: a playbook campaign in a scratch git workspace, start to end.

The target writes its naive baseline into a fresh directory, which becomes a
git repository with one commit; ``campaign run --agent playbook`` then runs
the whole loop there. With ``export_dir`` the finished record is copied out
(this is how the shipped ``optim/weight_search/`` is produced: never by hand).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from campaign.errors import UserError

# the flagship's demo goal: out of reach on purpose, so that the campaign stops on its own
# rules (playbook exhausted / cap) rather than early on a goal
DEFAULT_DEMO_GOAL = 1_000_000.0


def make_workspace(target, workdir: Path) -> None:
    """Create ``workdir`` as a git repo holding the target's baseline, committed."""
    import git

    if workdir.exists() and any(workdir.iterdir()):
        raise UserError(f"--workdir {workdir} is not empty; give a new or empty directory (the demo creates a git repo there).")
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        target.create_workspace(workdir)
    except NotImplementedError as exc:
        raise UserError(f"{exc}; the demo needs a target that can create its own workspace.") from None
    repo = git.Repo.init(workdir, initial_branch="main")
    with repo.config_writer() as cfg:
        cfg.set_value("user", "name", "campaign demo")
        cfg.set_value("user", "email", "demo@campaign.invalid")
    (workdir / ".gitignore").write_text("__pycache__/\n*.pyc\n*.nbi\n*.nbc\n")
    repo.git.add("-A")
    repo.git.commit("-q", "-m", f"{target.name}: naive baseline (demo workspace)")


def run_demo(
    target_spec: str,
    workdir: Path | None,
    max_iterations: int | None,
    goal_speedup: str | None,
    export_dir: Path | None,
    progress: Callable[[str], None],
) -> dict[str, Any]:
    from campaign.review.trust import remember_trusted
    from campaign.agents.launch import run_campaign
    from campaign.plugins.loading import load_target

    started = time.perf_counter()
    target = load_target(target_spec)  # a TargetError is a UserError (target_error)
    workdir = Path(workdir).resolve() if workdir else Path(tempfile.mkdtemp(prefix=f"campaign-demo-{target.name}-"))
    progress(f"demo workspace: {workdir}")
    make_workspace(target, workdir)
    goal = goal_speedup if goal_speedup is not None else getattr(target, "demo_goal", DEFAULT_DEMO_GOAL)
    result = run_campaign(workdir, target_spec, "playbook", goal_speedup=goal, max_iterations=max_iterations,
                          progress=progress)
    record = Path(result["record"])
    if result.get("finished"):
        remember_trusted(record)
    if export_dir is not None:
        dest = Path(export_dir) / record.name
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(record, dest, ignore=shutil.ignore_patterns(".lock", ".lock.holder", "*.tmp"))
        progress(f"record exported to {dest}")
        result["exported"] = str(dest)
    result["workspace"] = str(workdir)
    result["wall_s"] = time.perf_counter() - started
    return result
