"""The ``pytest-benchmark`` target kind: a project's pytest-benchmark suite as the workload.

Two ways to name one::

    [target]                       # campaign.toml
    kind = "pytest-benchmark"
    name = "mylib"
    path = "benchmarks/"           # the suite (a directory or file pytest accepts)
    scope = ["src/mylib/**/*.py"]

    campaign init --target pytest-benchmark:benchmarks/    # no campaign.toml: scope and test guessed

Each block of samples is ONE pytest session (``campaign.measure.pytest_bench_worker``),
so pytest's start-up is paid per process, not per sample; each benchmark
test is a phase, its fastest warm time the phase time, and its return value
an output that TEST compares with the baseline's.

Held-out inputs (docs/integrity.md): a suite whose benchmarks build their
inputs from the ``campaign_seed`` fixture declares them (``declares_heldout``).
The fixture is 0 in every run but the held-out ones, where it is a seed
campaign draws at TEST; a ``conftest.py`` that must also run without campaign
defines it as ``getattr(request.config, "campaign_seed", 0)``.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

KIND = "pytest-benchmark"
SPEC_PREFIX = KIND + ":"
_NOT_SCOPE = {"tests", "test", "benchmarks", "bench", "docs", "doc", "optim", "build", "dist", "venv", "examples",
              "node_modules", "site-packages"}
_NOT_SCOPE_FILES = {"conftest.py", "setup.py", "noxfile.py", "tasks.py"}


HELDOUT_FIXTURE = "campaign_seed"


def run_template(path: str, heldout: bool = False) -> str:
    """The ``run`` command of a pytest-benchmark target (``{python}``, ``{case}``, ``{repeat}``, ``{seed}`` substituted
    later); ``heldout``: the suite's inputs follow ``{seed}``."""
    seed = " --seed {seed}" if heldout else ""
    return f"{{python}} -m campaign.measure.pytest_bench_worker {shlex.quote(path)} {{case}} --repeat {{repeat}}{seed}"


def declares_heldout(workspace: Path, bench_path: str) -> bool:
    """Whether the suite uses the ``campaign_seed`` fixture (a word in one of its Python files, conftest included)."""
    root = Path(workspace) / bench_path
    files = [root] if root.is_file() else sorted(root.rglob("*.py"))[:1000] if root.is_dir() else []
    return any(HELDOUT_FIXTURE in f.read_text(errors="replace") for f in files if f.is_file())


def guess_scope(workspace: Path, bench_path: str) -> list[str]:
    """The project's own Python code: top-level packages and modules, not its tests, benchmarks or tooling."""
    bench_top = Path(bench_path).parts[0] if Path(bench_path).parts else ""
    scope = []
    for entry in sorted(Path(workspace).iterdir()):
        if entry.name.startswith((".", "_")) or entry.name == bench_top:
            continue
        if entry.is_dir() and entry.name not in _NOT_SCOPE and any(entry.rglob("*.py")):
            scope.append(f"{entry.name}/**/*.py")
        elif entry.is_file() and entry.suffix == ".py" and entry.name not in _NOT_SCOPE_FILES \
                and not entry.name.startswith("test_"):
            scope.append(entry.name)
    return scope


def table_from_spec(spec: str, workspace: Path) -> dict:
    """A ``[target]`` table for ``pytest-benchmark:PATH`` or ``perf-test:PATH`` (no campaign.toml); ``ValueError`` when unusable."""
    kind, bench_path = spec.split(":", 1)
    bench_path = bench_path.strip()
    workspace = Path(workspace)
    if not bench_path or not (workspace / bench_path).exists():
        raise ValueError(f"{spec!r}: {bench_path or '(empty path)'} does not exist under {workspace}; name the "
                         "suite's directory or file, e.g. pytest-benchmark:benchmarks/ or perf-test:perf_test.py")
    scope = guess_scope(workspace, bench_path)
    if not scope:
        raise ValueError(f"{spec!r}: no Python code to optimize was found beside {bench_path}; write a "
                         f"campaign.toml with kind = \"{kind}\" and an explicit scope")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", workspace.resolve().name).strip("-.") or "benchmarks"
    table = {"name": name, "kind": kind, "path": bench_path, "scope": scope,
             "description": f"the {kind} workload {bench_path}"}
    if (workspace / "tests").is_dir():
        table["test"] = "{python} -m pytest -q -p no:cacheprovider tests"
    return table
