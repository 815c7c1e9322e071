"""Sealed runs: a measured or tested process finds nothing that an earlier process left for it.

Three walls, each cheap enough for every process of every attempt:

* **Fresh home.** ``sealed_env`` gives each process its own empty ``HOME``,
  ``TMPDIR`` and XDG cache/config/data/state folders, removed when it exits:
  a disk cache in ``~/.cache`` or ``tempfile.gettempdir()`` is written, and
  gone before the next process looks. The campaign's own variables
  (``CAMPAIGN_*``) and the caller's ``PWD``/``OLDPWD`` are removed, so a
  workload cannot tell a benchmark from a held-out run or find the
  repository it was copied from by its environment. Tool homes that hold
  installed software, not state (``PYTHONUSERBASE``, ``CARGO_HOME``,
  ``RUSTUP_HOME``, ``GOPATH``), keep pointing where they pointed.
* **A pristine checkout without the record.** ``pristine_copy`` copies the
  work tree (tracked files and new, not ignored ones) into a scratch folder
  without ``optim/``: the baselines, outputs and patches - the answer key -
  are not beside the code under test. Compile caches (``COMPILE_CACHE``:
  Python bytecode, Numba's ``cache=True`` index and data) come along.
* **Writes are evidence.** ``Watch`` snapshots the run folder before each
  process and compares after: a file the process created or changed there,
  other than a compile cache, is persistent state and the run fails
  (``StateWritten``).

Decision on compile caches: ``__pycache__/*.pyc`` and Numba's
``__pycache__/*.nbi|*.nbc`` are allowed and persist between the processes of
one attempt, so a JIT target is measured with its on-disk cache as a user
runs it. A cache disguised as such a file is not caught by the write check;
held-out inputs (``{seed}``) catch a cache keyed by the benchmark's inputs.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import shutil
import site
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

COMPILE_CACHE = ("*/__pycache__/*.pyc", "__pycache__/*.pyc", "*/__pycache__/*.nbi", "__pycache__/*.nbi",
                 "*/__pycache__/*.nbc", "__pycache__/*.nbc")
RECORD_ROOTS = ("optim", "optim-records")  # campaign.loop.record_place.RECORD_ROOTS (measure may not import loop)
_XDG = ("XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME")
_SCRUBBED = ("PWD", "OLDPWD")


def _tool_homes() -> dict[str, str]:
    """Where installed software lives under the real HOME: kept reachable, since it is not state of a run."""
    home = Path.home()
    defaults = {"PYTHONUSERBASE": site.getuserbase(), "CARGO_HOME": str(home / ".cargo"),
                "RUSTUP_HOME": str(home / ".rustup"), "GOPATH": str(home / "go")}
    return {var: path for var, path in defaults.items() if var not in os.environ and Path(path).is_dir()}


@contextlib.contextmanager
def sealed_env() -> Iterator[dict[str, str | None]]:
    """Environment entries for one process (``run_process``'s ``env``; None removes): fresh, empty homes."""
    scratch = Path(tempfile.mkdtemp(prefix="campaign-seal-"))
    try:
        env: dict[str, str | None] = {var: None for var in os.environ if var.startswith("CAMPAIGN_")}
        env.update({var: None for var in _SCRUBBED})
        for var in ("HOME", "TMPDIR", *_XDG):
            path = scratch / var.lower()
            path.mkdir()
            env[var] = str(path)
        env["TMP"] = env["TEMP"] = env["TMPDIR"]
        env.update(_tool_homes())
        yield env
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def is_compile_cache(rel: str) -> bool:
    return any(fnmatch.fnmatchcase(rel, pattern) for pattern in COMPILE_CACHE)


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``root`` (``.git`` aside): relative path -> (size, mtime in ns)."""
    found: dict[str, tuple[int, int]] = {}
    root = Path(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            found[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns)
    return found


def written(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """Files created or changed between two snapshots, compile caches aside. Pure."""
    return sorted(rel for rel, stat in after.items() if before.get(rel) != stat and not is_compile_cache(rel))


class StateWritten(Exception):
    """A measured or tested process wrote a file into its run folder: state a later process could read."""


@dataclass
class Watch:
    """The run folder of an attempt; ``check`` after each process raises ``StateWritten`` on a write."""

    root: Path
    before: dict[str, tuple[int, int]] = field(default_factory=dict)

    def start(self) -> None:
        self.before = snapshot(self.root)

    def check(self, what: str) -> None:
        after = snapshot(self.root)
        paths = written(self.before, after)
        self.before = after
        if paths:
            shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
            raise StateWritten(
                f"persistent state: {what} wrote {shown} into its run folder. A measured process must leave "
                f"nothing for the next one to read (a cache of results makes every later run fast without making "
                f"the code fast); write scratch files under $TMPDIR, which campaign empties after every process.")


def _listed(workspace: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=workspace,
                         capture_output=True, check=True).stdout
    return sorted({p for p in out.decode("utf-8", "surrogateescape").split("\0") if p})


def _compile_caches(workspace: Path) -> list[str]:
    found = []
    for dirpath, dirnames, filenames in os.walk(workspace):
        dirnames[:] = [d for d in dirnames if d not in (".git", *RECORD_ROOTS, ".venv", "node_modules")]
        if os.path.basename(dirpath) == "__pycache__":
            found += [os.path.relpath(os.path.join(dirpath, n), workspace) for n in filenames
                      if is_compile_cache(os.path.relpath(os.path.join(dirpath, n), workspace))]
    return found


@contextlib.contextmanager
def pristine_copy(workspace: Path, record_roots: tuple[str, ...] = RECORD_ROOTS) -> Iterator[Path]:
    """The work tree as a scratch folder without the record (``optim/``) and without ignored files.

    Tracked files and new ones that git does not ignore are copied (what an
    attempt changed is there; build outputs are not: build in the copy), and
    the compile caches beside the code. Removed when the block exits.
    """
    workspace = Path(workspace)
    parent = Path(tempfile.mkdtemp(prefix="campaign-run-"))
    dest = parent / workspace.name
    try:
        dest.mkdir()
        prefixes = tuple(root.rstrip("/") + "/" for root in record_roots)
        for rel in _listed(workspace) + _compile_caches(workspace):
            if rel.startswith(prefixes):
                continue
            src = workspace / rel
            if not os.path.lexists(src):  # deleted by the attempt
                continue
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if src.is_symlink():
                os.symlink(os.readlink(src), target)
            elif src.is_file():
                shutil.copy2(src, target)
        yield dest
    finally:
        shutil.rmtree(parent, ignore_errors=True)


def strip_record(checkout: Path, record_roots: tuple[str, ...] = RECORD_ROOTS) -> None:
    """Remove the record from a reference checkout (a worktree of a kept commit) before anything runs there."""
    for root in record_roots:
        shutil.rmtree(Path(checkout) / root, ignore_errors=True)
