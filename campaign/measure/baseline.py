"""The baseline: the measured starting point every later number is judged against.

``record_baseline`` runs each case in a fresh process (fixed seeds are the
target's business: its cases are seeded) and writes, under the campaign's
record folder:

* ``baseline.json`` - commit hash and dirty flag, and per case: outputs,
  phase times, median warm time, first-call time, JIT compile time; the
  environment (machine, library versions, load);
* ``baseline_results/<case>.json`` - the case's outputs alone (what TEST
  compares against);
* ``baseline_snapshot.tar.gz`` - the starting point's files, from which a
  replay rebuilds the workspace: every tracked file at the commit (the record
  folder excepted) when the tree is clean, else the target's scope files as
  they are in the working tree. One compressed, deterministic archive, not a
  loose tree: merged into the user's branch, it adds no importable module,
  no package a build tool would discover and no test a runner would collect.
  ``extract_snapshot`` reads it, and the loose ``baseline_snapshot/`` folder
  of records made before it.

A baseline is never overwritten: a second ``record_baseline`` into the same
folder is an error. When a baseline is compared with a run on another
machine or environment, ``environment_warnings`` says what differs.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import io
import json
import os
import shutil
import statistics
import tarfile
from pathlib import Path
from typing import Iterable

from campaign.measure.environment import collect_environment, environment_differences
from campaign.measure.workload import run_workload

FORMAT_VERSION = 1
BASELINE_FILE = "baseline.json"
RESULTS_DIR = "baseline_results"
SNAPSHOT_DIR = "baseline_snapshot"  # the loose layout of older records: read, never written
SNAPSHOT_ARCHIVE = "baseline_snapshot.tar.gz"


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


def scope_entries(target, workspace: Path) -> list[tuple[str, bytes, int]]:
    """The target's scope files in the working tree as ``(relative path, bytes, mode)``."""
    return [(path.relative_to(workspace).as_posix(), path.read_bytes(), 0o100755 if os.access(path, os.X_OK) else 0o100644)
            for path in _scope_files(target, workspace)]


def write_archive(dest: Path, entries: Iterable[tuple[str, bytes, int]]) -> list[str]:
    """Write ``entries`` (path, bytes, git mode) as a deterministic tar.gz; the paths, sorted.

    Same files, same bytes: no timestamps, owners or ordering leak in, so a
    re-recorded snapshot does not churn in git.
    """
    raw = io.BytesIO()
    paths = []
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, data, mode in sorted(entries):
            info = tarfile.TarInfo(path)
            info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
            if mode == 0o120000:  # a symbolic link: its bytes are the target
                info.type, info.linkname, info.mode = tarfile.SYMTYPE, data.decode("utf-8", "replace"), 0o777
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o755 if mode & 0o111 else 0o644
                tar.addfile(info, io.BytesIO(data))
            paths.append(path)
    dest = Path(dest)
    tmp = dest.with_name(dest.name + ".tmp")
    with tmp.open("wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    tmp.replace(dest)
    return paths


def snapshot(target, workspace: Path, record_dir: Path, commit: str | None, dirty: bool | None) -> list[str]:
    """Write ``record_dir/baseline_snapshot.tar.gz``; the relative paths it holds.

    A clean commit is snapshotted whole (what replay needs to rebuild the
    workspace from the record alone), leaving out the folder that holds the
    records; an uncommitted or non-git workspace gives its scope files.
    """
    dest = Path(record_dir) / SNAPSHOT_ARCHIVE
    if (Path(record_dir) / SNAPSHOT_DIR).exists():
        shutil.rmtree(Path(record_dir) / SNAPSHOT_DIR)
    if commit and dirty is False:
        import git

        from campaign import vcs

        repo = git.Repo(workspace, search_parent_directories=True)
        root = Path(repo.working_tree_dir or workspace).resolve()
        records = Path(record_dir).resolve().parent
        exclude = [records.relative_to(root).as_posix() + "/"] if records.is_relative_to(root) and records != root else []
        entries = vcs.blobs_at(repo, commit, exclude)
    else:
        entries = scope_entries(target, Path(workspace))
    if not entries:
        return []
    return write_archive(dest, entries)


def has_snapshot(record_dir: Path) -> bool:
    return (Path(record_dir) / SNAPSHOT_ARCHIVE).is_file() or (Path(record_dir) / SNAPSHOT_DIR).is_dir()


def extract_snapshot(record_dir: Path, dest: Path) -> list[str]:
    """Lay the record's baseline snapshot into ``dest`` (the archive, or an older record's folder); its paths.

    The archive is unpacked with tarfile's ``data`` filter: no path may leave
    ``dest``, no device or absolute link is made, whatever the record holds.
    """
    record_dir, dest = Path(record_dir), Path(dest)
    archive, folder = record_dir / SNAPSHOT_ARCHIVE, record_dir / SNAPSHOT_DIR
    dest.mkdir(parents=True, exist_ok=True)
    if archive.is_file():
        try:
            with tarfile.open(archive, "r:gz") as tar:
                members = tar.getmembers()
                names = [m.name for m in members if m.isfile() or m.issym()]
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(dest, filter="data")
                else:  # Python < 3.11.4: the same refusals, by hand
                    for m in members:
                        target = (dest / m.name).resolve()
                        if not (m.isfile() or m.isdir() or m.issym()) or not target.is_relative_to(dest.resolve()) or (
                                m.issym() and not (target.parent / m.linkname).resolve().is_relative_to(dest.resolve())):
                            raise tarfile.TarError(f"member {m.name!r} would leave the snapshot's folder")
                    tar.extractall(dest)
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise BaselineError(f"the baseline snapshot {archive} cannot be read ({exc}); restore it from git.") from None
        return sorted(names)
    if folder.is_dir():
        shutil.copytree(folder, dest, dirs_exist_ok=True)
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    raise BaselineError(f"the record {record_dir} has no baseline snapshot ({SNAPSHOT_ARCHIVE} or {SNAPSHOT_DIR}/).")


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
    snapshot_rel = SNAPSHOT_ARCHIVE if files else None
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
