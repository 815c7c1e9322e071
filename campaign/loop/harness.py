"""The harness is frozen: the files that define the measurement and the check cannot be edited by an attempt.

An agent that may edit ``bench.py`` can make the benchmark measure less; one
that may edit the tests or ``campaign.toml`` can loosen the check. Scope
globs are written by people in a hurry (``scope = ["*.py"]`` covers
``bench.py``), so scope alone does not protect them. At init the harness
files are hashed into the ``init`` event (``harness``: path -> sha256); TEST
refuses an attempt that changed, deleted or added one of them, whatever the
scope says.

The harness (``harness_files``): campaign.toml and pyproject.toml (targets
and measurement settings), test configuration (conftest.py, pytest.ini,
tox.ini, setup.cfg), test and benchmark files (``test_*.py``, ``*_test.py``,
``tests/``, ``test/``, ``benchmarks/``, ``bench/``, ``fixtures/``, ``data/``),
the file a target's ``path`` names (a pytest-benchmark suite, a perf-test
script) and every file the run, test and build commands name. The code under
optimization is what remains of the scope.
"""

from __future__ import annotations

import fnmatch
import hashlib
import shlex
from pathlib import Path
from typing import Any, Iterable

GLOBS = ("campaign.toml", "pyproject.toml", "setup.cfg", "tox.ini", "pytest.ini", "conftest.py", "*/conftest.py",
         "test_*.py", "*/test_*.py", "*_test.py", "*/*_test.py", "tests/*", "test/*", "benchmarks/*", "bench/*",
         "fixtures/*", "*/fixtures/*", "data/*")
NAME = "harness frozen"


def _named_in(command: str | None) -> set[str]:
    if not command:
        return set()
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    return {w.lstrip("./") for w in words if w and not w.startswith("-")}


def harness_files(files: Iterable[str], target) -> list[str]:
    """Which of ``files`` (repository-relative) define the measurement or the check. Pure."""
    named = set()
    for attr in ("run_template", "test_command", "build_command"):
        named |= _named_in(getattr(target, attr, None))
    if getattr(target, "path", None) and getattr(target, "kind", "command") != "command":
        named.add(str(target.path).lstrip("./"))
    return sorted(f for f in files
                  if f in named or any(fnmatch.fnmatchcase(f, g) for g in GLOBS)
                  or any(f.startswith(n.rstrip("/") + "/") for n in named if n and "." not in Path(n).name))


def _sha(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def hash_harness(workspace: Path, files: Iterable[str], target) -> dict[str, str]:
    """``path -> sha256`` of the harness among ``files`` (what init records)."""
    workspace = Path(workspace)
    return {f: h for f in harness_files(files, target) if (h := _sha(workspace / f)) is not None}


def harness_failures(workspace: Path, recorded: dict[str, str] | None, changed: Iterable[str],
                     target) -> list[dict[str, Any]]:
    """TEST failures for the harness files an attempt changed, deleted or added (none without a record)."""
    if not recorded:
        return []
    workspace = Path(workspace)
    touched = sorted({f for f in changed if f in recorded or harness_files([f], target)})
    bad = [f for f in touched if recorded.get(f) != _sha(workspace / f)]
    if not bad:
        return []
    return [{"output": "(harness)", "expected": None, "actual": bad, "tolerance": None,
             "message": (f"{NAME}: the attempt changed {', '.join(bad)}, which define(s) how the target is measured "
                         f"or checked (hashed at init); an attempt may change only the code under optimization, "
                         f"even where a scope glob covers these files. Undo those edits.")}]
