"""A tiny Python target with a playbook, in a throwaway git repo, for ``campaign run`` / ``replay`` / ``demo`` tests.

The target module ``sumtarget.py`` lives OUTSIDE the repository (``<tmp>/lib``, put on
``PYTHONPATH``): the workspace holds only ``work.py`` (the scope), so replay's baseline
snapshot, the demo's workspace and the campaign's commits all concern that one file.

``work.py`` sums ``i*i % 7`` over ``range(N)`` in two phases (``build`` the list, ``reduce``
it); ~20 ms warm, nearly all of it in ``reduce``. Playbook versions:

* ``FAST``: the closed form of the reduce (period 7, sum 14): the whole run >100x faster;
* ``BROKEN*``: wrong answers (TEST fails, reverted);
* ``SAME``: a renamed copy of the baseline (same speed: reverted unless noise fools it).

Targets (one class per scenario, so a reloaded target has the same playbook):
``SumTarget`` [broken, fast], ``FlatTarget`` [broken, broken2, broken3],
``ShortTarget`` [broken], ``RefactorTarget`` [same] (then the playbook is exhausted).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from loop_fixtures import git

N = 160_000

BASE = textwrap.dedent(
    f"""
    from campaign.plugins.phases import phase

    N = {N}


    def compute(n=N):
        with phase("build"):
            xs = range(n)
        with phase("reduce"):
            total = 0
            for i in xs:
                total += (i * i) % 7
        return total
    """
).lstrip()

FAST = textwrap.dedent(
    f"""
    from campaign.plugins.phases import phase

    N = {N}
    PATTERN = [(i * i) % 7 for i in range(7)]


    def compute(n=N):
        with phase("build"):
            xs = range(n)
        with phase("reduce"):
            full, rest = divmod(len(xs), 7)
            total = full * sum(PATTERN) + sum(PATTERN[:rest])
        return total
    """
).lstrip()

SAME = BASE.replace("total", "acc")
BROKEN = BASE.replace("% 7", "% 5")
BROKEN2 = BASE.replace("% 7", "% 7 + 1")
BROKEN3 = BASE.replace("return total", "return total + 1")

SUMTARGET = textwrap.dedent(
    '''
    """A tiny PythonTarget with a playbook (tests/run_fixtures.py writes this file)."""

    import importlib.util
    import sys
    from pathlib import Path

    from campaign.plugins.target import PlaybookEntry, PythonTarget

    VERSIONS = __VERSIONS__


    def _writer(key):
        def apply(workspace):
            (Path(workspace) / "work.py").write_text(VERSIONS[key])
        return apply


    def _entry(key, title, predicted, phase="reduce"):
        return PlaybookEntry(
            key=key, title=title, phase=phase, bottleneck="the pure-Python reduce loop",
            hypothesis=f"{title}: the reduce loop dominates the profile",
            options=[title, "leave it"], chosen=title, predicted_speedup=predicted,
            risk="the answer could change", apply=_writer(key),
        )


    ENTRIES = {
        "fast": lambda: _entry("fast", "closed form of the periodic sum", 5.0),
        "broken": lambda: _entry("broken", "cheaper modulus (wrong)", 1.2),
        "broken2": lambda: _entry("broken2", "skip the first element (wrong)", 1.1),
        "broken3": lambda: _entry("broken3", "off by one (wrong)", 1.1),
        "same": lambda: _entry("same", "rename the accumulator", 1.0),
    }


    def _hold_after_first_fast_run(module):
        """Kill tests: with SUM_HOLD_AFTER=<counter file>, every process running the FAST version after the first
        (its TEST) blocks until killed, so a kill lands mid-BENCHMARK whatever the machine's load."""
        import os
        import time

        counter = os.environ.get("SUM_HOLD_AFTER")
        if counter and hasattr(module, "PATTERN"):
            with open(counter, "a") as fh:
                fh.write(f"{os.getpid()}\\n")
            with open(counter) as fh:
                if len(set(fh.read().split())) > 1:  # a second process
                    while True:
                        time.sleep(1)


    class SumTarget(PythonTarget):
        name = "sum"
        description = "sum of i*i % 7 (campaign run tests)"
        scope = ["work.py"]
        fast_case = "fast"
        full_case = "fast"
        phases = ["build", "reduce"]
        timeout_s = 60.0
        order = ["broken", "fast"]

        def run_case(self, case, workdir, knobs=None):
            path = (Path(workdir) / "work.py").resolve()
            sys.modules.pop("work", None)
            spec = importlib.util.spec_from_file_location("work", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            _hold_after_first_fast_run(module)
            return {"total": module.compute()}

        def playbook(self):
            return [ENTRIES[key]() for key in self.order]

        def create_workspace(self, dest):
            Path(dest).mkdir(parents=True, exist_ok=True)
            (Path(dest) / "work.py").write_text(VERSIONS["base"])


    class FlatTarget(SumTarget):
        order = ["broken", "broken2", "broken3"]


    class ShortTarget(SumTarget):
        order = ["broken"]


    class RefactorTarget(SumTarget):
        order = ["same"]
    '''
).lstrip()


def write_target_module(lib: Path) -> Path:
    """Write ``sumtarget.py`` into ``lib`` (put ``lib`` on PYTHONPATH)."""
    lib.mkdir(parents=True, exist_ok=True)
    versions = {"base": BASE, "fast": FAST, "same": SAME, "broken": BROKEN, "broken2": BROKEN2, "broken3": BROKEN3}
    (lib / "sumtarget.py").write_text(SUMTARGET.replace("__VERSIONS__", repr(versions)))
    return lib


def make_sum_repo(root: Path) -> Path:
    """A committed git repo with work.py (the baseline) and a .gitignore."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.com")
    git(root, "config", "user.name", "dev")
    (root / "work.py").write_text(BASE)
    (root / ".gitignore").write_text("__pycache__/\n*.pyc\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "naive sum")
    return root


def run_env(lib: Path, **extra: str) -> dict[str, str]:
    """The environment for the ``campaign`` subprocess: tiny benchmark budgets, ``lib`` importable."""
    env = dict(os.environ)
    repo_root = str(Path(__file__).resolve().parents[1])  # the campaign package itself
    env.update({
        "PYTHONPATH": os.pathsep.join([str(lib), repo_root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
        "CAMPAIGN_BENCH_MAX_BLOCKS": "3",
        "CAMPAIGN_BENCH_MIN_BLOCKS": "2",
        "CAMPAIGN_BENCH_BUDGET_S": "6",
        "CAMPAIGN_BENCH_PROCESS_S": "0.02",
        "CAMPAIGN_BASELINE_REPEAT": "1",
        "CAMPAIGN_LOCK_TIMEOUT": "5",
        "CAMPAIGN_TRUST_FILE": str(lib.parent / "trusted"),
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    env.update(extra)
    return env


def cli(cwd: Path, env: dict, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    """Run the real ``campaign`` CLI in a subprocess."""
    return subprocess.run([sys.executable, "-m", "campaign", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=timeout)


def ok(result: subprocess.CompletedProcess, code: int = 0) -> dict:
    assert result.returncode == code, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr, result.stderr
    out = result.stdout.strip()
    return json.loads(out) if out.startswith("{") else {}


def journal(record: Path) -> list[dict]:
    lines = (record / "journal.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def events_of(record: Path, kind: str) -> list[dict]:
    return [e for e in journal(record) if e["type"] == kind]


def assert_failed_test_then_sieve_kept(iterations: list[dict]) -> None:
    """The scripted model's campaign: iteration 1's edit fails TEST, then the sieve is kept.

    On a busy machine (CI at load 10-15 saw it) the sieve's first benchmark may end inconclusive and be reverted;
    the model tries the sieve again at the next iteration. Load may cost a measurement, never a verdict: any
    iteration between passed TEST and was reverted undecided, never as slower.
    """
    assert iterations[0]["kept"] is False and iterations[0]["test_passed"] is False, iterations[0]
    assert iterations[-1]["kept"] is True and iterations[-1]["verdict"] == "faster", iterations[-1]
    between = iterations[1:-1]
    assert all(r["kept"] is False and r["test_passed"] and r["verdict"] == "inconclusive" for r in between), between
