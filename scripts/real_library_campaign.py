#!/usr/bin/env python
"""One campaign iteration on a real third-party pure-Python library, fetched from PyPI at run time.

    python scripts/real_library_campaign.py [--keep DIR] [--budget-s 30]

Downloads the sdist of ``inflection`` 0.5.1 (``pip download --no-deps``,
never vendored), unpacks it into a throwaway git repository, adds a GSO-style
``perf_test.py`` (``kind = "perf-test"``) and the library's own 455-test
pytest suite as TEST, then drives the real CLI: init -> profile (cProfile +
line_profiler of ``singularize``) -> think -> plan -> a small change
(compiled patterns from ``functools.lru_cache(re.compile)`` instead of
``re``'s per-call cache lookup, in pluralize and singularize) -> try -> log. Prints the
profile's top functions, the benchmark's speedup and confidence interval
and the TEST result. Needs network access to a package index.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE, VERSION = "inflection", "0.5.1"

PERF_TEST = textwrap.dedent(
    """
    import os

    import inflection

    WORDS = ["posts", "octopi", "sheep", "statuses", "matrices", "people", "quizzes", "mice", "buses", "analyses",
             "CamelOctopi", "news", "equipment", "databases", "vertices", "axes", "wives", "halves", "oxen", "moves"]


    def setup():
        return WORDS * {"fast": 150, "full": 400}[os.environ.get("CAMPAIGN_CASE", "fast")]


    def experiment(words):
        return [inflection.pluralize(inflection.singularize(w)) for w in words]


    def check_equivalence(reference, current):
        assert reference == current, "the inflected words differ"
    """
).lstrip()

TOML = textwrap.dedent(
    """
    [target]
    kind = "perf-test"
    name = "inflection"
    path = "perf_test.py"
    scope = ["inflection/__init__.py"]
    test = "{python} -m pytest -q -p no:cacheprovider test_inflection.py"
    timeout_s = 300
    """
).lstrip()

def patch(source: str) -> str:
    """The change: compiled patterns from a C-level cache instead of ``re``'s per-call cache lookup."""
    new = source.replace("import re\n", "import functools\nimport re\n", 1)
    new = new.replace("import unicodedata\n", "import unicodedata\n\n_compiled = functools.lru_cache(maxsize=None)(re.compile)\n", 1)
    new = new.replace("re.search(rule, word)", "_compiled(rule).search(word)")
    new = new.replace("return re.sub(rule, replacement, word)", "return _compiled(rule).sub(replacement, word)")
    return new.replace("if re.search(r'(?i)\\b(%s)\\Z' % inflection, word):",
                       "if _compiled(r'(?i)\\b(%s)\\Z' % inflection).search(word):")


def sh(cwd: Path, *args: str) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def fetch(dest: Path) -> Path:
    """The library's sdist from the package index, unpacked into ``dest`` (a fresh git repository)."""
    with tempfile.TemporaryDirectory() as tmp:
        sh(Path(tmp), sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "-q",
           f"{PACKAGE}=={VERSION}", "-d", tmp)
        archive = next(Path(tmp).glob(f"{PACKAGE}-{VERSION}.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(tmp, filter="data")
        (Path(tmp) / f"{PACKAGE}-{VERSION}").rename(dest)
    sh(dest, "git", "init", "-q", "-b", "main")
    sh(dest, "git", "config", "user.email", "campaign@example.com")
    sh(dest, "git", "config", "user.name", "campaign")
    (dest / "perf_test.py").write_text(PERF_TEST)
    (dest / "campaign.toml").write_text(TOML)
    (dest / ".gitignore").write_text("__pycache__/\n*.egg-info/\n")
    sh(dest, "git", "add", "-A")
    sh(dest, "git", "commit", "-qm", f"{PACKAGE} {VERSION} from PyPI, with a perf test")
    return dest


def cli(repo: Path, *args: str, budget_s: float) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CAMPAIGN_BENCH_BUDGET_S": str(budget_s)}
    result = subprocess.run([sys.executable, "-m", "campaign", *args, "--json"], cwd=repo, env=env,
                            capture_output=True, text=True)
    data = json.loads(result.stdout) if result.stdout.strip().startswith("{") else {}
    if result.returncode != 0 and args[0] != "try":
        sys.exit(f"campaign {args[0]} failed ({result.returncode}): {result.stderr.strip()}")
    return data


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keep", type=Path, default=None, help="put the repository here and keep it")
    parser.add_argument("--budget-s", type=float, default=30.0, help="benchmark budget (CAMPAIGN_BENCH_BUDGET_S)")
    opts = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        repo = fetch(opts.keep or Path(tmp) / PACKAGE)
        run = lambda *args: cli(repo, *args, budget_s=opts.budget_s)  # noqa: E731
        run("init", "--target", "campaign.toml", "--goal-speedup", "1.5", "--max-iterations", "1")
        prof = run("profile", "--lines", "inflection:singularize")
        print(f"{PACKAGE} {VERSION}: profiled warm run {prof['total_s']:.4f} s; top functions by self time:")
        for fn in prof["top_functions"][:5]:
            print(f"  {fn['tottime']:.4f} s  {fn['function']} ({fn['file']}:{fn['line']})")
        run("think", "--hypothesis", "re.search(pattern_string) pays re._compile's cache lookup on every rule",
            "--option", "functools.lru_cache(re.compile): a C-level dict hit", "--option", "lru_cache on singularize",
            "--chosen", "cached re.compile (rule lists stay mutable; results unchanged)",
            "--predict", "1.5", "--risk", "unbounded cache if users add many rules")
        run("plan", "--phase", "experiment", "--change", "cached compiled patterns in pluralize/singularize",
            "--bottleneck", "re._compile and re.search wrappers per rule")
        source = repo / PACKAGE / "__init__.py"
        text = source.read_text()
        if patch(text).count("_compiled(") != 5:
            sys.exit("the library's pluralize/singularize are not the expected code; the patch does not apply")
        source.write_text(patch(text))
        tried = run("try")
        test = tried.get("test") or {}
        print(f"TEST: {'passed' if test.get('passed') else 'FAILED'} (perf-test check + "
              f"{'the library suite passed' if (test.get('test_command') or {}).get('passed') else 'the suite failed'})")
        bench = tried.get("benchmark") or {}
        if bench:
            from campaign.measure.stats import describe_interval

            interval = describe_interval(bench["ci"], bench.get("ci_level"), bench.get("ci_kind"))
            print(f"BENCHMARK: {bench['verdict']} {bench['speedup']:.2f}x ({interval}), "
                  f"{bench['vs_baseline']['speedup']:.2f}x vs baseline")
        logged = run("log", "--surprise", "-", "--why", "measured", "--lesson", "regex searches add up")
        print(f"kept: {logged.get('kept')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
