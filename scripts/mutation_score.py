"""Mutation score of the pure core: how many deliberate bugs the test suite catches.

    python scripts/mutation_score.py            # the table of killed / survived per module
    python scripts/mutation_score.py --survivors # ... and the diff of every surviving mutant
    python scripts/mutation_score.py --only campaign/measure/stats.py --tests tests/test_stats.py tests/test_stats_mutants.py
                                                 # one module, judged by the test files named

Runs mutmut (``[tool.mutmut]`` in pyproject.toml names the modules and their tests) in a
throwaway copy of the working tree, so the checkout never gets a ``mutants/`` folder.
A mutant "killed" made at least one selected test fail; "survived" passed them all
(a missing test, or a mutant that changes nothing observable: docs/mutation.md lists those).
"""

from __future__ import annotations

import argparse
import json
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


def with_setting(pyproject: str, key: str, values: list[str]) -> str:
    """``pyproject.toml``'s text with ``[tool.mutmut]``'s list ``key`` replaced by ``values`` (pure)."""
    pattern = re.compile(rf"^{re.escape(key)} = \[.*?\]$", re.MULTILINE | re.DOTALL)
    new, count = pattern.subn(lambda _: f"{key} = {json.dumps(values)}", pyproject, count=1)
    if count != 1 or tomllib.loads(new)["tool"]["mutmut"][key] != values:
        raise ValueError(f"cannot set {key} in pyproject.toml")
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--survivors", action="store_true", help="print the diff of every surviving mutant")
    parser.add_argument("--only", nargs="+", metavar="MODULE", help="mutate these modules only (default: all of only_mutate)")
    parser.add_argument("--tests", nargs="+", metavar="FILE",
                        help="judge by these test files only; the -k filter of the configured selection is kept")
    args = parser.parse_args(argv)
    pyproject = (ROOT / "pyproject.toml").read_text()
    config = tomllib.loads(pyproject)["tool"]["mutmut"]
    if args.only:
        pyproject = with_setting(pyproject, "only_mutate", args.only)
    if args.tests:
        selection = config["pytest_add_cli_args_test_selection"]
        options = selection[selection.index("-k"):selection.index("-k") + 2] if "-k" in selection else []
        pyproject = with_setting(pyproject, "pytest_add_cli_args_test_selection", args.tests + options)
    config = tomllib.loads(pyproject)["tool"]["mutmut"]
    print("mutating:", ", ".join(config["only_mutate"]), flush=True)
    print("tests:", " ".join(config["pytest_add_cli_args_test_selection"]), flush=True)
    with tempfile.TemporaryDirectory(prefix="campaign-mutmut-") as tmp:
        work = Path(tmp) / "tree"
        shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(".git", "mutants", "__pycache__", "site", "*.egg-info"))
        (work / "pyproject.toml").write_text(pyproject)
        run = subprocess.run([sys.executable, "-m", "mutmut", "run"], cwd=work, capture_output=True, text=True)
        if run.returncode not in (0, 1):
            print(run.stdout[-3000:], run.stderr[-3000:], file=sys.stderr)
            return 2
        results = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=work,
                                 capture_output=True, text=True, check=True).stdout
        per_module, survivors = score(results)
        print(table(per_module))
        unchecked = sum(c["not checked"] for c in per_module.values())
        if unchecked:  # mutmut stopped before the end: the table above is not a score
            print(f"{unchecked} mutants not checked: mutmut stopped early", run.stdout[-2000:], run.stderr[-2000:],
                  sep="\n", file=sys.stderr)
            return 2
        if args.survivors:
            for name in survivors:
                print(subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=work,
                                     capture_output=True, text=True).stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
