"""The ``perf-test`` target kind: a GSO-style performance test script as the workload.

    [target]                       # campaign.toml
    kind = "perf-test"
    name = "mylib"
    path = "perf_test.py"          # defines experiment() and, optionally, setup(),
                                   #   check_equivalence(reference, current), store_result/load_result
    scope = ["src/mylib/**/*.py"]

    campaign init --target perf-test:perf_test.py      # no campaign.toml: scope and tests guessed

``campaign.measure.perf_test_worker`` times ``experiment()`` (one phase,
``experiment``) and makes TEST use the script's own equivalence check
against the baseline's stored result.

Held-out inputs (docs/integrity.md): a script whose ``setup`` takes a ``seed``
parameter declares them (``declares_heldout``). Every run calls ``setup()``
(its own default input); a held-out run calls ``setup(seed=S)`` with a seed
campaign draws at TEST, and reports the result itself (there is no stored
reference for a fresh seed) to be compared with the baseline's on that seed.
"""

from __future__ import annotations

import shlex
from pathlib import Path

KIND = "perf-test"
SPEC_PREFIX = KIND + ":"


def run_template(path: str, heldout: bool = False) -> str:
    """The ``run`` command of a perf-test target (``{python}``, ``{case}``, ``{repeat}``, ``{seed}`` substituted
    later); ``heldout``: ``setup`` takes the seed."""
    seed = " --seed {seed}" if heldout else ""
    return f"{{python}} -m campaign.measure.perf_test_worker {shlex.quote(path)} {{case}} --repeat {{repeat}}{seed}"


def declares_heldout(workspace: Path, script: str) -> bool:
    """Whether the script's top-level ``setup`` has a parameter named ``seed`` (read, not run)."""
    import ast

    try:
        tree = ast.parse((Path(workspace) / script).read_text(errors="replace"))
    except (OSError, SyntaxError, ValueError):
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "setup":
            args = node.args
            return any(a.arg == "seed" for a in [*args.posonlyargs, *args.args, *args.kwonlyargs])
    return False


def reference_root(folder: Path) -> Path | None:
    """The git common dir's ``campaign-perf-test`` of the repository holding ``folder`` (None outside git)."""
    import subprocess

    try:
        common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=folder,
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(common) / "campaign-perf-test" if common else None
