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
"""

from __future__ import annotations

import shlex
from pathlib import Path

KIND = "perf-test"
SPEC_PREFIX = KIND + ":"


def run_template(path: str) -> str:
    """The ``run`` command of a perf-test target (``{python}``, ``{case}``, ``{repeat}`` substituted later)."""
    return f"{{python}} -m campaign.measure.perf_test_worker {shlex.quote(path)} {{case}} --repeat {{repeat}}"


def reference_root(folder: Path) -> Path | None:
    """The git common dir's ``campaign-perf-test`` of the repository holding ``folder`` (None outside git)."""
    import subprocess

    try:
        common = subprocess.run(["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=folder,
                                capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(common) / "campaign-perf-test" if common else None
