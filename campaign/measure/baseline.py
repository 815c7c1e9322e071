"""The baseline: the measured starting point every later number is judged against.

``record_baseline`` runs each case in a fresh process (fixed seeds are the
target's business: its cases are seeded) and writes, under the campaign's
record folder:

* ``baseline.json`` - commit hash and dirty flag, and per case: outputs,
  phase times, median warm time, first-call time, JIT compile time; the
  environment (machine, library versions, load);
* ``baseline_results/<case>.json`` - the case's outputs alone (what TEST
  compares against);
* ``baseline_snapshot/`` - the starting point's files, from which a replay
  rebuilds the workspace: every tracked file at the commit (the record
  folders under ``optim/`` excepted) when the tree is clean, else the
  target's scope files as they are in the working tree.

A baseline is never overwritten: a second ``record_baseline`` into the same
folder is an error. When a baseline is compared with a run on another
machine or environment, ``environment_warnings`` says what differs.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import statistics
from pathlib import Path

from campaign.measure.environment import collect_environment, environment_differences
from campaign.measure.workload import run_workload

FORMAT_VERSION = 1
BASELINE_FILE = "baseline.json"
RESULTS_DIR = "baseline_results"
SNAPSHOT_DIR = "baseline_snapshot"


class BaselineError(Exception):
    """The baseline cannot be recorded or read (exists already, missing, corrupt)."""


def git_state(workspace: Path) -> tuple[str | None, bool | None]:
    """(HEAD commit hex, dirty flag ignoring untracked files) of the workspace's repository."""
    try:
        import git

        repo = git.Repo(workspace, search_parent_directories=True)
        return repo.head.commit.hexsha, repo.is_dirty(untracked_files=False)
    except Exception:  # noqa: BLE001 - not a repository or no commit yet
        return None, None


def _scope_files(target, workspace: Path) -> list[Path]:
    files: set[Path] = set()
    for pattern in getattr(target, "scope", []) or []:
        files.update(p for p in workspace.glob(pattern) if p.is_file())
    return sorted(files)


def snapshot_scope(target, workspace: Path, dest: Path) -> list[str]:
    """Copy the target's scope files from the working tree into ``dest``; the relative paths."""
    copied = []
    for path in _scope_files(target, workspace):
        rel = path.relative_to(workspace)
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, out)
        copied.append(str(rel))
    return copied


def snapshot(target, workspace: Path, record_dir: Path, commit: str | None, dirty: bool | None) -> list[str]:
    """Write ``record_dir/baseline_snapshot/``; the relative paths it holds.

    A clean commit is snapshotted whole (what replay needs to rebuild the
    workspace from the record alone), leaving out the folder that holds the
    records; an uncommitted or non-git workspace gives its scope files.
    """
    dest = record_dir / SNAPSHOT_DIR
    if dest.exists():
        shutil.rmtree(dest)
    if commit and dirty is False:
        import git

        from campaign import vcs

        repo = git.Repo(workspace, search_parent_directories=True)
        root = Path(repo.working_tree_dir).resolve()
        records = Path(record_dir).resolve().parent
        exclude = [records.relative_to(root).as_posix() + "/"] if records.is_relative_to(root) and records != root else []
        return vcs.snapshot_scope(repo, commit, dest, ["**"], exclude=exclude)
    return snapshot_scope(target, workspace, dest)


def _write_json(path: Path, data) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)
        fh.write("\n")
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)


def record_baseline(target, workspace: Path, record_dir: Path, cases: list[str], repeat: int = 3) -> dict:
    """Run ``cases`` in ``workspace`` and write the baseline into ``record_dir``.

    Returns the ``baseline`` event data for the first case, with every case
    under ``cases``. Raises ``BaselineError`` if a baseline exists already;
    ``WorkloadError`` when a case fails.
    """
    workspace, record_dir = Path(workspace), Path(record_dir)
    path = record_dir / BASELINE_FILE
    if path.exists():
        raise BaselineError(
            f"a baseline already exists at {path} (recorded {_recorded_at(path)}); a baseline is never overwritten. "
            "Start a new campaign folder to measure a new starting point."
        )
    if not cases:
        raise BaselineError("record_baseline needs at least one case")
    commit, dirty = git_state(workspace)
    environment = collect_environment()
    per_case = {}
    for case in cases:
        run = run_workload(target, case, workspace, repeat=repeat)
        per_case[case] = {
            "case": case,
            "outputs": run.outputs,
            "phases": run.phases,
            "warm_s": statistics.median(run.warm_s) if run.warm_s else run.time_s,
            "warm_runs": run.warm_s,
            "first_call_s": run.first_call_s,
            "compile_s": run.compile_s,
            "wall_s": run.wall_s,
        }
    record_dir.mkdir(parents=True, exist_ok=True)
    results = record_dir / RESULTS_DIR
    results.mkdir(exist_ok=True)
    for case, data in per_case.items():
        _write_json(results / f"{case}.json", data["outputs"])
    files = snapshot(target, workspace, record_dir, commit, dirty)
    snapshot_rel = SNAPSHOT_DIR if files else None
    doc = {
        "format": FORMAT_VERSION,
        "recorded_at": _dt.datetime.now(_dt.timezone.utc).isoformat(),
        "target_spec": getattr(target, "spec", "") or getattr(target, "name", ""),
        "commit": commit,
        "dirty": dirty,
        "repeat": repeat,
        "cases": per_case,
        "environment": environment,
        "snapshot": snapshot_rel,
        "snapshot_files": files,
    }
    if path.exists():  # a concurrent recorder won the race
        raise BaselineError(f"a baseline appeared at {path} while recording; not overwriting it.")
    _write_json(path, doc)
    return baseline_event(doc, cases[0])


def _recorded_at(path: Path) -> str:
    try:
        return json.loads(path.read_text()).get("recorded_at", "at an unknown time")
    except (OSError, ValueError):
        return "at an unknown time"


def baseline_event(doc: dict, case: str | None = None) -> dict:
    """The ``baseline`` event data (``campaign.loop.events``) of one case of a baseline document."""
    case = case or next(iter(doc["cases"]))
    if case not in doc["cases"]:
        raise BaselineError(f"the baseline has no case {case!r} (it has {sorted(doc['cases'])})")
    c = doc["cases"][case]
    return {
        "commit": doc.get("commit"),
        "dirty": doc.get("dirty"),
        "case": case,
        "outputs": c["outputs"],
        "phases": c["phases"],
        "warm_s": c["warm_s"],
        "first_call_s": c.get("first_call_s"),
        "compile_s": c.get("compile_s"),
        "environment": doc.get("environment", {}),
        "snapshot": doc.get("snapshot"),
        "cases": {k: {kk: vv for kk, vv in v.items() if kk != "outputs"} for k, v in doc["cases"].items()},
    }


def load_baseline(record_dir: Path) -> dict:
    """Read ``record_dir/baseline.json`` (``BaselineError`` with what to do when missing or corrupt)."""
    path = Path(record_dir) / BASELINE_FILE
    if not path.exists():
        raise BaselineError(
            f"no baseline at {path}. Record one first (scripts/run_baseline.py or `campaign init`)."
        )
    try:
        doc = json.loads(path.read_text())
    except ValueError as exc:
        raise BaselineError(f"the baseline at {path} is not valid JSON ({exc}); it was edited or truncated.") from None
    if not isinstance(doc, dict) or "cases" not in doc:
        raise BaselineError(f"the baseline at {path} has no 'cases'; it was not written by campaign.")
    return doc


def baseline_outputs(record_dir: Path, case: str) -> dict:
    """The recorded outputs of ``case`` (``baseline_results/<case>.json``, else baseline.json)."""
    path = Path(record_dir) / RESULTS_DIR / f"{case}.json"
    if path.exists():
        return json.loads(path.read_text())
    doc = load_baseline(record_dir)
    if case not in doc["cases"]:
        raise BaselineError(f"the baseline has no case {case!r} (it has {sorted(doc['cases'])}).")
    return doc["cases"][case]["outputs"]


def environment_warnings(baseline: dict, current: dict | None = None) -> list[str]:
    """What differs between the baseline's environment and ``current`` (default: this machine now)."""
    return environment_differences(baseline.get("environment", {}), current or collect_environment())


def check_correctness(target, workspace: Path, record_dir: Path, case: str, timeout_s: float | None = None):
    """Run ``case`` now and compare its outputs with the baseline's: ``(CorrectnessReport, WorkloadRun)``."""
    from campaign.measure.correctness import compare_outputs

    expected = baseline_outputs(record_dir, case)
    run = run_workload(target, case, Path(workspace), repeat=1, timeout_s=timeout_s)
    return compare_outputs(expected, run.outputs, dict(getattr(target, "tolerances", {}) or {})), run
