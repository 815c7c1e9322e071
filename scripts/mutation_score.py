"""Mutation score of the pure core: how many deliberate bugs the test suite catches.

    python scripts/mutation_score.py            # the table of killed / survived per module
    python scripts/mutation_score.py --survivors # ... and the diff of every surviving mutant

Runs mutmut (``[tool.mutmut]`` in pyproject.toml names the modules and their tests) in a
throwaway copy of the working tree, so the checkout never gets a ``mutants/`` folder.
A mutant "killed" made at least one selected test fail; "survived" passed them all
(a missing test, or a mutant that changes nothing observable: docs/mutation.md lists those).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINE = re.compile(r"^\s*(?P<name>[\w.ǁ]+)__mutmut_\d+: (?P<status>.+)$")


def module_of(mutant: str) -> str:
    """``campaign.loop.stopping.x_decide__mutmut_3`` -> ``campaign/loop/stopping.py``."""
    parts = mutant.split(".")
    while parts and not (ROOT / Path(*parts).with_suffix(".py")).exists():
        parts.pop()
    return str(Path(*parts).with_suffix(".py")) if parts else mutant


def score(results: str) -> tuple[dict[str, Counter], list[str]]:
    """Per-module status counts and the names of surviving mutants (pure)."""
    per_module: dict[str, Counter] = defaultdict(Counter)
    survivors = []
    for line in results.splitlines():
        m = LINE.match(line)
        if not m:
            continue
        name = line.strip().split(":")[0]
        per_module[module_of(m.group("name"))][m.group("status").strip()] += 1
        if m.group("status").strip() == "survived":
            survivors.append(name)
    return per_module, survivors


def table(per_module: dict[str, Counter]) -> str:
    rows = [f"{'module':<34} {'mutants':>7} {'killed':>6} {'survived':>8} {'no tests':>8} {'score':>6}"]
    total = Counter()
    for module in sorted(per_module):
        c = per_module[module]
        total.update(c)
        rows.append(_row(module, c))
    rows.append(_row("all", total))
    return "\n".join(rows)


def _row(name: str, c: Counter) -> str:
    n = sum(c.values())
    killed = c["killed"] + c["timeout"]  # a mutant that hangs the tests is caught too
    judged = n - c["skipped"]
    pct = f"{100 * killed / judged:.1f}%" if judged else "-"
    return f"{name:<34} {n:>7} {killed:>6} {c['survived']:>8} {c['no tests']:>8} {pct:>6}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="print the diff of every surviving mutant")
    args = parser.parse_args(argv)
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]
    print("mutating:", ", ".join(config["only_mutate"]), flush=True)
    with tempfile.TemporaryDirectory(prefix="campaign-mutmut-") as tmp:
        work = Path(tmp) / "tree"
        shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".git", "mutants", "__pycache__", "site", "*.egg-info"))
        run = subprocess.run([sys.executable, "-m", "mutmut", "run"], cwd=work, capture_output=True, text=True)
        if run.returncode not in (0, 1):
            print(run.stdout[-3000:], run.stderr[-3000:], file=sys.stderr)
            return 2
        results = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=work,
                                 capture_output=True, text=True, check=True).stdout
        per_module, survivors = score(results)
        print(table(per_module))
        if args.survivors:
            for name in survivors:
                print(subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=work,
                                     capture_output=True, text=True).stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
